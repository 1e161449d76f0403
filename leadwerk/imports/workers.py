"""What runs in the import's worker processes: preparing (validating and normalising) a chunk
of rows. Kept free of model imports at module level, so a freshly spawned process can load
it before Django is set up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    """What preparing a row needs (picklable)."""

    mapping: dict[int, str]
    header_width: int
    channel: str
    campaign: str


def setup() -> None:
    import django

    django.setup()


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
