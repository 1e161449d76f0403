"""The baseline: parse a JSON body, insert one row, answer 201. Nothing else."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import BaselineLead


@csrf_exempt
@require_POST
def create(request: HttpRequest) -> JsonResponse:
    try:
        payload = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "malformed JSON"}, status=400)
    person = payload.get("person") if isinstance(payload, dict) else None
    email = person.get("email", "") if isinstance(person, dict) else ""
    row = BaselineLead.objects.create(email=str(email)[:254], payload=payload)
    return JsonResponse({"id": row.pk}, status=201)
