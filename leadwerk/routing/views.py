"""Routing pages: rules with their test, pools with the fairness report, absences, business
calendars, response-time and rejection settings, the unassigned queue, SLA reports, the
notifications inbox and the owner's answer to a lead."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from leadwerk.accounts.models import Team
from leadwerk.campaigns.models import Channel
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.leads.selectors import lead_get

from . import services
from .business_calendar import CalendarError, public_holidays
from .choices import Trigger
from .conditions import conditions_explain
from .decision import routing_decide
from .forms import (
    AbsenceForm,
    AcceptForm,
    CalendarForm,
    MemberEditForm,
    MemberForm,
    PeriodForm,
    PoolForm,
    ReasonForm,
    RejectForm,
    RuleForm,
    RuleTestForm,
    SlaPolicyForm,
    add_domain_errors,
    calendar_error_field,
    rule_error_field,
)
from .lead_facts import facts_from_sample
from .models import (
    BusinessCalendar,
    PoolMember,
    RejectionReason,
    RoutingRule,
    SlaPolicy,
    TeamCalendar,
)
from .notifications import notification_read
from .reports import DIMENSIONS, fairness_report, sla_report, waiting_now
from .selectors import (
    absence_list,
    calendar_list,
    channel_policies,
    may_manage_absences_of,
    may_manage_routing,
    may_see_routing_reports,
    notification_list,
    notification_unread_count,
    pool_get,
    pool_list,
    rejection_reason_list,
    rule_list,
    sla_policy_list,
    unassigned_count,
    unassigned_queue,
)


def _manager(request) -> None:
    if not may_manage_routing(request.user):
        raise PermissionDenied


def _reports(request) -> None:
    if not may_see_routing_reports(request.user):
        raise PermissionDenied


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _period(request) -> tuple[PeriodForm, datetime, datetime]:
    form = PeriodForm(request.GET or None)
    today = timezone.now().astimezone(_zone()).date()
    first, last = today.replace(month=1, day=1), today
    if form.is_valid():
        first = form.cleaned_data.get("start") or first
        last = form.cleaned_data.get("end") or last
        if last < first:
            form.add_error("end", _("The end is before the start."))
            last = first
    start = datetime.combine(first, time(0), tzinfo=_zone()).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=_zone()).astimezone(UTC)
    if not form.is_bound:
        form = PeriodForm(initial={"start": first, "end": last})
    return form, start, end


# --- rules ----------------------------------------------------------------------------------


@login_required
def rules(request):
    _manager(request)
    return render(
        request,
        "routing/rules.html",
        {"rules": rule_list(), "test_form": RuleTestForm(), "result": None},
    )


def _test_result(request, form: RuleTestForm, rule: RoutingRule | None) -> dict | None:
    if not form.is_valid():
        return None
    facts = facts_from_sample(form.sample())
    decision = routing_decide(facts=facts, lead_key="rule-test", now=timezone.now())
    checks = conditions_explain(rule.conditions, facts) if rule is not None else []
    return {
        "rule": rule,
        "matches": (rule.is_default or all(c.ok for c in checks)) if rule is not None else None,
        "checks": checks,
        "decision": decision,
    }


@login_required
@require_POST
def rule_test(request, uuid=None):
    """The test button: which rule and person a made-up lead would go to."""
    _manager(request)
    rule = get_object_or_404(RoutingRule, uuid=uuid) if uuid else None
    form = RuleTestForm(request.POST)
    result = _test_result(request, form, rule)
    context = {"rules": rule_list(), "test_form": form, "result": result, "tested": rule}
    if request.htmx:
        return render(request, "routing/partials/rule_test_result.html", context)
    return render(request, "routing/rules.html", context, status=200 if result else 422)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request, uuid=None):
    _manager(request)
    rule = get_object_or_404(RoutingRule, uuid=uuid) if uuid else None
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.rule_save(
                    rule=rule,
                    name=d["name"],
                    conditions=form.conditions(),
                    target_type=d["target_type"],
                    target_user=d.get("target_user"),
                    target_pool=d.get("target_pool"),
                    is_active=d["is_active"],
                    is_default=rule.is_default if rule else "is_default" in request.POST,
                )
            except DomainValidationError as exc:
                add_domain_errors(form, exc, rule_error_field)
            except Conflict as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Rule saved."))
                return redirect("routing:rules")
    else:
        form = RuleForm(initial=RuleForm.initial_for(rule) if rule else {"is_active": True})
    return render(
        request,
        "routing/rule_edit.html",
        {"form": form, "rule": rule, "condition_fields": form.condition_fields()},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def rule_move(request, uuid):
    _manager(request)
    rule = get_object_or_404(RoutingRule, uuid=uuid)
    ordered = [r for r in rule_list() if not r.is_default]
    index = next((i for i, r in enumerate(ordered) if r.pk == rule.pk), 0)
    step = -1 if request.POST.get("direction") == "up" else 1
    try:
        services.rule_move(rule=rule, position=max(1, index + 1 + step))
    except Conflict as exc:
        messages.error(request, exc.message)
    return redirect("routing:rules")


@login_required
@require_POST
def rule_delete(request, uuid):
    _manager(request)
    rule = get_object_or_404(RoutingRule, uuid=uuid)
    services.rule_delete(rule=rule)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("routing:rules")


# --- pools ----------------------------------------------------------------------------------


@login_required
def pools(request):
    _manager(request)
    return render(request, "routing/pools.html", {"pools": pool_list()})


@login_required
@require_http_methods(["GET", "POST"])
def pool_edit(request, uuid=None):
    _manager(request)
    pool = pool_get(uuid=uuid) if uuid else None
    if uuid and pool is None:
        raise Http404
    if request.method == "POST":
        form = PoolForm(request.POST)
        if form.is_valid():
            try:
                pool = services.pool_save(pool=pool, **form.cleaned_data)
            except DomainValidationError as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("Pool saved."))
                return redirect("routing:pool_detail", uuid=pool.uuid)
    else:
        initial = {"is_active": True, "horizon": "year"}
        if pool is not None:
            initial = {
                f: getattr(pool, f)
                for f in (
                    "name",
                    "kind",
                    "team",
                    "calendar",
                    "horizon",
                    "horizon_days",
                    "is_active",
                )
            }
        form = PoolForm(initial=initial)
    return render(
        request,
        "routing/pool_edit.html",
        {"form": form, "pool": pool},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def pool_detail(request, uuid):
    """A pool's members (add, change, remove) and its fairness report for any period."""
    _reports(request)
    pool = pool_get(uuid=uuid)
    if pool is None:
        raise Http404
    add_form = MemberForm()
    if request.method == "POST":
        _manager(request)
        add_form = MemberForm(request.POST)
        if add_form.is_valid():
            try:
                services.pool_member_add(pool=pool, **add_form.cleaned_data)
            except DomainValidationError as exc:
                add_domain_errors(add_form, exc)
            except Conflict as exc:
                add_form.add_error("user", exc.message)
            else:
                messages.success(request, _("Member added."))
                return redirect("routing:pool_detail", uuid=pool.uuid)
    period_form, start, end = _period(request)
    report = fairness_report(pool=pool, start=start, end=end)
    return render(
        request,
        "routing/pool_detail.html",
        {
            "pool": pool,
            "add_form": add_form,
            "period_form": period_form,
            "report": report,
            "may_manage": may_manage_routing(request.user),
        },
        status=422 if add_form.errors else 200,
    )


@login_required
@require_POST
def member_edit(request, uuid, user_uuid):
    _manager(request)
    member = get_object_or_404(
        PoolMember.objects.select_related("pool", "user"), pool__uuid=uuid, user__uuid=user_uuid
    )
    if "remove" in request.POST:
        services.pool_member_remove(member=member)
        messages.success(request, _("%(user)s left the pool.") % {"user": member.user})
        return redirect("routing:pool_detail", uuid=uuid)
    form = MemberEditForm(request.POST)
    if form.is_valid():
        try:
            services.pool_member_update(
                member=member,
                share=form.cleaned_data["share"],
                capacity=form.cleaned_data["capacity"],
                is_active=form.cleaned_data["is_active"],
            )
        except DomainValidationError as exc:
            for error in exc.errors:
                messages.error(request, f"{member.user}: {error.msg}")
        else:
            messages.success(request, _("%(user)s updated.") % {"user": member.user})
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"{member.user}: {error}")
    return redirect("routing:pool_detail", uuid=uuid)


# --- absences -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def absences(request):
    form = AbsenceForm(request.POST or None, initial={"user": request.user})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if not may_manage_absences_of(request.user, d["user"]):
            raise PermissionDenied
        try:
            services.absence_create(
                user=d["user"],
                starts_at=d["starts_at"],
                ends_at=d["ends_at"],
                note=d["note"],
                actor=request.user,
            )
        except DomainValidationError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Absence recorded."))
            return redirect("routing:absences")
    return render(
        request,
        "routing/absences.html",
        {"form": form, "absences": absence_list(user=request.user).order_by("starts_at")},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def absence_delete(request, uuid):
    absence = absence_list(user=request.user, include_past=True).filter(uuid=uuid).first()
    if absence is None:
        raise Http404
    services.absence_delete(absence=absence)
    messages.success(request, _("Absence deleted."))
    return redirect("routing:absences")


# --- calendars ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def calendars(request):
    _manager(request)
    if request.method == "POST":
        team = get_object_or_404(Team, uuid=request.POST.get("team"))
        cal_uuid = request.POST.get("calendar")
        calendar = get_object_or_404(BusinessCalendar, uuid=cal_uuid) if cal_uuid else None
        services.team_calendar_set(team=team, calendar=calendar)
        messages.success(request, _("Calendar of %(team)s saved.") % {"team": team})
        return redirect("routing:calendars")
    team_calendars = dict(TeamCalendar.objects.values_list("team_id", "calendar_id"))
    teams = [(t, team_calendars.get(t.pk)) for t in Team.objects.order_by("name")]
    return render(request, "routing/calendars.html", {"calendars": calendar_list(), "teams": teams})


@login_required
@require_http_methods(["GET", "POST"])
def calendar_edit(request, uuid=None):
    _manager(request)
    calendar = calendar_list().filter(uuid=uuid).first() if uuid else None
    if uuid and calendar is None:
        raise Http404
    if request.method == "POST":
        form = CalendarForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                calendar = services.calendar_save(
                    calendar=calendar,
                    name=d["name"],
                    time_zone=d["time_zone"],
                    country=d["country"],
                    subdivision=d["subdivision"],
                    is_default=d["is_default"],
                    hours=d["hours"],
                    company_holidays=d["holidays"],
                )
            except DomainValidationError as exc:
                add_domain_errors(form, exc, calendar_error_field)
            else:
                messages.success(request, _("Calendar saved."))
                return redirect("routing:calendar_edit", uuid=calendar.uuid)
    else:
        form = CalendarForm(
            initial=CalendarForm.initial_for(calendar)
            if calendar
            else {
                **{f"hours_{d}": "08:00-17:00" for d in range(5)},
                "country": "DE",
                "time_zone": "Europe/Berlin",
            }
        )
    year = timezone.now().astimezone(_zone()).year
    holidays = []
    if calendar is not None:
        try:
            holidays = (
                sorted(public_holidays(calendar.country, calendar.subdivision, year).items())
                if calendar.country
                else []
            )
        except CalendarError:
            holidays = []
    return render(
        request,
        "routing/calendar_edit.html",
        {"form": form, "calendar": calendar, "holidays": holidays, "year": year},
        status=422 if form.errors else 200,
    )


# --- response-time, channel and rejection settings -----------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def sla_settings(request):
    _manager(request)
    policy = None
    if request.GET.get("policy"):
        policy = get_object_or_404(SlaPolicy, uuid=request.GET["policy"])
    form = SlaPolicyForm(request.POST or None, initial=_policy_initial(policy))
    reason_form = ReasonForm(prefix="reason")
    if request.method == "POST" and "route_at_intake" in request.POST:
        chosen = set(request.POST.getlist("route_at_intake_channel"))
        for channel in Channel.objects.all():
            services.channel_policy_set(channel=channel, route_at_intake=channel.slug in chosen)
        messages.success(request, _("Channels saved."))
        return redirect("routing:settings")
    if request.method == "POST" and "reason-code" in request.POST:
        form = SlaPolicyForm(initial=_policy_initial(None))
        reason_form = ReasonForm(request.POST, prefix="reason")
        if reason_form.is_valid():
            d = reason_form.cleaned_data
            try:
                services.rejection_reason_save(
                    reason=RejectionReason.objects.filter(code=d["code"]).first(), **d
                )
            except DomainValidationError as exc:
                add_domain_errors(reason_form, exc)
            else:
                messages.success(request, _("Reason saved."))
                return redirect("routing:settings")
    elif request.method == "POST" and "delete_policy" in request.POST:
        services.sla_policy_delete(
            policy=get_object_or_404(SlaPolicy, uuid=request.POST["delete_policy"])
        )
        messages.success(request, _("Policy deleted."))
        return redirect("routing:settings")
    elif request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.sla_policy_save(
                policy=policy,
                channel=d["channel"],
                label=d["label"],
                response_value=d["response_value"],
                response_unit=d["response_unit"],
                reminder_percents=d["reminder_percents"],
                escalate=d["escalate"],
                reassign_after_minutes=d["reassign_after_minutes"],
            )
        except DomainValidationError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Policy saved."))
            return redirect("routing:settings")
    policies = channel_policies()
    return render(
        request,
        "routing/settings.html",
        {
            "form": form,
            "policy": policy,
            "policies": sla_policy_list(),
            "channels": [(c, policies.get(c.pk, False)) for c in Channel.objects.all()],
            "reasons": rejection_reason_list(),
            "reason_form": reason_form,
        },
        status=422 if form.errors or reason_form.errors else 200,
    )


def _policy_initial(policy) -> dict:
    if policy is None:
        return {
            "response_value": 1,
            "response_unit": "days",
            "reminder_percents": "50, 90",
            "escalate": True,
        }
    return {
        "channel": policy.channel_id,
        "label": policy.label,
        "response_value": policy.response_value,
        "response_unit": policy.response_unit,
        "reminder_percents": ", ".join(str(p) for p in policy.reminder_percents),
        "escalate": policy.escalate,
        "reassign_after_minutes": policy.reassign_after_minutes,
    }


# --- queue and reports ------------------------------------------------------------------------


@login_required
def queue(request):
    _reports(request)
    rows = unassigned_queue(user=request.user)
    return render(
        request,
        "routing/queue.html",
        {"rows": rows, "may_manage": may_manage_routing(request.user)},
    )


@login_required
@require_POST
def queue_route(request, uuid=None):
    """Route one queued lead again, or all of them."""
    _manager(request)
    rows = unassigned_queue(user=request.user)
    if uuid is not None:
        rows = [r for r in rows if str(r["lead"].uuid) == str(uuid)]
        if not rows:
            raise Http404
    assigned = 0
    for row in rows:
        outcome = services.lead_route(
            lead_id=row["lead"].pk, trigger=Trigger.RETRY, actor=request.user
        )
        assigned += outcome.assignment is not None
    messages.success(
        request,
        _("%(assigned)d of %(total)d leads assigned.") % {"assigned": assigned, "total": len(rows)},
    )
    return redirect("routing:queue")


@login_required
def reports(request):
    _reports(request)
    by = request.GET.get("by", "rep")
    if by not in DIMENSIONS:
        by = "rep"
    period_form, start, end = _period(request)
    return render(
        request,
        "routing/reports.html",
        {
            "by": by,
            "dimensions": DIMENSIONS,
            "period_form": period_form,
            "rows": sla_report(user=request.user, start=start, end=end, by=by),
            "waiting": waiting_now(user=request.user, limit=100),
        },
    )


# --- notifications ----------------------------------------------------------------------------


@login_required
def badges(request):
    """The navigation's counts, fetched by the page after it loaded (and every minute)."""
    reports = may_see_routing_reports(request.user)
    return render(
        request,
        "routing/partials/badges.html",
        {
            "unread": notification_unread_count(user=request.user),
            "may_report": reports,
            "queued": unassigned_count(user=request.user) if reports else 0,
        },
    )


@login_required
def notifications(request):
    items = list(notification_list(user=request.user)[:100])
    return render(request, "routing/notifications.html", {"items": items})


@login_required
def notification_open(request, uuid):
    """Open a notification: mark it read and go to its lead."""
    items = notification_list(user=request.user).filter(uuid=uuid)
    item = items.first()
    if item is None:
        raise Http404
    notification_read(user=request.user, uuid=uuid)
    if item.lead_id:
        return redirect(item.lead)
    return redirect("routing:notifications")


@login_required
@require_POST
def notifications_read(request):
    notification_read(user=request.user)
    return redirect("routing:notifications")


# --- the owner's answer -------------------------------------------------------------------------


def _lead(request, uuid):
    lead = lead_get(user=request.user, uuid=uuid)
    if lead is None:
        raise Http404
    return lead


@login_required
@require_POST
def lead_answer(request, uuid, action: str):
    """Accept, reject or return a lead (the forms on the lead page)."""
    lead = _lead(request, uuid)
    form = {"accept": AcceptForm, "reject": RejectForm, "return": RejectForm}[action](request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(lead)
    d = form.cleaned_data
    try:
        if action == "accept":
            services.lead_accept(
                lead=lead, actor=request.user, contacted=d["contacted"], note=d["note"]
            )
            messages.success(request, _("Lead accepted."))
        elif action == "reject":
            services.lead_reject(
                lead=lead, actor=request.user, reason=d["reason"].code, text=d["text"]
            )
            messages.success(request, _("Lead rejected; it goes back to marketing."))
            return redirect("leads:inbox")
        else:
            services.lead_return(
                lead=lead, actor=request.user, reason=d["reason"].code, text=d["text"]
            )
            messages.success(request, _("Lead returned."))
            return redirect("leads:inbox")
    except DomainValidationError as exc:
        for error in exc.errors:
            messages.error(request, error.msg)
    except Conflict as exc:
        messages.error(request, exc.message)
    return redirect(lead)
