"""Data-quality pages: dashboard, my data-care tasks, leaderboard, fixing and verifying a
person or company, settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadwerk.accounts.choices import Role
from leadwerk.accounts.selectors import user_sees_everything
from leadwerk.contacts.selectors import company_get, person_get
from leadwerk.dedup.choices import Entity
from leadwerk.dedup.selectors import can_review, candidate_counts, merges_of
from leadwerk.dedup.services import DEFAULT_TRUST, dedup_settings_save, settings_get
from leadwerk.errors import DomainValidationError

from . import selectors, services
from .forms import CompanyCareForm, PersonCareForm, QualitySettingsForm
from .models import QualitySnapshot


def _is_admin(user) -> bool:
    return user.is_superuser or user.has_role(Role.ADMIN)


def _can_see_dashboard(user) -> bool:
    return user_sees_everything(user) or user.has_role(Role.SALES_MANAGER)


def _nav(request) -> dict:
    return {"can_manage_data": can_review(request.user), "is_admin": _is_admin(request.user)}


@login_required
def dashboard(request):
    if not _can_see_dashboard(request.user):
        return redirect("dataquality:tasks")
    if not QualitySnapshot.objects.filter(day=timezone.localdate()).exists():
        from .tasks import quality_snapshot_task

        quality_snapshot_task.enqueue()
    trend = selectors.snapshots(days=90)
    context = {
        "chart": _chart(trend),
        **_nav(request),
        "people": selectors.person_figures(user=request.user),
        "companies": selectors.company_figures(user=request.user),
        "trend": trend[-14:],
        "worst_people": selectors.worst_persons(user=request.user),
        "worst_companies": selectors.worst_companies(user=request.user),
        "duplicates": candidate_counts(user=request.user) if can_review(request.user) else None,
        "config": selectors.quality_settings(),
        "my_points": selectors.my_points(user=request.user),
    }
    return render(request, "dataquality/dashboard.html", context)


def _chart(trend) -> dict | None:
    """An SVG line of completeness and share of stale people per day (server-rendered)."""
    if len(trend) < 2:
        return None
    width, height = 600, 160
    step = width / (len(trend) - 1)

    def line(values):
        return " ".join(f"{i * step:.1f},{height - v * height:.1f}" for i, v in enumerate(values))

    complete = [s.metrics.get("person_completeness", 0) for s in trend]
    stale = [
        (s.metrics.get("persons_stale", 0) / s.metrics["persons"])
        if s.metrics.get("persons")
        else 0
        for s in trend
    ]
    return {
        "width": width,
        "height": height,
        "complete": line(complete),
        "stale": line(stale),
        "first": trend[0].day,
        "last": trend[-1].day,
    }


@login_required
def tasks(request):
    return render(
        request,
        "dataquality/tasks.html",
        {
            **_nav(request),
            "tasks": selectors.care_tasks(user=request.user),
            "duplicates": candidate_counts(user=request.user) if can_review(request.user) else None,
            "my_points": selectors.my_points(user=request.user),
        },
    )


@login_required
def leaderboard(request):
    return render(
        request,
        "dataquality/leaderboard.html",
        {
            **_nav(request),
            "boards": selectors.leaderboard(user=request.user),
            "week_start": selectors.week_start(),
        },
    )


def _changes(form, initial: dict) -> dict:
    return {
        name: value
        for name, value in form.cleaned_data.items()
        if (value or "") != (initial.get(name) or "")
    }


@login_required
def person_care(request, uuid):
    person = person_get(user=request.user, uuid=uuid)
    if person is None:
        raise Http404
    initial = {name: getattr(person, name) for name in PersonCareForm.base_fields}
    form = PersonCareForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            points = services.person_care_update(
                person=person, actor=request.user, changes=_changes(form, initial)
            )
        except DomainValidationError as exc:
            for error in exc.errors:
                form.add_error(error.loc[0] if error.loc[0] in form.fields else None, error.msg)
        else:
            _said_thanks(request, points)
            return redirect("dataquality:person_care", uuid=person.uuid)
    return render(
        request,
        "dataquality/person_care.html",
        {
            **_nav(request),
            "person": person,
            "form": form,
            "quality": selectors.person_quality(person=person),
            "merges": merges_of(entity=Entity.PERSON, obj_id=person.pk),
        },
        status=422 if form.errors else 200,
    )


@login_required
def company_care(request, uuid):
    company = company_get(user=request.user, uuid=uuid)
    if company is None:
        raise Http404
    initial = {name: getattr(company, name) for name in CompanyCareForm.base_fields}
    form = CompanyCareForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            points = services.company_care_update(
                company=company, actor=request.user, changes=_changes(form, initial)
            )
        except DomainValidationError as exc:
            for error in exc.errors:
                form.add_error(error.loc[0] if error.loc[0] in form.fields else None, error.msg)
        else:
            _said_thanks(request, points)
            return redirect("dataquality:company_care", uuid=company.uuid)
    return render(
        request,
        "dataquality/company_care.html",
        {
            **_nav(request),
            "company": company,
            "form": form,
            "quality": selectors.company_quality(company=company),
            "merges": merges_of(entity=Entity.COMPANY, obj_id=company.pk),
        },
        status=422 if form.errors else 200,
    )


def _said_thanks(request, points: int) -> None:
    if points:
        messages.success(request, _("Saved. Thank you: +%(n)s data-care points.") % {"n": points})
    else:
        messages.info(request, _("Saved."))


@login_required
@require_POST
def verify(request, kind, uuid):
    obj = (person_get if kind == "person" else company_get)(user=request.user, uuid=uuid)
    if obj is None or kind not in ("person", "company"):
        raise Http404
    points = services.record_verify(actor=request.user, **{kind: obj})
    if points:
        messages.success(request, _("Marked as checked: +%(n)s data-care point.") % {"n": points})
    else:
        messages.info(request, _("This record was checked within the last 30 days already."))
    return redirect(f"dataquality:{kind}_care", uuid=uuid)


@login_required
@require_POST
def bounce(request, uuid):
    person = person_get(user=request.user, uuid=uuid)
    if person is None:
        raise Http404
    try:
        services.email_mark_bounced(
            person=person, actor=request.user, reason=request.POST.get("reason", "")[:300]
        )
    except DomainValidationError as exc:
        messages.error(request, exc.errors[0].msg)
    else:
        messages.success(request, _("The e-mail address is flagged as bounced."))
    return redirect("dataquality:person_care", uuid=uuid)


@login_required
def settings_view(request):
    if not _is_admin(request.user):
        raise PermissionDenied
    config = selectors.quality_settings()
    dedup = settings_get()
    initial = {
        "person_required": config.person_required,
        "company_required": config.company_required,
        "stale_after_months": config.stale_after_months,
        "auto_merge_threshold": dedup.auto_merge_threshold,
        "review_threshold": dedup.review_threshold,
        "default_rule": dedup.default_rule,
        "source_trust": ", ".join(dedup.source_trust or DEFAULT_TRUST),
        **{f"rule_{name}": rule for name, rule in (dedup.field_rules or {}).items()},
    }
    form = QualitySettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.quality_settings_save(
                person_required=data["person_required"],
                company_required=data["company_required"],
                stale_after_months=data["stale_after_months"],
            )
            dedup_settings_save(
                auto_merge_threshold=data["auto_merge_threshold"],
                review_threshold=data["review_threshold"],
                default_rule=data["default_rule"],
                field_rules=form.field_rules(),
                source_trust=data["source_trust"],
            )
        except DomainValidationError as exc:
            for error in exc.errors:
                form.add_error(None, error.msg)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("dataquality:settings")
    return render(
        request,
        "dataquality/settings.html",
        {**_nav(request), "form": form},
        status=422 if form.errors else 200,
    )


@login_required
def person_panel(request, uuid):
    """htmx: the data-quality box on a person's page (loaded after the page)."""
    person = person_get(user=request.user, uuid=uuid)
    if person is None:
        raise Http404
    return render(
        request,
        "dataquality/partials/detail_panel.html",
        {
            "quality": selectors.person_quality(person=person),
            "merges": merges_of(entity=Entity.PERSON, obj_id=person.pk, limit=5),
            "care_url_name": "dataquality:person_care",
            "obj": person,
        },
    )


@login_required
def company_panel(request, uuid):
    company = company_get(user=request.user, uuid=uuid)
    if company is None:
        raise Http404
    return render(
        request,
        "dataquality/partials/detail_panel.html",
        {
            "quality": selectors.company_quality(company=company),
            "merges": merges_of(entity=Entity.COMPANY, obj_id=company.pk, limit=5),
            "care_url_name": "dataquality:company_care",
            "obj": company,
        },
    )
