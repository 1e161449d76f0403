"""The scheduled retention task (Django Tasks). It runs once a day: each run anonymises what
the retention rule selects and enqueues the next run; the RetentionSchedule row makes sure
only one chain exists however many processes call ``retention_schedule``."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from .models import RetentionSchedule
from .retention import retention_apply

INTERVAL = timedelta(days=1)


def retention_schedule() -> bool:
    """Start the daily chain if it is not running yet; True when this call started it."""
    with transaction.atomic():
        _row, created = RetentionSchedule.objects.get_or_create(
            key="retention", defaults={"next_run_at": timezone.now()}
        )
        if created:
            transaction.on_commit(lambda: retention_task.enqueue())
    return created


@task()
def retention_task() -> int:
    months = settings.LEADWERK_RETENTION_MONTHS
    count = retention_apply(months=months)
    now = timezone.now()
    with transaction.atomic():
        RetentionSchedule.objects.update_or_create(
            key="retention",
            defaults={"last_run_at": now, "last_count": count, "next_run_at": now + INTERVAL},
        )
        transaction.on_commit(lambda: retention_task.using(run_after=now + INTERVAL).enqueue())
    return count
