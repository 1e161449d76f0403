"""Lead pages: inbox, detail with actions, telesales entry, public web forms."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode
from uuid import UUID

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.html import escape, format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from leadwerk.accounts.choices import Role
from leadwerk.accounts.selectors import user_assignable_list
from leadwerk.activities.choices import ActivityType
from leadwerk.activities.selectors import activity_timeline
from leadwerk.campaigns.selectors import campaign_list, channel_list
from leadwerk.consent.choices import ConsentSource, ContactChannel, Purpose
from leadwerk.consent.services import consent_doi_start
from leadwerk.contacts.selectors import contact_fields_limited, person_find_by_email
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.pagination import PAGE_SIZES, paginate
from leadwerk.throttle.services import rate_limit_hit

from . import services
from .choices import REASON_REQUIRED, TRANSITIONS, LeadSource, Stage
from .forms import (
    PUBLIC_RESUBMIT_FIELDS,
    LeadEntryForm,
    LogActivityForm,
    PublicLeadForm,
    TransitionForm,
    WebFormForm,
)
from .models import WebForm
from .public_forms import BadFormToken, form_token_check, form_token_issue
from .selectors import (
    DEFAULT_SORT,
    SORTS,
    LeadFilters,
    lead_get,
    lead_list,
    lead_stage_counts,
    user_may_create_leads,
    webform_get_public,
    webform_list,
)

logger = logging.getLogger(__name__)

AGES = {
    "today": (gettext_lazy("today"), None),
    "7d": (gettext_lazy("last 7 days"), timedelta(days=7)),
    "30d": (gettext_lazy("last 30 days"), timedelta(days=30)),
    "90d": (gettext_lazy("last 90 days"), timedelta(days=90)),
}
AGE_OLDER = "older"
# Columns of the inbox a click on the header sorts by, and their first direction.
SORT_COLUMNS = {
    "name": "name",
    "company": "company",
    "stage": "stage",
    "channel": "channel",
    "owner": "owner",
    "created": "-created",
    "score": "-score",
}


def _filters_from(request) -> tuple[LeadFilters, dict]:
    g = request.GET
    stages = [s for s in g.getlist("stage") if s in Stage.values]
    owner = g.get("owner", "")
    if owner not in ("", "me", "none"):
        try:
            owner = str(UUID(owner))
        except ValueError:
            owner = ""
    age = g.get("age", "")
    now = timezone.now()
    created_from = created_to = None
    if age == "today":
        created_from = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    elif age in AGES:
        created_from = now - AGES[age][1]
    elif age == AGE_OLDER:
        created_to = now - timedelta(days=90)
    else:
        age = ""
    sort = g.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    filters = LeadFilters(
        stages=stages or None,
        owner=owner,
        channel=g.get("channel", "")[:50],
        campaign=g.get("campaign", "")[:80],
        created_from=created_from,
        created_to=created_to,
        q=g.get("q", "").strip()[:200],
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


def _query(request, *, drop: tuple[str, ...] = (), **set_values) -> str:
    """The current query string without ``drop`` and empty values, with ``set_values``."""
    query = request.GET.copy()
    for key in (*drop, *set_values):
        query.pop(key, None)
    for key in list(query):
        values = [v for v in query.getlist(key) if v]
        if values:
            query.setlist(key, values)
        else:
            query.pop(key)
    for key, value in set_values.items():
        query[key] = value
    return query.urlencode()


def _sort_links(request, current: str) -> dict:
    links = {}
    for column, first in SORT_COLUMNS.items():
        if current == column:
            following, direction = f"-{column}", "ascending"
        elif current == f"-{column}":
            following, direction = column, "descending"
        else:
            following, direction = first, ""
        links[column] = {
            "query": _query(request, drop=("page",), sort=following),
            "direction": direction,
        }
    return links


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """One URL answers a full page or a partial: caches must keep them apart."""
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _wants_partial(request, target: str) -> bool:
    return bool(
        request.htmx and not request.htmx.history_restore_request and request.htmx.target == target
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def inbox(request):
    filters, raw = _filters_from(request)
    per_page = _int(request.GET.get("per_page"), PAGE_SIZES[0])
    if per_page not in PAGE_SIZES:
        per_page = PAGE_SIZES[0]
    page = paginate(
        lead_list(user=request.user, filters=filters),
        page=_int(request.GET.get("page"), 1),
        size=per_page,
    )
    counts = lead_stage_counts(user=request.user, filters=filters)
    filtered = any(
        (filters.stages, filters.owner, filters.channel, filters.campaign, raw["age"], filters.q)
    )
    context = {
        "page": page,
        "filters": filters,
        "raw": raw,
        "filtered": filtered,
        "stages": [(s, label, counts.get(s, 0)) for s, label in Stage.choices],
        "total": sum(counts.values()),
        "channels": channel_list(),
        "campaigns": campaign_list().order_by("channel__rank", "channel__name", "name"),
        "owners": user_assignable_list(user=request.user),
        "ages": [(k, v[0]) for k, v in AGES.items()] + [(AGE_OLDER, _("older than 90 days"))],
        "per_page": per_page,
        "page_sizes": PAGE_SIZES,
        # Pagination keeps every filter; stage tabs keep every filter but the stage.
        "query": _query(request, drop=("page",)),
        "tab_query": _query(request, drop=("page", "stage")),
        "sort_links": _sort_links(request, filters.sort),
        "may_enter": _may_enter_leads(request.user),
    }
    if _wants_partial(request, "lead-table"):
        return _vary_on_htmx(render(request, "leads/partials/inbox_table.html", context))
    return _vary_on_htmx(render(request, "leads/inbox.html", context))


def _detail_context(request, lead, **extra) -> dict:
    allowed = sorted(TRANSITIONS[lead.stage], key=Stage.values.index)
    return {
        "lead": lead,
        "timeline": activity_timeline(user=request.user, lead=lead),
        "transitions": [(s, Stage(s).label, s in REASON_REQUIRED) for s in allowed],
        "transition_form": extra.pop("transition_form", TransitionForm()),
        "log_form": extra.pop("log_form", LogActivityForm()),
        "owners": user_assignable_list(user=request.user),
        "limited": contact_fields_limited(request.user),
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
@require_http_methods(["GET", "HEAD"])
def detail(request, uuid):
    lead = _lead_or_404(request, uuid)
    return render(request, "leads/detail.html", _detail_context(request, lead))


def _after_action(request, lead, form_errors: dict | None = None, status: int = 200):
    """Answer an action: the refreshed lead panel for htmx, else a redirect to the lead."""
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
        to_stage = form.cleaned_data["to"]
        try:
            services.lead_transition(
                lead=lead, to_stage=to_stage, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except Conflict as exc:
            form.add_error("to", exc.message)
        except DomainValidationError as exc:
            for error in exc.errors:
                form.add_error("reason" if error.loc == ("reason",) else "to", error.msg)
        else:
            messages.success(
                request, _("Stage changed to %(stage)s.") % {"stage": Stage(to_stage).label}
            )
            return _after_action(request, lead)
    if not request.htmx:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(lead)
    return _after_action(request, lead, {"transition_form": form}, status=422)


@login_required
@require_POST
def log_activity(request, uuid):
    lead = _lead_or_404(request, uuid)
    form = LogActivityForm(request.POST)
    if form.is_valid():
        activity_type = ActivityType(form.cleaned_data["type"])
        services.lead_log_activity(
            lead=lead,
            actor=request.user,
            type=activity_type,
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            restricted=form.cleaned_data["restricted"],
        )
        messages.success(request, _("%(activity)s logged.") % {"activity": activity_type.label})
        return _after_action(request, lead)
    if not request.htmx:
        for name, errors in form.errors.items():
            for error in errors:
                label = form.fields[name].label if name in form.fields else ""
                messages.error(request, f"{label}: {error}" if label else error)
        return redirect(lead)
    return _after_action(request, lead, {"log_form": form}, status=422)


@login_required
@require_POST
def assign(request, uuid):
    lead = _lead_or_404(request, uuid)
    owner_uuid = request.POST.get("owner", "")
    owner = None
    if owner_uuid:
        try:
            owner = user_assignable_list(user=request.user).filter(uuid=UUID(owner_uuid)).first()
        except ValueError:
            owner = None
        if owner is None:
            messages.error(request, _("You cannot assign leads to this user."))
            return _after_action(request, lead, status=422)
    services.lead_update(lead=lead, actor=request.user, changes={"owner": owner})
    if owner is not None:
        messages.success(request, _("Lead assigned to %(name)s.") % {"name": owner})
    else:
        messages.success(request, _("Lead unassigned."))
    return _after_action(request, lead)


def _may_enter_leads(user) -> bool:
    """Everyone but partner staff may type in leads (partners only work the leads routed
    to their company)."""
    return user_may_create_leads(user)


@login_required
@require_http_methods(["GET", "POST"])
def entry(request):
    """Fast manual entry for telesales: one page, keyboard only, duplicate warning."""
    if not _may_enter_leads(request.user):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = LeadEntryForm(request.POST)
        if form.is_valid():
            try:
                result = services.lead_intake(
                    data=form.lead_in, source=LeadSource.MANUAL, actor=request.user
                )
            except DomainValidationError as exc:
                for e in exc.errors:
                    form.add_error(e.loc[0] if e.loc and e.loc[0] in form.fields else None, e.msg)
            except Conflict as exc:
                form.add_error(None, exc.message)
            else:
                lead = result.lead
                if result.person_created:
                    text = _("Lead for %(person)s created.")
                else:
                    text = _("Lead created and attached to the existing person %(person)s.")
                messages.success(
                    request,
                    format_html(
                        '{} <a href="{}">{}</a>',
                        text % {"person": lead.person},
                        lead.get_absolute_url(),
                        _("Open lead"),
                    ),
                )
                if "save_and_new" in request.POST:
                    keep = {
                        "channel": form.cleaned_data["channel"].slug,
                        "campaign": form.cleaned_data["campaign"].slug
                        if form.cleaned_data.get("campaign")
                        else "",
                    }
                    query = urlencode({k: v for k, v in keep.items() if v})
                    return redirect(f"{reverse('leads:entry')}?{query}")
                return redirect(lead)
        status = 422
    else:
        form = LeadEntryForm(
            initial={k: request.GET[k][:80] for k in ("channel", "campaign") if request.GET.get(k)}
        )
    duplicate = None
    if form.is_bound and form.data.get("email"):
        duplicate = person_find_by_email(user=request.user, email=form.data["email"][:254])
    return render(
        request, "leads/entry.html", {"form": form, "duplicate": duplicate}, status=status
    )


# --- web forms (management) --------------------------------------------------


def _may_manage_forms(user) -> bool:
    return user.has_role(Role.ADMIN, Role.MARKETING)


@login_required
@require_http_methods(["GET", "HEAD"])
def webforms(request):
    if not _may_manage_forms(request.user):
        raise PermissionDenied
    rows = [(wf, webform_snippet(wf), webform_url(wf)) for wf in webform_list()]
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
        messages.success(request, _("Web form “%(name)s” saved.") % {"name": form.instance.name})
        return redirect("leads:webforms")
    return render(
        request,
        "leads/webform_edit.html",
        {
            "form": form,
            "webform": instance if uuid else None,
            "snippet": webform_snippet(instance) if uuid else "",
        },
        status=422 if form.errors else 200,
    )


# --- public web forms ----------------------------------------------------------

_TOKEN_PROBLEMS = {
    "expired": gettext_lazy(
        "This form was open too long and has expired. Your entries are still here: "
        "please send the form again."
    ),
    "too_fast": gettext_lazy(
        "The form was sent faster than a person can fill it in. Please check your "
        "entries and send the form again."
    ),
    "invalid": gettext_lazy(
        "This form could not be verified (its security token is missing or damaged). "
        "Please send it again from this page."
    ),
    "other_form": gettext_lazy(
        "This submission belongs to a different form. Please send it again from this page."
    ),
}


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
    """A form with a fixed language speaks it; otherwise LocaleMiddleware has already
    chosen the language the visitor's browser asks for."""
    if webform.language:
        translation.activate(webform.language)
        request.LANGUAGE_CODE = webform.language


# Embedded in customers' websites: any site may frame the form (the app itself: none).
EMBEDDABLE_CSP = {"frame-ancestors": ["*"]}


def _render_public_form(request, webform, form, *, status=200, problem=""):
    """The form with a fresh token (also after an error, so the visitor can send again)."""
    token = form_token_issue(form_uuid=webform.uuid)
    if form.is_bound:
        data = form.data.copy()
        data["token"] = token
        data["homepage"] = ""
        form.data = data
    else:
        form.initial["token"] = token
    return render(
        request,
        "leads/public/form.html",
        {"form": form, "webform": webform, "problem": problem},
        status=status,
    )


@xframe_options_exempt
@csp_replace(EMBEDDABLE_CSP)
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def public_form(request, uuid):
    """The embeddable form. CSRF is replaced by a signed, expiring form token, so the form
    works inside an iframe on another site; a honeypot and a per-IP limit keep bots out."""
    webform = _public_webform(uuid)
    _activate_form_language(request, webform)
    if request.method != "POST":
        form = PublicLeadForm(
            webform=webform,
            initial={
                "page": request.GET.get("page", "")[:500],
                # the website tracking snippet's visitor id (see static/leadwerk/track.js)
                "visitor": request.GET.get("vid", "")[:64],
            },
        )
        return _render_public_form(request, webform, form)

    allowed = rate_limit_hit(
        scope=f"form:{webform.uuid}",
        ident=client_ip(request),
        limit=settings.LEADWERK_FORM_RATE_LIMIT,
        window_seconds=settings.LEADWERK_FORM_RATE_WINDOW,
    )
    if not allowed:
        response = render(
            request,
            "leads/public/error.html",
            {
                "webform": webform,
                "message": _("Too many submissions from your network. Please try again later."),
            },
            status=429,
        )
        response["Retry-After"] = str(settings.LEADWERK_FORM_RATE_WINDOW)
        return response
    try:
        form_token_check(request.POST.get("token", ""), form_uuid=webform.uuid)
    except BadFormToken as exc:
        # Nothing is stored; the visitor gets the form back with their entries.
        form = PublicLeadForm(
            webform=webform,
            initial={k: request.POST.get(k, "")[:10_000] for k in PUBLIC_RESUBMIT_FIELDS},
        )
        return _render_public_form(
            request, webform, form, status=400, problem=_TOKEN_PROBLEMS[exc.reason]
        )
    if request.POST.get("homepage"):
        # A bot filled the honeypot: answer as if all went well, store nothing.
        return redirect("leads:public_form_thanks", uuid=webform.uuid)
    form = PublicLeadForm(request.POST, webform=webform)
    if form.is_valid():
        ip, user_agent = client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:300]
        try:
            # The inquiry and the newsletter request are kept together or not at all.
            with transaction.atomic():
                result = services.lead_intake(
                    data=form.lead_in,
                    source=LeadSource.FORM,
                    context={
                        "form": str(webform.uuid),
                        "form_name": webform.name,
                        "page": form.cleaned_data.get("page", ""),
                        "ip": ip,
                        "user_agent": user_agent,
                    },
                    visitor_id=form.cleaned_data.get("visitor", ""),
                )
                if form.cleaned_data.get("newsletter"):
                    _newsletter_doi_start(
                        person=result.lead.person,
                        text=form.newsletter_text,
                        webform=webform,
                        ip=ip,
                        user_agent=user_agent,
                    )
        except DomainValidationError as exc:
            # The form's channel or campaign was switched off after the page was rendered.
            logger.warning("web form %s refused a submission: %s", webform.uuid, exc)
            form.add_error(
                None,
                _("This form cannot take inquiries at the moment. Please contact us another way."),
            )
        else:
            return redirect("leads:public_form_thanks", uuid=webform.uuid)
    return _render_public_form(request, webform, form, status=422)


def _newsletter_doi_start(*, person, text, webform: WebForm, ip: str, user_agent: str) -> None:
    """The visitor ticked the newsletter box: record the request as pending with the text
    they saw and mail the confirmation link (double opt-in). Someone who confirmed before
    keeps their consent; the inquiry is stored all the same."""
    try:
        with transaction.atomic():
            consent_doi_start(
                person=person,
                purpose=Purpose.NEWSLETTER,
                channel=ContactChannel.EMAIL,
                source=ConsentSource.FORM,
                text=text,
                evidence=f"{webform.name} ({webform.uuid})"[:300],
                ip=ip,
                user_agent=user_agent,
            )
    except Conflict:
        pass  # already granted


@xframe_options_exempt
@csp_replace(EMBEDDABLE_CSP)
@require_http_methods(["GET", "HEAD"])
def public_form_thanks(request, uuid):
    webform = _public_webform(uuid)
    _activate_form_language(request, webform)
    return render(request, "leads/public/thanks.html", {"webform": webform})


def webform_url(webform: WebForm) -> str:
    return f"{settings.LEADWERK_BASE_URL}{reverse('leads:public_form', args=[webform.uuid])}"


def webform_snippet(webform: WebForm) -> str:
    """The HTML a marketing team pastes into its website (shown escaped, as text)."""
    return (
        f'<iframe src="{escape(webform_url(webform))}" title="{escape(webform.name)}" '
        'loading="lazy" style="width:100%;max-width:640px;height:760px;border:0"></iframe>'
    )


def health(request):
    return HttpResponse("ok", content_type="text/plain")
