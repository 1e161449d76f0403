"""The duplicate review queue: side by side, field by field; merge history with undo."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.pagination import paginate

from .choices import Entity
from .selectors import (
    can_review,
    candidate_counts,
    candidate_get,
    candidate_list,
    merge_get,
    merge_list,
)
from .services import KINDS, candidate_decide, merge_undo, resolve_values, settings_get


def _require(request):
    if not can_review(request.user):
        raise PermissionDenied


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
def queue(request):
    _require(request)
    entity = request.GET.get("kind", Entity.PERSON)
    if entity not in Entity.values:
        entity = Entity.PERSON
    page = paginate(
        candidate_list(user=request.user, entity=entity),
        page=_int(request.GET.get("page"), 1),
        size=25,
    )
    return render(
        request,
        "dedup/queue.html",
        {
            "page": page,
            "entity": entity,
            "counts": candidate_counts(user=request.user),
            "query": f"kind={entity}",
            "config": settings_get(),
        },
    )


def _field_rows(candidate):
    """One row per field: label, value of A, value of B, the value the rules would keep."""
    kind = KINDS[candidate.entity]
    a, b = candidate.a, candidate.b
    suggested = resolve_values(kind=kind, survivor=a, merged=b)
    rows = []
    for name in kind.merge_fields:
        field = kind.model._meta.get_field(name)
        attname = field.attname
        va, vb = getattr(a, name), getattr(b, name)
        display_a = getattr(a, f"get_{name}_display", lambda v=va: v)()
        display_b = getattr(b, f"get_{name}_display", lambda v=vb: v)()
        pick = "b" if suggested[attname] != getattr(a, attname) else "a"
        rows.append(
            {
                "name": name,
                "label": field.verbose_name,
                "a": display_a if display_a not in (None, "") else "",
                "b": display_b if display_b not in (None, "") else "",
                "same": getattr(a, attname) == getattr(b, attname),
                "pick": pick,
            }
        )
    return rows


@login_required
def review(request, uuid):
    _require(request)
    candidate = candidate_get(user=request.user, uuid=uuid)
    if candidate is None or candidate.a is None or candidate.b is None:
        raise Http404
    if request.method == "POST":
        decision = request.POST.get("decision")
        try:
            if decision == "merge":
                choices = {
                    name: request.POST.get(f"pick_{name}")
                    for name in KINDS[candidate.entity].merge_fields
                    if request.POST.get(f"pick_{name}") in ("a", "b")
                }
                survivor_side = "b" if request.POST.get("survivor") == "b" else "a"
                record = candidate_decide(
                    candidate=candidate,
                    actor=request.user,
                    merge=True,
                    survivor_side=survivor_side,
                    choices=choices,
                )
                messages.success(
                    request,
                    _("Merged: %(merged)s is now part of %(survivor)s.")
                    % {"merged": record.merged_label, "survivor": record.survivor_label},
                )
            elif decision == "dismiss":
                candidate_decide(candidate=candidate, actor=request.user, merge=False)
                messages.success(request, _("Marked as not a duplicate."))
            else:
                messages.error(request, _("Choose to merge or to keep both."))
                return redirect("dedup:review", uuid=uuid)
        except (Conflict, DomainValidationError) as exc:
            messages.error(request, getattr(exc, "message", None) or str(exc))
        nxt = candidate_list(user=request.user, entity=candidate.entity).first()
        if nxt is not None:
            return redirect("dedup:review", uuid=nxt.uuid)
        return redirect(f"{reverse('dedup:queue')}?kind={candidate.entity}")
    return render(
        request,
        "dedup/review.html",
        {
            "candidate": candidate,
            "rows": _field_rows(candidate),
            "a": candidate.a,
            "b": candidate.b,
        },
    )


@login_required
def merges(request):
    _require(request)
    page = paginate(merge_list(user=request.user), page=_int(request.GET.get("page"), 1), size=25)
    return render(request, "dedup/merges.html", {"page": page, "query": ""})


@login_required
@require_POST
def undo(request, uuid):
    _require(request)
    record = merge_get(user=request.user, uuid=uuid)
    if record is None:
        raise Http404
    try:
        merge_undo(record=record, actor=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The merge was undone; both records are back."))
    return redirect("dedup:merges")


@login_required
@require_POST
def run_check(request):
    from leadwerk.accounts.choices import Role

    if not (request.user.is_superuser or request.user.has_role(Role.ADMIN)):
        raise PermissionDenied
    from .tasks import dedup_run_task

    for entity in (Entity.COMPANY, Entity.PERSON):
        dedup_run_task.enqueue(entity)
    messages.success(
        request, _("The duplicate check of the whole database runs in the background.")
    )
    return redirect("dedup:queue")
