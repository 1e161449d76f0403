"""Background tasks for scoring. Thin: they take ids and call a service."""

from __future__ import annotations

from django_tasks import task

# The sweep is short and time-critical (a crossing must be handled within a minute); a
# rescore step may take seconds. The worker takes higher priorities first.
SWEEP_PRIORITY = 50
RUN_PRIORITY = -10


@task(priority=SWEEP_PRIORITY)
def scoring_sweep() -> dict:
    """Handle the leads whose engagement crossed a threshold through decay."""
    from .services import scores_sweep_due

    return scores_sweep_due()


@task(priority=RUN_PRIORITY)
def run_step(run_uuid: str) -> dict:
    """One chunk of a preview or rescore run."""
    from .services import scoring_run_step

    run = scoring_run_step(run_uuid=run_uuid)
    return {"status": run.status, "done": run.done, "total": run.total}
