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
