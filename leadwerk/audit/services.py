"""Writes to the audit log. Every other app records through ``audit_record``; nothing
changes or deletes an entry except erasure's redaction of personal values."""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from .choices import AuditAction
from .context import current_request_meta
from .models import AuditEntry, RedactionPermit


def _jsonable(value: dict | None) -> dict:
    if not value:
        return {}
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def audit_record(**fields: Any) -> AuditEntry:
    """Append one entry (the arguments of ``audit_entry``). Call inside the use case's
    transaction."""
    entry = audit_entry(**fields)
    entry.save(force_insert=True)
    return entry


def audit_entry(
    *,
    action: AuditAction,
    object_type: str,
    object_id: object = "",
    actor=None,
    person=None,
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """An entry, not saved yet (``audit_record`` saves one, ``audit_record_many`` several).
    ``person`` (a Person or its UUID) marks whose personal data the entry holds, so that
    erasure can find it."""
    meta = current_request_meta()
    person_uuid = None
    if person is not None:
        person_uuid = person if isinstance(person, UUID) else getattr(person, "uuid", None)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEntry(
        actor=actor,
        actor_label=actor.get_username() if actor is not None else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        person_uuid=person_uuid,
        summary=summary[:300],
        before=_jsonable(before),
        after=_jsonable(after),
        ip=meta.ip,
        user_agent=meta.user_agent,
    )


def audit_record_many(entries: list[AuditEntry]) -> None:
    """Append several entries made by ``audit_entry`` with one INSERT (a use case that
    records more than one change, e.g. an intake creating a person, a company and a lead).
    Call inside the use case's transaction."""
    if entries:
        AuditEntry.objects.bulk_create(entries)


REDACTED = "[erased]"


def _scrub(value, needles: list[str]):
    """Replace every needle (case-insensitive) in strings nested anywhere in ``value``."""
    if isinstance(value, str):
        for needle in needles:
            value = re.sub(re.escape(needle), REDACTED, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    return value


@transaction.atomic
def audit_redact_person(
    *, person_uuid: UUID, values: list[str], global_values: list[str] | None = None
) -> int:
    """Erasure: replace the person's identifying ``values`` in every entry that mentions them,
    and drop the address and user agent of entries the person caused themselves (no actor).

    ``global_values`` (strong identifiers such as the e-mail address or the full name) are
    also removed from the summaries of entries about other objects. Entries stay (who did
    what, when); only the personal values go. Returns how many entries changed. The only
    sanctioned change to the audit log.
    """
    needles = sorted({v for v in values if v and len(v) >= 2}, key=len, reverse=True)
    strong = sorted({v for v in (global_values or []) if v and len(v) >= 5}, key=len, reverse=True)
    permit = RedactionPermit.objects.create()
    changed = 0
    try:
        candidates = AuditEntry.objects.filter(person_uuid=person_uuid)
        for entry in candidates.iterator():
            fields = {
                "summary": _scrub(entry.summary, needles),
                "before": _scrub(entry.before, needles),
                "after": _scrub(entry.after, needles),
            }
            if entry.actor_id is None:
                fields.update(ip=None, user_agent="")
            if any(getattr(entry, k) != v for k, v in fields.items()):
                AuditEntry.objects.filter(pk=entry.pk)._redact(**fields)
                changed += 1
        # Entries about other objects that quote the person (e.g. a company's change log).
        others = AuditEntry.objects.exclude(person_uuid=person_uuid)
        for needle in strong:
            for entry in others.filter(summary__icontains=needle).iterator():
                AuditEntry.objects.filter(pk=entry.pk)._redact(
                    summary=_scrub(entry.summary, strong)
                )
                changed += 1
    finally:
        RedactionPermit.objects.filter(pk=permit.pk).delete()
    return changed
