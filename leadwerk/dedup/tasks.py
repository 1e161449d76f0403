"""Background tasks: the full duplicate check over the whole database."""

from __future__ import annotations

from django_tasks import task


@task()
def dedup_run_task(entity: str, auto_merge: bool = True) -> dict:
    from .services import dedup_run

    stats = dedup_run(entity=entity, auto_merge=auto_merge)
    return {
        "entity": entity,
        "records": stats.records,
        "pairs": stats.pairs_compared,
        "queued": stats.queued,
        "merged": stats.merged,
    }
