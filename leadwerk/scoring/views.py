"""Scoring pages: overview and matrix, model versions (edit, import, export, tune, diff),
preview and activation with progress, a lead's score explained, the sales feedback report,
and the event and tracking settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from leadwerk.accounts.choices import Role
from leadwerk.activities.tracking import event_settings_get, event_settings_update
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.leads.selectors import lead_get

from . import services
from .choices import ModelStatus, RunKind, RunStatus
from .forms import EventSettingsForm, ModelDocumentForm, TuneForm
from .selectors import (
    lead_score_explain,
    matrix_rows,
    report_period,
    sales_feedback,
    score_matrix,
    scoring_model_active,
    scoring_model_diff,
    scoring_model_get,
    scoring_model_list,
    scoring_model_text,
    scoring_run_current_rescore,
    scoring_run_get,
    scoring_run_latest_preview,
    scoring_run_list,
)


def may_view(user) -> bool:
    return user.has_role(Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER, Role.INSIDE_SALES)


def may_configure(user) -> bool:
    return user.has_role(Role.ADMIN, Role.MARKETING)


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _model_or_404(uuid):
    model = scoring_model_get(uuid=uuid)
    if model is None:
        raise Http404
    return model


def error_lines(exc: DomainValidationError) -> list[str]:
    """``engagement.rules[3].when[0].value: not a valid regular expression …``"""
    lines = []
    for e in exc.errors:
        where = ""
        for part in e.loc:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        lines.append(f"{where or _('model')}: {e.msg}")
    return lines


@login_required
def overview(request):
    _require(may_view(request.user))
    matrix = score_matrix(user=request.user)
    active = scoring_model_active()
    return render(
        request,
        "scoring/overview.html",
        {
            "active": active,
            "config": active.config if active else None,
            "matrix": matrix,
            "rows": matrix_rows(matrix["cells"]),
            "labels_of": _labels_of(active),
            "rescore": scoring_run_current_rescore(),
            "may_configure": may_configure(request.user),
        },
    )


def _labels_of(model) -> dict[str, str]:
    if model is None:
        return {}
    labels = model.config["labels"]
    return dict.fromkeys(labels["hot"], "hot") | dict.fromkeys(labels["warm"], "warm")


@login_required
def models(request):
    _require(may_view(request.user))
    return render(
        request,
        "scoring/models.html",
        {"versions": scoring_model_list()[:200], "may_configure": may_configure(request.user)},
    )


@login_required
def model_detail(request, uuid):
    _require(may_view(request.user))
    model = _model_or_404(uuid)
    compare = model.based_on
    if compare is None:
        compare = scoring_model_list().filter(number__lt=model.number).first()
    preview = scoring_run_latest_preview(model=model)
    return render(
        request,
        "scoring/model_detail.html",
        {
            "model": model,
            "config": model.config,
            "labels_of": _labels_of(model),
            "compare": compare,
            "diff": scoring_model_diff(compare, model) if compare else [],
            "preview": preview,
            "runs": scoring_run_list(model=model),
            "may_configure": may_configure(request.user),
        },
    )


@login_required
def model_export(request, uuid):
    _require(may_view(request.user))
    model = _model_or_404(uuid)
    response = HttpResponse(
        scoring_model_text(model), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="scoring-model-v{model.number}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def model_new(request):
    """Write a new version as JSON (prefilled with the version it starts from) or import one."""
    _require(may_configure(request.user))
    base = None
    base_uuid = request.GET.get("from") or request.POST.get("from")
    if base_uuid:
        try:
            base = scoring_model_get(uuid=base_uuid)
        except ValueError:
            base = None
    base = base or scoring_model_active()
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        form = ModelDocumentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                model = services.scoring_model_create(
                    document=form.cleaned_data["document"],
                    actor=request.user,
                    note=form.cleaned_data["note"],
                    based_on=base,
                )
            except DomainValidationError as exc:
                errors = error_lines(exc)
            else:
                messages.success(
                    request,
                    _("Version %(n)s saved as a draft. Preview it before you activate it.")
                    % {"n": model.number},
                )
                return redirect(model)
        status = 422
    else:
        form = ModelDocumentForm(initial={"document": scoring_model_text(base) if base else ""})
    return render(
        request,
        "scoring/model_new.html",
        {"form": form, "base": base, "errors": errors},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def model_tune(request, uuid):
    """Change the numbers of a version (points, caps, half-lives, thresholds): a new draft."""
    _require(may_configure(request.user))
    base = _model_or_404(uuid)
    errors: list[str] = []
    form = TuneForm(request.POST or None, config=base.config)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                model = services.scoring_model_create(
                    document=form.document(),
                    actor=request.user,
                    note=form.cleaned_data["note"],
                    based_on=base,
                )
            except DomainValidationError as exc:
                errors = error_lines(exc)
            else:
                messages.success(
                    request,
                    _("Version %(n)s saved as a draft. Preview it before you activate it.")
                    % {"n": model.number},
                )
                return redirect(model)
        status = 422
    return render(
        request,
        "scoring/model_tune.html",
        {"form": form, "base": base, "errors": errors},
        status=status,
    )


@login_required
@require_POST
def model_preview(request, uuid):
    _require(may_configure(request.user))
    model = _model_or_404(uuid)
    run = services.scoring_run_start(model=model, kind=RunKind.PREVIEW, actor=request.user)
    return redirect("scoring:run_detail", uuid=run.uuid)


@login_required
@require_POST
def model_activate(request, uuid):
    _require(may_configure(request.user))
    model = _model_or_404(uuid)
    try:
        run = services.scoring_model_activate(model=model, actor=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect(model)
    messages.success(
        request,
        _("Version %(n)s is active. All leads are being rescored.") % {"n": model.number},
    )
    return redirect("scoring:run_detail", uuid=run.uuid)


@login_required
def run_detail(request, uuid):
    _require(may_view(request.user))
    run = scoring_run_get(uuid=uuid)
    if run is None:
        raise Http404
    context = {
        "run": run,
        "may_configure": may_configure(request.user),
        "activatable": run.kind == RunKind.PREVIEW
        and run.status == RunStatus.DONE
        and run.model.status != ModelStatus.ACTIVE,
        "compare": _preview_table(run) if run.is_finished else None,
        "old_labels_of": _labels_of(run.baseline or run.model),
        "new_labels_of": _labels_of(run.model),
    }
    if request.htmx:
        return render(request, "scoring/partials/run_progress.html", context)
    return render(request, "scoring/run_detail.html", context)


def _preview_table(run) -> dict:
    stats = run.stats or {}
    old, new = stats.get("old", {}), stats.get("new", {})
    mql_now = stats.get("mql_now", 0)
    return {
        "mql_now": mql_now,
        "mql_after": mql_now + stats.get("to_mql", 0) - stats.get("to_recycled", 0),
        "to_mql": stats.get("to_mql", 0),
        "to_recycled": stats.get("to_recycled", 0),
        "old_eligible": old.get("eligible", 0),
        "new_eligible": new.get("eligible", 0),
        "open": stats.get("open", 0),
        "unscored": old.get("unscored", 0),
        "old_rows": matrix_rows(old.get("cells", {})),
        "new_rows": matrix_rows(new.get("cells", {})),
        "old_labels": old.get("labels", {}),
        "new_labels": new.get("labels", {}),
    }


@login_required
@require_POST
def run_resume(request, uuid):
    _require(may_configure(request.user))
    run = scoring_run_get(uuid=uuid)
    if run is None:
        raise Http404
    services.scoring_run_resume(run=run)
    return redirect("scoring:run_detail", uuid=run.uuid)


@login_required
def lead_panel(request, uuid):
    """A lead's score explained: loaded into the lead page, or a page of its own."""
    lead = lead_get(user=request.user, uuid=uuid)
    if lead is None:
        raise Http404
    explanation = lead_score_explain(lead=lead)
    context = {"lead": lead, "ex": explanation}
    if request.htmx:
        return render(request, "scoring/partials/lead_score.html", context)
    return render(request, "scoring/lead_score.html", context)


REPORT_DAYS = (30, 90, 180, 365)


@login_required
def report(request):
    _require(may_view(request.user))
    try:
        days = int(request.GET.get("days", 90))
    except ValueError:
        days = 90
    days = days if days in REPORT_DAYS else 90
    by = "cell" if request.GET.get("by") == "cell" else "band"
    date_from, date_to = report_period(days)
    data = sales_feedback(user=request.user, date_from=date_from, date_to=date_to, by=by)
    return render(
        request,
        "scoring/report.html",
        {**data, "days": days, "choices": REPORT_DAYS, "date_from": date_from},
    )


@login_required
@require_http_methods(["GET", "POST"])
def event_settings(request):
    _require(request.user.has_role(Role.ADMIN))
    current = event_settings_get()
    form = EventSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        event_settings_update(
            actor=request.user,
            changes={name: form.cleaned_data[name] for name in form.Meta.fields},
        )
        messages.success(request, _("Settings saved."))
        return redirect("scoring:settings")
    snippet = (
        f'<script src="{settings.LEADWERK_BASE_URL}{static("leadwerk/track.js")}" async></script>'
    )
    return render(
        request,
        "scoring/settings.html",
        {
            "form": form,
            "snippet": snippet,
            "settings_row": current,
            "collect_url": settings.LEADWERK_BASE_URL + reverse("activities:collect"),
        },
        status=422 if form.errors else 200,
    )
