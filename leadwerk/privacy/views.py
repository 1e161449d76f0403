"""Data-subject requests in one click each: export (JSON and a readable page), erasure;
and the retention report."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadwerk.contacts.selectors import person_get
from leadwerk.errors import Conflict

from .retention import retention_report
from .selectors import user_may_handle_requests
from .services import person_erase, person_export_data


def _person(request, uuid):
    if not user_may_handle_requests(request.user):
        raise PermissionDenied
    person = person_get(user=request.user, uuid=uuid)
    if person is None:
        raise Http404
    return person


@login_required
def export_json(request, uuid):
    person = _person(request, uuid)
    data = person_export_data(person=person, actor=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="person-{person.uuid}.json"'
    return response


@login_required
def export_html(request, uuid):
    person = _person(request, uuid)
    data = person_export_data(person=person, actor=request.user)
    sections = [_readable(name, value) for name, value in data["sections"].items()]
    return render(
        request, "privacy/export.html", {"person": person, "data": data, "sections": sections}
    )


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
    return str(value)


def _readable(name: str, value) -> dict:
    """A section as something a person can read: key/value pairs, or a table per list."""
    section = {"name": name, "pairs": [], "tables": []}
    items = value.items() if isinstance(value, dict) else [("", value)]
    for key, item in items:
        if isinstance(item, list) and all(isinstance(row, dict) for row in item):
            columns = list(dict.fromkeys(k for row in item for k in row))
            rows = [[_text(row.get(c)) for c in columns] for row in item]
            section["tables"].append({"title": key, "columns": columns, "rows": rows})
        else:
            section["pairs"].append((key, _text(item)))
    return section


@login_required
@require_POST
def erase(request, uuid):
    person = _person(request, uuid)
    try:
        person_erase(person=person, actor=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The person has been anonymised everywhere."))
    return redirect(person)


@login_required
def retention(request):
    if not user_may_handle_requests(request.user):
        raise PermissionDenied
    months = settings.LEADWERK_RETENTION_MONTHS
    return render(
        request,
        "privacy/retention.html",
        {"rows": retention_report(months=months), "months": months},
    )
