"""What runs in the import's worker processes: preparing (validating and normalising) a chunk
of rows. Kept free of model imports at module level, so a freshly spawned process can load
it before Django is set up."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    """What preparing a row needs (picklable)."""

    mapping: dict[int, str]
    header_width: int
    channel: str
    campaign: str


def setup(parent_pid: int | None = None) -> None:
    """Set Django up in a fresh worker, and end the worker when the process that started it
    is gone (a killed import must not leave workers behind)."""
    import django

    django.setup()
    if parent_pid:
        threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)


def prepare_chunk(spec: Spec, chunk: list[tuple[int, int, list[str]]]) -> list:
    from .rows import prepare_row

    return [
        prepare_row(
            index,
            line,
            cells,
            spec.mapping,
            header_width=spec.header_width,
            channel=spec.channel,
            campaign=spec.campaign,
        )
        for index, line, cells in chunk
    ]
