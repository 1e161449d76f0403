"""Background tasks: the daily data-quality snapshot."""

from __future__ import annotations

from django_tasks import task


@task()
def quality_snapshot_task() -> dict:
    from .services import snapshot_take

    snapshot = snapshot_take()
    return {"day": snapshot.day.isoformat()}
