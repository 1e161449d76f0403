"""The retention rule: a person whose leads saw no activity and no conversion for N months
(and who has no consent in force) is anonymised. ``retention_report`` says first what
would be removed; ``retention_apply`` does it."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from leadwerk.activities.models import Activity
from leadwerk.consent.choices import ConsentState
from leadwerk.consent.models import ConsentRecord, ConsentStatus
from leadwerk.contacts.models import Person
from leadwerk.leads.models import Lead

from .choices import ErasureReason
from .models import Erasure


def months_before(moment: datetime, months: int) -> datetime:
    """The same time ``months`` calendar months earlier (the 31st becomes the month's end)."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def retention_candidates(*, months: int, now: datetime | None = None) -> QuerySet[Person]:
    """Persons with leads, none of them touched (activity, new lead, conversion) since the
    cut-off, no consent given or confirmed since, none in force, and not erased yet."""
    cutoff = months_before(now or timezone.now(), months)
    recent_activity = Activity.objects.filter(person=OuterRef("pk"), occurred_at__gte=cutoff)
    recent_lead = Lead.objects.filter(person=OuterRef("pk")).filter(
        Q(created_at__gte=cutoff) | Q(closed_at__gte=cutoff) | Q(stage_changed_at__gte=cutoff)
    )
    recent_consent = ConsentRecord.objects.filter(person=OuterRef("pk"), recorded_at__gte=cutoff)
    consent_in_force = ConsentStatus.objects.filter(
        person=OuterRef("pk"), state=ConsentState.GRANTED
    )
    erased = Erasure.objects.filter(person=OuterRef("pk"))
    return (
        Person.objects.filter(Exists(Lead.objects.filter(person=OuterRef("pk"))))
        .exclude(Exists(recent_activity))
        .exclude(Exists(recent_lead))
        .exclude(Exists(recent_consent))
        .exclude(Exists(consent_in_force))
        .exclude(Exists(erased))
    )


@dataclass
class RetentionRow:
    person_uuid: str
    name: str
    leads: int
    last_activity: datetime | None
    created_at: datetime


def retention_report(*, months: int, now: datetime | None = None) -> list[RetentionRow]:
    """What ``retention_apply`` would anonymise, oldest first. Changes nothing."""
    qs = (
        retention_candidates(months=months, now=now)
        .annotate(lead_count=Count("leads", distinct=True), last=Max("activities__occurred_at"))
        .order_by("created_at", "id")
    )
    return [RetentionRow(str(p.uuid), str(p), p.lead_count, p.last, p.created_at) for p in qs]


def retention_apply(*, months: int, now: datetime | None = None, limit: int = 10_000) -> int:
    """Anonymise every candidate (each in its own transaction); returns how many."""
    from .services import person_erase

    done = 0
    for person in retention_candidates(months=months, now=now).order_by("id")[:limit]:
        person_erase(person=person, actor=None, reason=ErasureReason.RETENTION)
        done += 1
    return done
