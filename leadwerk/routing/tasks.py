"""Background tasks (Django Tasks). Thin: take ids, call a service.

The response-time steps are enqueued with ``run_after`` when a clock starts, so they are
rows in the task backend's store (django-tasks-db: the database) and survive a restart;
nothing scans all leads on a schedule.
"""

from __future__ import annotations

from django_tasks import task


@task()
def sla_step(*, timer_id: str, step: str, percent: int | None = None) -> str:
    """Run one scheduled step (reminder, deadline, reassignment) of a response-time clock."""
    from .services.sla import sla_step_run

    return sla_step_run(timer_uuid=timer_id, step=step, percent=percent)


@task()
def route_again(*, lead_id: str) -> str:
    """Try again to assign a lead from the unassigned queue (e.g. when an absence ends)."""
    from .services.assignment import lead_route_again

    return lead_route_again(lead_uuid=lead_id)


@task()
def notification_email(*, notification_id: int) -> bool:
    """Retry handing a notification's e-mail to the mail system."""
    from .notifications import notification_email_send

    return notification_email_send(notification_id=notification_id)
