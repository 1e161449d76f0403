"""Behaviour events from other systems: validated as a whole, written in one transaction
together with the new scores (a batch is all-or-nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from leadwerk.contacts.models import Person
from leadwerk.contacts.normalization import InvalidEmail, email_clean, email_key
from leadwerk.contacts.services import person_match_or_create
from leadwerk.errors import DomainValidationError, FieldError

from .events import EventIn
from .models import Activity
from .tracking import event_settings_get, open_lead_ids, url_path, visitor_identify


@dataclass
class RecordedEvent:
    activity: Activity
    person: Person
    person_created: bool


@dataclass
class EventsResult:
    events: list[RecordedEvent]
    outcomes: list  # scoring outcomes of the leads the events touched


def _subject(event: EventIn) -> str:
    p = event.properties
    for candidate in (event.subject, p.get("title"), p.get("name"), p.get("path"), p.get("url")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:300]
    return ""


def _payload(event: EventIn) -> dict:
    payload = dict(event.properties)
    if event.type == "web_visit" and payload.get("url") and not payload.get("path"):
        payload["path"] = url_path(payload["url"])
    return payload


def _describe_future(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:.0f} seconds"


def events_record(
    *, events: list[EventIn], batch: bool, now: datetime | None = None
) -> EventsResult:
    """Check every event, then write all of them and rescore the persons' open leads - or
    raise DomainValidationError naming each bad event (``["events", 7, "occurred_at"]``)
    and write nothing."""
    now = now or timezone.now()
    settings = event_settings_get()
    tolerance = timedelta(seconds=settings.future_tolerance_seconds)

    def loc(i: int, *rest: str | int) -> tuple:
        return ("events", i, *rest) if batch else rest

    keys = {email_key(e.person.email) for e in events if e.person is not None}
    by_email = {p.email_normalized: p for p in Person.objects.filter(email_normalized__in=keys)}
    uuids = {e.person_id for e in events if e.person_id is not None}
    by_uuid = {p.uuid: p for p in Person.objects.filter(uuid__in=uuids)}
    errors: list[FieldError] = []
    for i, e in enumerate(events):
        if e.occurred_at is not None and e.occurred_at > now + tolerance:
            errors.append(
                FieldError(
                    loc(i, "occurred_at"),
                    f"lies {_describe_future(e.occurred_at - now)} in the future; at most "
                    f"{settings.future_tolerance_seconds} seconds are tolerated",
                    "future",
                )
            )
        if e.person_id is not None and e.person_id not in by_uuid:
            errors.append(FieldError(loc(i, "person_id"), "no person with this id", "unknown"))
        if e.person is None or email_key(e.person.email) in by_email:
            continue
        if settings.allow_anonymous_prospects:
            # A new person needs an address that passes the full check, not just the lookup.
            try:
                email_clean(e.person.email)
            except InvalidEmail as exc:
                errors.append(
                    FieldError(loc(i, "person", "email"), f"not a valid e-mail address: {exc}")
                )
        else:
            errors.append(
                FieldError(
                    loc(i, "person", "email"),
                    f"no person with the e-mail address {e.person.email}; creating anonymous "
                    "prospects from events is switched off (an admin can allow it in the "
                    "scoring settings)",
                    "unknown",
                )
            )
    if errors:
        raise DomainValidationError(errors)

    from leadwerk.scoring.services import persons_rescore, scoring_fact

    with transaction.atomic():
        created: set[int] = set()
        persons: list[Person] = []
        for e in events:
            if e.person_id is not None:
                persons.append(by_uuid[e.person_id])
                continue
            key = email_key(e.person.email)
            person = by_email.get(key)
            if person is None:
                match = person_match_or_create(email=email_clean(e.person.email))
                person = by_email[key] = match.obj
                if match.created:
                    created.add(person.pk)
            persons.append(person)
        leads = open_lead_ids(sorted({p.pk for p in persons}))
        activities = [
            Activity(
                person=person,
                lead_id=leads.get(person.pk),
                type=e.type,
                occurred_at=e.occurred_at or now,
                created_at=now,
                subject=_subject(e),
                payload=_payload(e),
            )
            for e, person in zip(events, persons, strict=True)
        ]
        Activity.objects.bulk_create(activities)
        for e, person in zip(events, persons, strict=True):
            if e.visitor_id is not None:
                visitor_identify(visitor_id=e.visitor_id, person=person, now=now)
        new_events: dict[int, list] = {}
        for a in activities:
            new_events.setdefault(a.person_id, []).append(scoring_fact(a))
        outcomes = persons_rescore(
            person_ids={p.pk for p in persons}, now=now, new_events=new_events
        )
    return EventsResult(
        [RecordedEvent(a, p, p.pk in created) for a, p in zip(activities, persons, strict=True)],
        outcomes,
    )
