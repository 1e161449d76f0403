"""Writes to the timeline. Other apps record activities only through these functions."""

from __future__ import annotations

from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from .choices import ActivityType
from .models import Activity


def _jsonable(payload: dict | None) -> dict:
    """Payloads are stored as JSON; dates, decimals and UUIDs become strings."""
    if not payload:
        return {}
    import json

    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def activity_record(
    *,
    person,
    type: ActivityType,
    lead=None,
    actor=None,
    subject: str = "",
    payload: dict | None = None,
    occurred_at: datetime | None = None,
    restricted: bool = False,
) -> Activity:
    """Append one entry to the timeline of a person (and lead). Call inside the use case's
    transaction so the entry and the change it describes are written together."""
    return Activity.objects.create(
        person=person,
        lead=lead,
        type=type,
        actor=actor,
        subject=subject[:300],
        payload=_jsonable(payload),
        occurred_at=occurred_at or timezone.now(),
        restricted=restricted,
    )
