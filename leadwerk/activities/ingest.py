"""Behaviour events from other systems: validated as a whole, written in one transaction
together with the new scores (a batch is all-or-nothing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
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


_INSERT_FIELDS = (
    "uuid",
    "person",
    "lead",
    "type",
    "occurred_at",
    "actor",
    "subject",
    "payload",
    "restricted",
    "created_at",
)


def _sqlite_max_params() -> int:
    import sqlite3

    # Django assumes SQLite's old default of 999; the real limit is far higher today.
    return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _adapter(field):
    """The function that turns a value of ``field`` into the database's parameter: what
    ``get_db_prep_save`` ends in for the types of the timeline table, without its checks."""
    ops = connection.ops
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return ops.adapt_datetimefield_value
    if kind == "UUIDField" and not connection.features.has_native_uuid_field:
        return lambda value: value.hex
    if kind == "JSONField":
        return lambda value: ops.adapt_json_value(value, field.encoder)
    return lambda value: value


def activities_insert(activities: list[Activity]) -> None:
    """Insert new timeline entries (built, not saved) and set their ids, like
    ``bulk_create`` (no signals, no ``save``) - but with each value adapted by its field
    directly and as many rows per statement as SQLite takes (PostgreSQL: one statement):
    building ``bulk_create``'s SQL cost more than the database's work for the rows."""
    if not activities:
        return
    connection.ensure_connection()
    fields = [Activity._meta.get_field(name) for name in _INSERT_FIELDS]
    attnames = [f.attname for f in fields]
    preps = [_adapter(f) for f in fields]
    if connection.vendor == "postgresql":
        _activities_insert_pg(activities, fields, attnames, preps)
        return
    q = connection.ops.quote_name
    columns = ", ".join(q(f.column) for f in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, min(1000, (_sqlite_max_params() - 1) // len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(activities), per_statement):
            chunk = activities[start : start + per_statement]
            params = [
                prep(getattr(a, attname))
                for a in chunk
                for attname, prep in zip(attnames, preps, strict=True)
            ]
            cursor.execute(
                f"INSERT INTO {q(Activity._meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([row_sql] * len(chunk))} RETURNING {q('id')}",
                params,
            )
            ids = [row[0] for row in cursor.fetchall()]
            # Rows come back in the order of VALUES (bulk_create relies on the same).
            for a, pk in zip(chunk, ids, strict=True):
                a.pk = pk
                a._state.adding = False
                a._state.db = connection.alias


def _activities_insert_pg(activities: list[Activity], fields, attnames, preps) -> None:
    """PostgreSQL: one statement with one array per column (``unnest``) - a statement with
    thousands of placeholders costs psycopg more to parse than the database to insert. The
    new ids are matched to the rows by their uuids."""
    q = connection.ops.quote_name
    types, selected = [], []
    for i, f in enumerate(fields):
        db_type = f.rel_db_type(connection) if f.is_relation else f.db_type(connection)
        if db_type == "jsonb":
            types.append("text")
            selected.append(f"u.c{i}::jsonb")
        else:
            types.append(db_type)
            selected.append(f"u.c{i}")
    columns = ", ".join(q(f.column) for f in fields)
    arrays = ", ".join(f"%s::{t}[]" for t in types)
    aliases = ", ".join(f"c{i}" for i in range(len(fields)))
    params = []
    for f, attname, prep in zip(fields, attnames, preps, strict=True):
        if f.get_internal_type() == "JSONField":
            params.append([json.dumps(getattr(a, attname), cls=f.encoder) for a in activities])
        else:
            params.append([prep(getattr(a, attname)) for a in activities])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(Activity._meta.db_table)} ({columns}) "  # noqa: S608
            f"SELECT {', '.join(selected)} FROM unnest({arrays}) AS u({aliases}) "
            f"RETURNING {q('id')}, {q('uuid')}",
            params,
        )
        ids = {uuid: pk for pk, uuid in cursor.fetchall()}
    for a in activities:
        a.pk = ids[a.uuid]
        a._state.adding = False
        a._state.db = connection.alias


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
        activities_insert(activities)
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
