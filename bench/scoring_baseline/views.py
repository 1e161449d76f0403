"""The baseline: parse a JSON batch of events, insert one row per event, answer 201."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import BaselineEvent


@csrf_exempt
@require_POST
def create(request: HttpRequest) -> JsonResponse:
    try:
        data = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "malformed JSON"}, status=400)
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        return JsonResponse({"detail": "events missing"}, status=400)
    rows = [
        BaselineEvent(
            email=str((e.get("person") or {}).get("email", ""))[:254],
            type=str(e.get("type", ""))[:30],
            payload=e,
        )
        for e in events
        if isinstance(e, dict)
    ]
    BaselineEvent.objects.bulk_create(rows)
    return JsonResponse({"count": len(rows)}, status=201)


@csrf_exempt
@require_POST
def timeline(request: HttpRequest) -> JsonResponse:
    """The second baseline: the same events onto the timeline table (Activity rows, persons
    found by e-mail in one query) - no validation, no open lead, no scoring."""
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    from leadwerk.activities.models import Activity
    from leadwerk.contacts.models import Person

    try:
        events = json.loads(request.body)["events"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"detail": "malformed JSON"}, status=400)
    emails = {str((e.get("person") or {}).get("email", "")).strip().casefold() for e in events}
    persons = dict(
        Person.objects.filter(email_normalized__in=emails).values_list("email_normalized", "id")
    )
    now = timezone.now()
    rows = []
    for e in events:
        person_id = persons.get(str((e.get("person") or {}).get("email", "")).strip().casefold())
        if person_id is None:
            continue
        rows.append(
            Activity(
                person_id=person_id,
                type=str(e.get("type", ""))[:20],
                occurred_at=parse_datetime(e.get("occurred_at") or "") or now,
                created_at=now,
                subject=str(e.get("subject", ""))[:300],
                payload=e.get("properties") or {},
            )
        )
    Activity.objects.bulk_create(rows)
    return JsonResponse({"count": len(rows)}, status=201)
