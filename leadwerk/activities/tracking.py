"""Website tracking and event settings: page views of visitors (anonymous until they identify
through a Leadwerk web form or an event with their visitor id) and the admin's choices."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from .choices import ActivityType
from .models import Activity, EventSettings, PageView, Visitor

SETTINGS_PK = 1


def event_settings_get() -> EventSettings:
    """The one settings row (created with safe defaults on first use)."""
    row, _created = EventSettings.objects.get_or_create(pk=SETTINGS_PK)
    return row


def event_settings_update(*, actor, changes: dict) -> EventSettings:
    allowed = {
        "allow_anonymous_prospects",
        "future_tolerance_seconds",
        "tracking_enabled",
        "tracking_domains",
    }
    with transaction.atomic():
        row = event_settings_get()
        row = EventSettings.objects.select_for_update().get(pk=row.pk)
        for name, value in changes.items():
            if name not in allowed:
                raise ValueError(f"unknown setting {name!r}")
            setattr(row, name, value)
        row.updated_by = actor
        row.full_clean()
        row.save()
    return row


def host_allowed(host: str, domains: list[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains if d)


def url_path(url: str) -> str:
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return ""


def open_lead_ids(person_ids: list[int]) -> dict[int, int]:
    """The most recent open lead of each person (events are shown on that lead's timeline)."""
    from leadwerk.leads.choices import OPEN_STAGES
    from leadwerk.leads.models import Lead

    out: dict[int, int] = {}
    # By person only, the stage is checked here (SQLite would pick the stage index).
    rows = (
        Lead.objects.filter(person_id__in=person_ids)
        .order_by("person_id", "-created_at", "-id")
        .values_list("person_id", "id", "stage")
    )
    for person_id, lead_id, stage in rows:
        if stage in OPEN_STAGES:
            out.setdefault(person_id, lead_id)
    return out


def _web_visit(
    *,
    person_id: int,
    lead_id: int | None,
    url: str,
    path: str,
    title: str,
    referrer: str,
    visitor_id,
    at: datetime,
) -> Activity:
    return Activity(
        person_id=person_id,
        lead_id=lead_id,
        type=ActivityType.WEB_VISIT,
        occurred_at=at,
        created_at=at,
        subject=(title or path or url)[:300],
        payload={
            "url": url,
            "path": path,
            "title": title,
            "referrer": referrer,
            "visitor": str(visitor_id),
        },
    )


def visitor_identify(*, visitor_id: UUID | str, person, now: datetime | None = None) -> int:
    """Join a visitor to a person: their earlier page views move to the person's timeline
    as web visits and count for scoring. Returns how many moved."""
    from leadwerk.scoring.services import persons_rescore

    try:
        visitor_id = UUID(str(visitor_id))
    except ValueError:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        visitor, _created = Visitor.objects.select_for_update().get_or_create(
            id=visitor_id, defaults={"first_seen_at": now, "last_seen_at": now}
        )
        visitor.person = person
        visitor.identified_at = now
        visitor.save(update_fields=["person", "identified_at"])
        views = list(PageView.objects.filter(visitor=visitor).order_by("occurred_at", "id"))
        if not views:
            return 0
        lead_id = open_lead_ids([person.pk]).get(person.pk)
        Activity.objects.bulk_create(
            [
                _web_visit(
                    person_id=person.pk,
                    lead_id=lead_id,
                    url=v.url,
                    path=v.path,
                    title=v.title,
                    referrer=v.referrer,
                    visitor_id=visitor.id,
                    at=v.occurred_at,
                )
                for v in views
            ]
        )
        PageView.objects.filter(pk__in=[v.pk for v in views]).delete()
        persons_rescore(person_ids=[person.pk], now=now)
    return len(views)


def pageview_record(
    *, visitor_id: UUID, url: str, title: str = "", referrer: str = "", now: datetime | None = None
) -> str:
    """Record one page view: on the person's timeline if the visitor is known, else kept
    for when they identify. Returns "activity" or "pageview"."""
    from leadwerk.scoring.services import persons_rescore

    now = now or timezone.now()
    path = url_path(url)[:500]
    with transaction.atomic():
        visitor, created = Visitor.objects.get_or_create(
            id=visitor_id, defaults={"first_seen_at": now, "last_seen_at": now}
        )
        if not created:
            Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=now)
        if visitor.person_id is None:
            PageView.objects.create(
                visitor=visitor, url=url, path=path, title=title, referrer=referrer, occurred_at=now
            )
            return "pageview"
        lead_id = open_lead_ids([visitor.person_id]).get(visitor.person_id)
        _web_visit(
            person_id=visitor.person_id,
            lead_id=lead_id,
            url=url,
            path=path,
            title=title,
            referrer=referrer,
            visitor_id=visitor.id,
            at=now,
        ).save()
        persons_rescore(person_ids=[visitor.person_id], now=now)
    return "activity"
