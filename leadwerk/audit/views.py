"""The audit log page for auditors: search, page through, export."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.exports.tabular import FORMATS, table_response
from leadwerk.pagination import paginate

from .choices import AuditAction
from .selectors import AuditFilters, audit_object_types, audit_search, user_may_audit
from .services import audit_record

EXPORT_LIMIT = 100_000


def _date(value: str, *, end: bool = False) -> datetime | None:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007 - a date only
    except (TypeError, ValueError):
        return None
    moment = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    return moment + timezone.timedelta(days=1) if end else moment


def _filters(request) -> AuditFilters:
    g = request.GET
    action = g.get("action", "")
    return AuditFilters(
        q=g.get("q", "")[:200],
        action=action if action in AuditAction.values else "",
        object_type=g.get("object_type", "")[:40],
        actor=g.get("actor", "")[:150],
        object_id=g.get("object_id", "")[:64].strip(),
        at_from=_date(g.get("from", "")),
        at_to=_date(g.get("to", ""), end=True),
    )


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
def audit_log(request):
    if not user_may_audit(request.user):
        raise PermissionDenied
    filters = _filters(request)
    page = paginate(
        audit_search(user=request.user, filters=filters).select_related("actor"),
        page=_int(request.GET.get("page"), 1),
        size=50,
    )
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {
        "page": page,
        "f": request.GET,
        "actions": AuditAction.choices,
        "object_types": audit_object_types(),
        "query": query.urlencode(),
    }
    if request.htmx and request.htmx.target == "audit-table":
        return render(request, "audit/partials/table.html", ctx)
    return render(request, "audit/log.html", ctx)


HEADER = [
    "time",
    "actor",
    "action",
    "object_type",
    "object_id",
    "person",
    "summary",
    "before",
    "after",
    "ip",
    "user_agent",
]


@login_required
def audit_export(request, fmt: str):
    if not user_may_audit(request.user) or fmt not in FORMATS:
        raise PermissionDenied
    filters = _filters(request)
    entries = list(audit_search(user=request.user, filters=filters)[:EXPORT_LIMIT])
    with transaction.atomic():
        audit_record(
            action=AuditAction.EXPORT,
            actor=request.user,
            object_type="audit_log",
            summary=_("Audit log exported (%(n)s entries)") % {"n": len(entries)},
            after={"format": fmt, "filters": request.GET.dict(), "rows": len(entries)},
        )
    rows = (
        [
            e.at,
            e.actor_label,
            e.action,
            e.object_type,
            e.object_id,
            e.person_uuid or "",
            e.summary,
            _json(e.before),
            _json(e.after),
            e.ip or "",
            e.user_agent,
        ]
        for e in entries
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return table_response(fmt=fmt, filename=f"audit-{stamp}", header=HEADER, rows=rows)


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
