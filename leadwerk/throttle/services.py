"""Rate limits decided by the database, so they hold across processes and machines."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import RateCounter


def _window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=UTC)


def rate_limit_hit(*, scope: str, ident: str, limit: int, window_seconds: int) -> bool:
    """Count one hit for ``ident`` in ``scope``; return whether it is within ``limit``.

    ``ident`` (e.g. an IP address) is stored only as a hash.
    """
    key = hashlib.sha256(f"{scope}:{ident}".encode()).hexdigest()
    start = _window_start(timezone.now(), window_seconds)
    with transaction.atomic():
        qs = RateCounter.objects.filter(key=key, window_start=start)
        if not qs.update(count=F("count") + 1):
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=key, window_start=start, count=1)
                RateCounter.objects.filter(
                    key=key, window_start__lt=start - timedelta(seconds=window_seconds)
                ).delete()
            except IntegrityError:
                qs.update(count=F("count") + 1)
        count = qs.values_list("count", flat=True).get()
    return count <= limit
