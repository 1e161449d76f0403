"""When decay alone changes what should happen to a lead, a sweep task handles it on time.

Every LeadScore carries ``next_check_at``: the next moment its engagement crosses the
hand-off threshold or the recycle floor without new events (computed exactly, see
decay.next_crossing). One sweep task is scheduled for the earliest such moment; it handles
every lead that is due (an index range scan on ``next_check_at``, never a scan of all leads)
and schedules the next sweep. ``SweepTick`` rows record which sweeps are scheduled, so a
writer that sets an earlier ``next_check_at`` adds a sweep only when none comes early enough.

The race between a writer (about to commit an earlier check) and a sweep (computing the next
one) is closed by a lock: writers hold a shared advisory lock from reading the ticks until
they commit, the sweep's rescheduling holds it exclusively, so it sees every committed check
and every writer after it sees its tick. On SQLite, writes are serialised anyway.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from .models import LeadScore, SweepTick

ADVISORY_LOCK = 0x4C57_5343_5745  # "LWSCWE": Leadwerk scoring sweep
# Sweeps run at most this often; crossings are handled within this (plus the worker's poll).
MIN_GAP = timedelta(seconds=10)
# A scheduled sweep this late is presumed lost (its worker died); writers schedule anew.
STALE = timedelta(seconds=60)


def _lock(*, shared: bool) -> None:
    if connection.vendor == "postgresql":
        fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {fn}(%s)", [ADVISORY_LOCK])


def _pending(now: datetime) -> datetime | None:
    return SweepTick.objects.filter(run_after__gte=now - STALE).aggregate(m=Min("run_after"))["m"]


def _schedule(when: datetime) -> None:
    from .tasks import scoring_sweep

    SweepTick.objects.create(run_after=when)
    transaction.on_commit(lambda: scoring_sweep.using(run_after=when).enqueue())


def sweep_ensure(earliest: datetime | None) -> None:
    """Make sure a sweep runs no later than ``earliest``. Call inside the transaction that
    wrote the LeadScore rows, after writing them."""
    if earliest is None:
        return
    _lock(shared=True)
    pending = _pending(timezone.now())
    if pending is None or pending > earliest:
        _schedule(earliest)


def sweep_reschedule(now: datetime) -> datetime | None:
    """After a sweep: forget the ticks that are past and schedule the next sweep, if any
    lead needs one. Returns when it will run."""
    with transaction.atomic():
        _lock(shared=False)
        SweepTick.objects.filter(run_after__lte=now).delete()
        due = LeadScore.objects.filter(next_check_at__isnull=False).aggregate(
            m=Min("next_check_at")
        )["m"]
        if due is None:
            return None
        when = max(due, now + MIN_GAP)
        pending = _pending(now)
        if pending is None or pending > when:
            _schedule(when)
            return when
        return pending
