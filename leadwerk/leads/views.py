"""Lead pages: inbox, detail with actions, telesales entry, public web forms."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from leadwerk.accounts.choices import Role
from leadwerk.accounts.selectors import user_assignable_list
from leadwerk.activities.selectors import activity_timeline
from leadwerk.activities.tracking import visitor_identify
from leadwerk.campaigns.selectors import campaign_list, channel_list
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.pagination import PAGE_SIZES, paginate
from leadwerk.throttle.services import rate_limit_hit

from . import services
from .choices import REASON_REQUIRED, TRANSITIONS, LeadSource, Stage
from .forms import LeadEntryForm, LogActivityForm, PublicLeadForm, TransitionForm, WebFormForm
from .models import WebForm
from .public_forms import BadFormToken, form_token_check, form_token_issue
from .selectors import (
    SORTS,
    LeadFilters,
    lead_get,
    lead_list,
    lead_stage_counts,
    webform_get_public,
    webform_list,
)

AGES = {
    "today": (gettext_lazy("today"), timedelta(days=1)),
    "7d": (gettext_lazy("last 7 days"), timedelta(days=7)),
    "30d": (gettext_lazy("last 30 days"), timedelta(days=30)),
    "90d": (gettext_lazy("last 90 days"), timedelta(days=90)),
}
AGE_OLDER = "older"


def _filters_from(request) -> tuple[LeadFilters, dict]:
    g = request.GET
    stages = [s for s in g.getlist("stage") if s in Stage.values]
    owner = g.get("owner", "")
    age = g.get("age", "")
    now = timezone.now()
    created_from = created_to = None
    if age in AGES:
        created_from = now - AGES[age][1]
    elif age == AGE_OLDER:
        created_to = now - timedelta(days=90)
    sort = g.get("sort", "-created")
    if sort not in SORTS:
        sort = "-created"
    filters = LeadFilters(
        stages=stages or None,
        owner=owner,
        channel=g.get("channel", "")[:50],
        campaign=g.get("campaign", "")[:80],
        created_from=created_from,
        created_to=created_to,
        q=g.get("q", "")[:200],
        sort=sort,
        min_score=_float(g.get("min_score")),
        grades=_grades_from(g.get("grade", "")),
    )
    return filters, {"stages": stages, "owner": owner, "age": age}


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -1e6 <= number <= 1e6 else None


def _grades_from(grade: str) -> list[str] | None:
    """ "B" means B or better."""
    return list("ABCD"[: "ABCD".index(grade) + 1]) if grade in ("A", "B", "C", "D") else None


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
def inbox(request):
    filters, raw = _filters_from(request)
    if raw["owner"] not in ("", "me", "none"):
        from uuid import UUID

        try:
            UUID(raw["owner"])
        except ValueError:
            filters.owner = raw["owner"] = ""
    per_page = _int(request.GET.get("per_page"), 25)
    if per_page not in PAGE_SIZES:
        per_page = 25
    page = paginate(
        lead_list(user=request.user, filters=filters),
        page=_int(request.GET.get("page"), 1),
        size=per_page,
    )
    counts = lead_stage_counts(user=request.user, filters=filters)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "raw": raw,
        "stages": [(s, label, counts.get(s, 0)) for s, label in Stage.choices],
        "total": sum(counts.values()),
        "channels": channel_list(),
        "campaigns": campaign_list(),
        "owners": user_assignable_list(user=request.user),
        "ages": [(k, v[0]) for k, v in AGES.items()] + [(AGE_OLDER, _("older than 90 days"))],
        "sorts": SORTS,
        "per_page": per_page,
        "page_sizes": PAGE_SIZES,
        "query": query.urlencode(),
    }
    if request.htmx and request.htmx.target == "lead-table":
        return render(request, "leads/partials/inbox_table.html", context)
    return render(request, "leads/inbox.html", context)


def _detail_context(request, lead, **extra) -> dict:
    allowed = sorted(TRANSITIONS[lead.stage], key=lambda s: Stage.values.index(s))
    return {
        "lead": lead,
        "timeline": activity_timeline(lead=lead),
        "transitions": [(s, Stage(s).label, s in REASON_REQUIRED) for s in allowed],
        "transition_form": extra.pop("transition_form", TransitionForm()),
        "log_form": extra.pop("log_form", LogActivityForm()),
        "owners": user_assignable_list(user=request.user),
        "other_leads": lead_list(user=request.user, filters=LeadFilters())
        .filter(person=lead.person)
        .exclude(pk=lead.pk)[:20],
        **extra,
    }


def _lead_or_404(request, uuid):
    lead = lead_get(user=request.user, uuid=uuid)
    if lead is None:
        raise Http404
    return lead


@login_required
def detail(request, uuid):
    lead = _lead_or_404(request, uuid)
    return render(request, "leads/detail.html", _detail_context(request, lead))


def _after_action(request, lead, form_errors: dict | None = None, status: int = 200):
    """Answer an action: the refreshed lead panel for htmx, else a redirect."""
    lead = _lead_or_404(request, lead.uuid)
    if request.htmx:
        ctx = _detail_context(request, lead, **(form_errors or {}))
        return render(request, "leads/partials/detail_main.html", ctx, status=status)
    return redirect(lead)


@login_required
@require_POST
def transition(request, uuid):
    lead = _lead_or_404(request, uuid)
    form = TransitionForm(request.POST)
    if form.is_valid():
        try:
            services.lead_transition(
                lead=lead,
                to_stage=form.cleaned_data["to"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except (Conflict, DomainValidationError) as exc:
            message = exc.message if isinstance(exc, Conflict) else str(exc.errors[0].msg)
            form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Stage changed to %(stage)s.") % {"stage": Stage(form.cleaned_data["to"]).label},
            )
            return _after_action(request, lead)
    if not request.htmx:
        for error in form.non_field_errors() + form.errors.get("to", []):
            messages.error(request, error)
        return redirect(lead)
    return _after_action(request, lead, {"transition_form": form}, status=422)


@login_required
@require_POST
def log_activity(request, uuid):
    lead = _lead_or_404(request, uuid)
    form = LogActivityForm(request.POST)
    if form.is_valid():
        services.lead_log_activity(
            lead=lead,
            actor=request.user,
            type=form.cleaned_data["type"],
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
        )
        messages.success(request, _("Activity logged."))
        return _after_action(request, lead)
    if not request.htmx:
        messages.error(request, _("Please give the activity a subject."))
        return redirect(lead)
    return _after_action(request, lead, {"log_form": form}, status=422)


@login_required
@require_POST
def assign(request, uuid):
    lead = _lead_or_404(request, uuid)
    owner_uuid = request.POST.get("owner", "")
    owner = None
    if owner_uuid:
        owner = user_assignable_list(user=request.user).filter(uuid=owner_uuid).first()
        if owner is None:
            messages.error(request, _("You cannot assign leads to this user."))
            return _after_action(request, lead, status=422)
    services.lead_update(lead=lead, actor=request.user, changes={"owner": owner})
    messages.success(
        request,
        _("Lead assigned to %(name)s.") % {"name": owner} if owner else _("Lead unassigned."),
    )
    return _after_action(request, lead)


def _may_enter_leads(user) -> bool:
    return not (
        user.has_role(Role.PARTNER)
        and not user.has_role(
            Role.ADMIN, Role.MARKETING, Role.INSIDE_SALES, Role.SALES_REP, Role.SALES_MANAGER
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def entry(request):
    """Fast manual entry for telesales."""
    if not _may_enter_leads(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = LeadEntryForm(request.POST)
        if form.is_valid():
            try:
                result = services.lead_intake(
                    data=form.lead_in, source=LeadSource.MANUAL, actor=request.user
                )
            except DomainValidationError as exc:
                for e in exc.errors:
                    form.add_error(e.loc[0] if e.loc[0] in form.fields else None, e.msg)
            except Conflict as exc:
                form.add_error(None, exc.message)
            else:
                lead = result.lead
                messages.success(
                    request,
                    _("Lead for %(person)s created.") % {"person": lead.person}
                    if result.person_created
                    else _("Lead created and attached to the existing person %(person)s.")
                    % {"person": lead.person},
                )
                if "save_and_new" in request.POST:
                    keep = {k: request.POST.get(k, "") for k in ("channel", "campaign")}
                    return redirect(f"{reverse('leads:entry')}?{_urlencode(keep)}")
                return redirect(lead)
        status = 422
    else:
        form = LeadEntryForm(
            initial={k: request.GET.get(k) for k in ("channel", "campaign") if request.GET.get(k)}
        )
        status = 200
    return render(request, "leads/entry.html", {"form": form}, status=status)


def _urlencode(data: dict) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in data.items() if v})


# --- web forms (management) --------------------------------------------------


def _may_manage_forms(user) -> bool:
    return user.has_role(Role.ADMIN, Role.MARKETING)


@login_required
def webforms(request):
    if not _may_manage_forms(request.user):
        raise PermissionDenied
    rows = [(wf, webform_snippet(wf)) for wf in webform_list()]
    return render(request, "leads/webforms.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def webform_edit(request, uuid=None):
    if not _may_manage_forms(request.user):
        raise PermissionDenied
    instance = get_object_or_404(WebForm, uuid=uuid) if uuid else WebForm()
    form = WebFormForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        services.webform_save(webform=form.instance, actor=request.user)
        messages.success(request, _("Web form saved."))
        return redirect("leads:webforms")
    return render(
        request,
        "leads/webform_edit.html",
        {"form": form, "webform": instance if uuid else None},
        status=422 if form.errors else 200,
    )


# --- public web forms ----------------------------------------------------------


def client_ip(request) -> str:
    if settings.LEADWERK_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def _public_webform(uuid) -> WebForm:
    webform = webform_get_public(uuid=uuid)
    if webform is None:
        raise Http404
    return webform


def _activate_form_language(request, webform: WebForm) -> None:
    if webform.language:
        translation.activate(webform.language)
        request.LANGUAGE_CODE = webform.language


@xframe_options_exempt
@csrf_exempt
@require_http_methods(["GET", "POST"])
def public_form(request, uuid):
    """The embeddable form. CSRF is replaced by a signed, expiring form token."""
    webform = _public_webform(uuid)
    _activate_form_language(request, webform)
    status = 200
    if request.method == "POST":
        allowed = rate_limit_hit(
            scope=f"form:{webform.uuid}",
            ident=client_ip(request),
            limit=settings.LEADWERK_FORM_RATE_LIMIT,
            window_seconds=settings.LEADWERK_FORM_RATE_WINDOW,
        )
        if not allowed:
            return render(
                request,
                "leads/public/error.html",
                {
                    "webform": webform,
                    "message": _("Too many submissions from your network. Please try again later."),
                },
                status=429,
            )
        try:
            form_token_check(request.POST.get("token", ""), form_uuid=webform.uuid)
        except BadFormToken:
            return render(
                request,
                "leads/public/error.html",
                {
                    "webform": webform,
                    "message": _(
                        "This form has expired or is invalid. Please reload the page and try again."
                    ),
                },
                status=400,
            )
        form = PublicLeadForm(request.POST, webform=webform)
        if request.POST.get("homepage"):
            # A bot filled the honeypot: answer as if all went well, store nothing.
            return redirect("leads:public_form_thanks", uuid=webform.uuid)
        if form.is_valid():
            try:
                result = services.lead_intake(
                    data=form.lead_in,
                    source=LeadSource.FORM,
                    context={
                        "form": str(webform.uuid),
                        "form_name": webform.name,
                        "page": form.cleaned_data.get("page", ""),
                        "ip": client_ip(request),
                        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
                    },
                )
            except DomainValidationError as exc:
                form.add_error(None, str(exc))
            else:
                if form.cleaned_data.get("visitor"):
                    visitor_identify(
                        visitor_id=form.cleaned_data["visitor"], person=result.lead.person
                    )
                return redirect("leads:public_form_thanks", uuid=webform.uuid)
        status = 422
    else:
        form = PublicLeadForm(
            webform=webform,
            initial={
                "page": request.GET.get("page", "")[:500],
                "visitor": request.GET.get("vid", "")[:64],
            },
        )
    form.fields["token"].initial = form_token_issue(form_uuid=webform.uuid)
    if form.is_bound:
        data = form.data.copy()
        data["token"] = form_token_issue(form_uuid=webform.uuid)
        form.data = data
    return render(
        request, "leads/public/form.html", {"form": form, "webform": webform}, status=status
    )


@xframe_options_exempt
def public_form_thanks(request, uuid):
    webform = _public_webform(uuid)
    _activate_form_language(request, webform)
    return render(request, "leads/public/thanks.html", {"webform": webform})


def webform_snippet(webform: WebForm) -> str:
    url = f"{settings.LEADWERK_BASE_URL}{reverse('leads:public_form', args=[webform.uuid])}"
    return (
        f'<iframe src="{escape(url)}" title="{escape(webform.name)}" loading="lazy" '
        'style="width:100%;max-width:640px;height:760px;border:0"></iframe>'
    )


def health(request):
    return HttpResponse("ok", content_type="text/plain")
