"""/api/v1/routing/… (rules, pools, calendars, policies, queue, reports), the owner's answers
to a lead (/api/v1/leads/{id}/accept|reject|return|route) and /api/v1/notifications."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from leadwerk.accounts.models import Team
from leadwerk.campaigns.models import Channel
from leadwerk.contacts.selectors import company_get
from leadwerk.errors import DomainValidationError, FieldError
from leadwerk.leads.schemas import MessageOut, ValidationErrorOut, user_ref
from leadwerk.leads.selectors import lead_get

from . import services
from .business_calendar import public_holidays
from .calendars import calendar_clock
from .choices import Trigger
from .conditions import conditions_explain
from .decision import routing_decide
from .lead_facts import facts_from_sample, lead_facts
from .models import Absence, BusinessCalendar, Notification, PoolMember, RejectionReason, SlaPolicy
from .notifications import notification_read
from .reports import DIMENSIONS, fairness_report, sla_report, waiting_now
from .schemas import (
    AbsenceIn,
    AbsenceOut,
    AcceptIn,
    AccountIn,
    AccountOut,
    AssignmentOut,
    CalendarIn,
    CalendarOut,
    ChannelPolicyIn,
    ChannelPolicyOut,
    DueOut,
    FairnessOut,
    HolidayOut,
    IsoDate,
    IsoDateTime,
    MemberIn,
    MemberPatchIn,
    NotificationOut,
    PoolIn,
    PoolOut,
    QueueItemOut,
    ReasonIn,
    ReasonOut,
    RejectIn,
    RouteOut,
    RuleIn,
    RuleMoveIn,
    RuleOut,
    RulePatchIn,
    RuleTestIn,
    RuleTestOut,
    SlaPolicyIn,
    SlaPolicyOut,
    SlaRowOut,
    TeamCalendarIn,
    WaitingOut,
)
from .selectors import (
    absence_list,
    calendar_list,
    channel_policies,
    lead_routing,
    may_manage_absences_of,
    may_manage_routing,
    may_see_routing_reports,
    notification_list,
    pool_get,
    pool_list,
    rejection_reason_list,
    rule_list,
    sla_policy_list,
    unassigned_queue,
)

router = Router(tags=["routing"])

ERRORS = {
    400: MessageOut,
    401: MessageOut,
    403: MessageOut,
    404: MessageOut,
    409: MessageOut,
    413: MessageOut,
    422: ValidationErrorOut,
}


def _manager(request: HttpRequest) -> None:
    if not may_manage_routing(request.user):
        raise HttpError(403, "only sales managers and admins may change routing")


def _reports(request: HttpRequest) -> None:
    if not may_see_routing_reports(request.user):
        raise HttpError(403, "only sales managers, marketing and admins see routing reports")


def _user_by_uuid(value: UUID | None, loc: tuple):
    if value is None:
        return None
    user = get_user_model().objects.select_related("partner", "team").filter(uuid=value).first()
    if user is None:
        raise DomainValidationError([FieldError(loc, f"unknown user '{value}'", "unknown")])
    return user


def _pool_by_uuid(value: UUID | None, loc: tuple):
    if value is None:
        return None
    pool = pool_get(uuid=value)
    if pool is None:
        raise DomainValidationError([FieldError(loc, f"unknown pool '{value}'", "unknown")])
    return pool


def _calendar_by_uuid(value: UUID | None, loc: tuple):
    if value is None:
        return None
    calendar = BusinessCalendar.objects.filter(uuid=value).first()
    if calendar is None:
        raise DomainValidationError([FieldError(loc, f"unknown calendar '{value}'", "unknown")])
    return calendar


def _lead_or_404(request: HttpRequest, lead_id: UUID):
    lead = lead_get(user=request.user, uuid=lead_id)
    if lead is None:
        raise Http404("lead not found")
    return lead


# --- rules -----------------------------------------------------------------------------------


def rule_out(rule) -> dict:
    return {
        "id": rule.uuid,
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "is_default": rule.is_default,
        "conditions": rule.conditions,
        "target_type": rule.target_type,
        "target_user": user_ref(rule.target_user),
        "target_pool": {"id": rule.target_pool.uuid, "name": rule.target_pool.name}
        if rule.target_pool_id
        else None,
    }


def _rule_or_404(rule_id: UUID):
    rule = rule_list().filter(uuid=rule_id).first()
    if rule is None:
        raise Http404("rule not found")
    return rule


@router.get("/routing/rules", response={200: list[RuleOut], **ERRORS}, summary="Routing rules")
def list_rules(request: HttpRequest):
    _manager(request)
    return [rule_out(r) for r in rule_list()]


def _resolved(value: UUID | None, resolve, loc: tuple, errors: list[FieldError]):
    """Resolve an id, collecting the error instead of raising it (so that one answer names
    every problem of a request)."""
    try:
        return resolve(value, loc)
    except DomainValidationError as exc:
        errors.extend(exc.errors)
        return None


def _save_rule(rule, *, errors: list[FieldError], **kwargs):
    """Save through the service; refuse with the resolution errors and the service's own
    together, writing nothing."""
    try:
        with transaction.atomic():
            saved = services.rule_save(rule=rule, **kwargs)
            if errors:
                raise DomainValidationError(errors)
    except DomainValidationError as exc:
        mine = {e.loc for e in errors}
        merged = errors + [e for e in exc.errors if e.loc not in mine and e not in errors]
        raise DomainValidationError(merged) from None
    return saved


@router.post("/routing/rules", response={201: RuleOut, **ERRORS}, summary="Create a rule")
def create_rule(request: HttpRequest, payload: RuleIn):
    _manager(request)
    errors: list[FieldError] = []
    rule = _save_rule(
        None,
        errors=errors,
        name=payload.name,
        conditions=payload.conditions,
        target_type=payload.target_type,
        target_user=_resolved(payload.target_user, _user_by_uuid, ("target_user",), errors),
        target_pool=_resolved(payload.target_pool, _pool_by_uuid, ("target_pool",), errors),
        is_active=payload.is_active,
        is_default=payload.is_default,
    )
    return Status(201, rule_out(_rule_or_404(rule.uuid)))


@router.get("/routing/rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="One rule")
def get_rule(request: HttpRequest, rule_id: UUID):
    _manager(request)
    return rule_out(_rule_or_404(rule_id))


@router.patch("/routing/rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="Edit a rule")
def patch_rule(request: HttpRequest, rule_id: UUID, payload: RulePatchIn):
    _manager(request)
    rule = _rule_or_404(rule_id)
    data = payload.model_dump(exclude_unset=True)
    errors: list[FieldError] = []
    _save_rule(
        rule,
        errors=errors,
        name=data.get("name", rule.name),
        conditions=data.get("conditions", rule.conditions),
        target_type=data.get("target_type", rule.target_type),
        target_user=_resolved(data["target_user"], _user_by_uuid, ("target_user",), errors)
        if "target_user" in data
        else rule.target_user,
        target_pool=_resolved(data["target_pool"], _pool_by_uuid, ("target_pool",), errors)
        if "target_pool" in data
        else rule.target_pool,
        is_active=data.get("is_active", rule.is_active),
        is_default=rule.is_default,
    )
    return rule_out(_rule_or_404(rule_id))


@router.post(
    "/routing/rules/{rule_id}/move", response={200: list[RuleOut], **ERRORS}, summary="Reorder"
)
def move_rule(request: HttpRequest, rule_id: UUID, payload: RuleMoveIn):
    _manager(request)
    services.rule_move(rule=_rule_or_404(rule_id), position=payload.position)
    return [rule_out(r) for r in rule_list()]


@router.delete("/routing/rules/{rule_id}", response={204: None, **ERRORS}, summary="Delete a rule")
def delete_rule(request: HttpRequest, rule_id: UUID):
    _manager(request)
    services.rule_delete(rule=_rule_or_404(rule_id))
    return Status(204, None)


def _test_facts(request: HttpRequest, payload: RuleTestIn) -> tuple[dict, str]:
    if payload.lead_id is not None:
        lead = lead_get(user=request.user, uuid=payload.lead_id)
        if lead is None:
            raise DomainValidationError([FieldError(("lead_id",), "unknown lead", "unknown")])
        return lead_facts(lead), str(lead.uuid)
    sample = payload.lead.model_dump()
    owner = _user_by_uuid(sample.pop("account_owner"), ("lead", "account_owner"))
    sample["account_owner_id"] = owner.pk if owner else None
    if sample["channel"]:
        channel = Channel.objects.filter(slug=sample["channel"]).first()
        if channel is None:
            raise DomainValidationError(
                [FieldError(("lead", "channel"), f"unknown channel '{sample['channel']}'")]
            )
        sample["channel_value"] = float(channel.value_weight)
    return facts_from_sample(sample), "rule-test"


def _decision_out(decision) -> dict:
    return {
        "rule": decision.rule.name if decision.rule else None,
        "assignee": user_ref(decision.user),
        "pool": decision.pool.name if decision.pool else None,
        "quality": round(decision.quality, 4),
        "trail": decision.trail(),
    }


def rule_test(*, request: HttpRequest, payload: RuleTestIn, rule=None) -> dict:
    facts, key = _test_facts(request, payload)
    decision = routing_decide(facts=facts, lead_key=key, now=timezone.now(), lock=False)
    if rule is None:
        return {
            "rule": None,
            "matches": None,
            "conditions": [],
            "decision": _decision_out(decision),
        }
    checks = conditions_explain(rule.conditions, facts)
    return {
        "rule": rule.name,
        "matches": rule.is_default or all(c.ok for c in checks),
        "conditions": [c.__dict__ for c in checks],
        "decision": _decision_out(decision),
    }


@router.post(
    "/routing/rules/{rule_id}/test",
    response={200: RuleTestOut, **ERRORS},
    summary="Test a rule against a lead",
    description="Shows, for an existing or a made-up lead, each condition of the rule with "
    "the lead's value, and which rule and person the lead would go to now. Changes nothing.",
)
def test_rule(request: HttpRequest, rule_id: UUID, payload: RuleTestIn):
    _manager(request)
    return rule_test(request=request, payload=payload, rule=_rule_or_404(rule_id))


@router.post(
    "/routing/test",
    response={200: RuleTestOut, **ERRORS},
    summary="Which rule and person would a lead go to now",
)
def test_all_rules(request: HttpRequest, payload: RuleTestIn):
    _manager(request)
    return rule_test(request=request, payload=payload)


# --- pools -----------------------------------------------------------------------------------


def pool_out(pool) -> dict:
    return {
        "id": pool.uuid,
        "name": pool.name,
        "kind": pool.kind,
        "team": pool.team.name if pool.team_id else None,
        "calendar": pool.calendar.name if pool.calendar_id else None,
        "horizon": pool.horizon,
        "horizon_days": pool.horizon_days,
        "is_active": pool.is_active,
        "members": [
            {
                "user": user_ref(m.user),
                "share": m.share,
                "capacity": m.capacity,
                "calendar": m.calendar.name if m.calendar_id else None,
                "is_active": m.is_active,
                "is_partner": bool(m.user.partner_id),
            }
            for m in pool.members.all()
        ],
    }


def _pool_or_404(pool_id: UUID):
    pool = pool_get(uuid=pool_id)
    if pool is None:
        raise Http404("pool not found")
    return pool


def _team(value: UUID | None):
    if value is None:
        return None
    team = Team.objects.filter(uuid=value).first()
    if team is None:
        raise DomainValidationError([FieldError(("team",), f"unknown team '{value}'", "unknown")])
    return team


@router.get("/routing/pools", response={200: list[PoolOut], **ERRORS}, summary="Pools")
def list_pools(request: HttpRequest):
    _manager(request)
    return [pool_out(p) for p in pool_list()]


@router.post("/routing/pools", response={201: PoolOut, **ERRORS}, summary="Create a pool")
def create_pool(request: HttpRequest, payload: PoolIn):
    _manager(request)
    pool = services.pool_save(
        name=payload.name,
        kind=payload.kind,
        team=_team(payload.team),
        calendar=_calendar_by_uuid(payload.calendar, ("calendar",)),
        horizon=payload.horizon,
        horizon_days=payload.horizon_days,
        is_active=payload.is_active,
    )
    return Status(201, pool_out(_pool_or_404(pool.uuid)))


@router.get("/routing/pools/{pool_id}", response={200: PoolOut, **ERRORS}, summary="One pool")
def get_pool(request: HttpRequest, pool_id: UUID):
    _manager(request)
    return pool_out(_pool_or_404(pool_id))


@router.put("/routing/pools/{pool_id}", response={200: PoolOut, **ERRORS}, summary="Change a pool")
def put_pool(request: HttpRequest, pool_id: UUID, payload: PoolIn):
    _manager(request)
    services.pool_save(
        pool=_pool_or_404(pool_id),
        name=payload.name,
        kind=payload.kind,
        team=_team(payload.team),
        calendar=_calendar_by_uuid(payload.calendar, ("calendar",)),
        horizon=payload.horizon,
        horizon_days=payload.horizon_days,
        is_active=payload.is_active,
    )
    return pool_out(_pool_or_404(pool_id))


@router.post(
    "/routing/pools/{pool_id}/members", response={201: PoolOut, **ERRORS}, summary="Add a member"
)
def add_member(request: HttpRequest, pool_id: UUID, payload: MemberIn):
    _manager(request)
    pool = _pool_or_404(pool_id)
    services.pool_member_add(
        pool=pool,
        user=_user_by_uuid(payload.user, ("user",)),
        share=payload.share,
        capacity=payload.capacity,
        calendar=_calendar_by_uuid(payload.calendar, ("calendar",)),
    )
    return Status(201, pool_out(_pool_or_404(pool_id)))


def _member_or_404(pool_id: UUID, user_id: UUID) -> PoolMember:
    member = (
        PoolMember.objects.select_related("pool", "user")
        .filter(pool__uuid=pool_id, user__uuid=user_id)
        .first()
    )
    if member is None:
        raise Http404("member not found")
    return member


@router.patch(
    "/routing/pools/{pool_id}/members/{user_id}",
    response={200: PoolOut, **ERRORS},
    summary="Change a member",
)
def patch_member(request: HttpRequest, pool_id: UUID, user_id: UUID, payload: MemberPatchIn):
    _manager(request)
    member = _member_or_404(pool_id, user_id)
    data = payload.model_dump(exclude_unset=True)
    services.pool_member_update(
        member=member,
        share=data.get("share"),
        capacity=data.get("capacity", ...),
        calendar=_calendar_by_uuid(data["calendar"], ("calendar",)) if "calendar" in data else ...,
        is_active=data.get("is_active"),
    )
    return pool_out(_pool_or_404(pool_id))


@router.delete(
    "/routing/pools/{pool_id}/members/{user_id}",
    response={204: None, **ERRORS},
    summary="Remove a member",
)
def remove_member(request: HttpRequest, pool_id: UUID, user_id: UUID):
    _manager(request)
    services.pool_member_remove(member=_member_or_404(pool_id, user_id))
    return Status(204, None)


class PeriodQuery(Schema):
    start: IsoDate | None = Field(None, description="First day (default: 1 January this year)")
    end: IsoDate | None = Field(None, description="Last day, included (default: today)")


def _period(query: PeriodQuery) -> tuple[datetime, datetime]:
    from zoneinfo import ZoneInfo

    from django.conf import settings

    zone = ZoneInfo(settings.TIME_ZONE)
    today = timezone.now().astimezone(zone).date()
    first = query.start or today.replace(month=1, day=1)
    last = query.end or today
    if last < first:
        raise DomainValidationError([FieldError(("query", "end"), "end is before start")])
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


@router.get(
    "/routing/pools/{pool_id}/fairness",
    response={200: FairnessOut, **ERRORS},
    summary="Fairness report of a pool",
    description="Per member: leads received, their quality, share of all leads against the "
    "target share; quality_gini is the spread of quality per share (0 = perfectly even).",
)
def pool_fairness(request: HttpRequest, pool_id: UUID, query: Query[PeriodQuery]):
    _reports(request)
    start, end = _period(query)
    report = fairness_report(pool=_pool_or_404(pool_id), start=start, end=end)
    return {
        "pool": report.pool.name,
        "start": report.start,
        "end": report.end,
        "total_count": report.total_count,
        "total_quality": report.total_quality,
        "quality_gini": report.quality_gini,
        "count_gini": report.count_gini,
        "mean_quality_ratio": report.mean_quality_ratio,
        "groups": report.groups,
        "rows": [
            {**r.__dict__, "user": user_ref(r.user), "mean_quality": r.mean_quality}
            for r in report.rows
        ],
    }


# --- absences --------------------------------------------------------------------------------


def absence_out(a: Absence) -> dict:
    return {
        "id": a.uuid,
        "user": user_ref(a.user),
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "note": a.note,
    }


@router.get("/routing/absences", response={200: list[AbsenceOut], **ERRORS}, summary="Absences")
def list_absences(request: HttpRequest):
    return [absence_out(a) for a in absence_list(user=request.user)]


@router.post("/routing/absences", response={201: AbsenceOut, **ERRORS}, summary="Record absence")
def create_absence(request: HttpRequest, payload: AbsenceIn):
    user = _user_by_uuid(payload.user, ("user",)) or request.user
    if not may_manage_absences_of(request.user, user):
        raise HttpError(403, "you may record absences only for yourself and your teams")
    absence = services.absence_create(
        user=user,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        note=payload.note,
        actor=request.user,
    )
    return Status(201, absence_out(absence))


@router.delete(
    "/routing/absences/{absence_id}", response={204: None, **ERRORS}, summary="Delete absence"
)
def delete_absence(request: HttpRequest, absence_id: UUID):
    absence = absence_list(user=request.user, include_past=True).filter(uuid=absence_id).first()
    if absence is None:
        raise Http404("absence not found")
    services.absence_delete(absence=absence)
    return Status(204, None)


# --- calendars -------------------------------------------------------------------------------


def calendar_out(c: BusinessCalendar) -> dict:
    return {
        "id": c.uuid,
        "name": c.name,
        "time_zone": c.time_zone,
        "country": c.country,
        "subdivision": c.subdivision,
        "is_default": c.is_default,
        "hours": [
            {
                "weekday": h.weekday,
                "starts_at": h.starts_at.strftime("%H:%M"),
                "ends_at": "24:00" if h.ends_at == time(0) else h.ends_at.strftime("%H:%M"),
            }
            for h in c.hours.all()
        ],
        "company_holidays": [{"date": h.date, "name": h.name} for h in c.company_holidays.all()],
    }


def _calendar_or_404(calendar_id: UUID) -> BusinessCalendar:
    calendar = calendar_list().filter(uuid=calendar_id).first()
    if calendar is None:
        raise Http404("calendar not found")
    return calendar


def _clock(value: str) -> time:
    """ "08:00" -> 08:00; "24:00" -> midnight, the end of the day."""
    return time(0) if value == "24:00" else time.fromisoformat(value)


def _calendar_save(payload: CalendarIn, calendar=None) -> BusinessCalendar:
    return services.calendar_save(
        calendar=calendar,
        name=payload.name,
        time_zone=payload.time_zone,
        country=payload.country,
        subdivision=payload.subdivision,
        is_default=payload.is_default,
        hours=[(h.weekday, _clock(h.starts_at), _clock(h.ends_at)) for h in payload.hours],
        company_holidays=[(h.date, h.name) for h in payload.company_holidays],
    )


@router.get("/routing/calendars", response={200: list[CalendarOut], **ERRORS}, summary="Calendars")
def list_calendars(request: HttpRequest):
    _manager(request)
    return [calendar_out(c) for c in calendar_list()]


@router.post(
    "/routing/calendars", response={201: CalendarOut, **ERRORS}, summary="Create a calendar"
)
def create_calendar(request: HttpRequest, payload: CalendarIn):
    _manager(request)
    calendar = _calendar_save(payload)
    return Status(201, calendar_out(_calendar_or_404(calendar.uuid)))


@router.put(
    "/routing/calendars/{calendar_id}",
    response={200: CalendarOut, **ERRORS},
    summary="Change a calendar",
)
def put_calendar(request: HttpRequest, calendar_id: UUID, payload: CalendarIn):
    _manager(request)
    _calendar_save(payload, _calendar_or_404(calendar_id))
    return calendar_out(_calendar_or_404(calendar_id))


class HolidaysQuery(Schema):
    year: int = Field(..., ge=1990, le=2100)


@router.get(
    "/routing/calendars/{calendar_id}/holidays",
    response={200: list[HolidayOut], **ERRORS},
    summary="Days off of one year",
)
def calendar_holidays(request: HttpRequest, calendar_id: UUID, query: Query[HolidaysQuery]):
    _manager(request)
    calendar = _calendar_or_404(calendar_id)
    days = dict(public_holidays(calendar.country, calendar.subdivision, query.year))
    for h in calendar.company_holidays.all():
        if h.date.year == query.year:
            days[h.date] = h.name
    return [{"date": d, "name": n} for d, n in sorted(days.items())]


class DueQuery(Schema):
    start: IsoDateTime
    value: int = Field(..., ge=1, le=100_000)
    unit: str = Field("days", pattern="^(minutes|hours|days)$")


@router.get(
    "/routing/calendars/{calendar_id}/due",
    response={200: DueOut, **ERRORS},
    summary="Deadline arithmetic in this calendar",
)
def calendar_due(request: HttpRequest, calendar_id: UUID, query: Query[DueQuery]):
    _manager(request)
    clock = calendar_clock(_calendar_or_404(calendar_id))
    due = clock.due(query.start, query.value, query.unit)
    return {
        "start": query.start,
        "due": due,
        "business_minutes": clock.minutes_between(clock.next_open(query.start), due),
    }


@router.put(
    "/routing/teams/{team_id}/calendar", response={204: None, **ERRORS}, summary="Team calendar"
)
def put_team_calendar(request: HttpRequest, team_id: UUID, payload: TeamCalendarIn):
    _manager(request)
    team = get_object_or_404(Team, uuid=team_id)
    services.team_calendar_set(
        team=team, calendar=_calendar_by_uuid(payload.calendar, ("calendar",))
    )
    return Status(204, None)


# --- policies --------------------------------------------------------------------------------


def sla_policy_out(p: SlaPolicy) -> dict:
    return {
        "id": p.uuid,
        "channel": p.channel.slug if p.channel_id else None,
        "label": p.label,
        "response_value": p.response_value,
        "response_unit": p.response_unit,
        "reminder_percents": p.reminder_percents,
        "escalate": p.escalate,
        "reassign_after_minutes": p.reassign_after_minutes,
        "is_active": p.is_active,
    }


def _channel(slug: str | None):
    if not slug:
        return None
    channel = Channel.objects.filter(slug=slug).first()
    if channel is None:
        raise DomainValidationError([FieldError(("channel",), f"unknown channel '{slug}'")])
    return channel


def _sla_save(payload: SlaPolicyIn, policy=None) -> SlaPolicy:
    return services.sla_policy_save(
        policy=policy,
        channel=_channel(payload.channel),
        label=payload.label,
        response_value=payload.response_value,
        response_unit=payload.response_unit,
        reminder_percents=payload.reminder_percents,
        escalate=payload.escalate,
        reassign_after_minutes=payload.reassign_after_minutes,
        is_active=payload.is_active,
    )


@router.get(
    "/routing/sla-policies", response={200: list[SlaPolicyOut], **ERRORS}, summary="SLA policies"
)
def list_sla_policies(request: HttpRequest):
    _manager(request)
    return [sla_policy_out(p) for p in sla_policy_list()]


@router.post(
    "/routing/sla-policies", response={201: SlaPolicyOut, **ERRORS}, summary="Create SLA policy"
)
def create_sla_policy(request: HttpRequest, payload: SlaPolicyIn):
    _manager(request)
    return Status(201, sla_policy_out(_sla_save(payload)))


def _sla_or_404(policy_id: UUID) -> SlaPolicy:
    policy = sla_policy_list().filter(uuid=policy_id).first()
    if policy is None:
        raise Http404("policy not found")
    return policy


@router.put(
    "/routing/sla-policies/{policy_id}",
    response={200: SlaPolicyOut, **ERRORS},
    summary="Change an SLA policy",
)
def put_sla_policy(request: HttpRequest, policy_id: UUID, payload: SlaPolicyIn):
    _manager(request)
    return sla_policy_out(_sla_save(payload, _sla_or_404(policy_id)))


@router.delete(
    "/routing/sla-policies/{policy_id}", response={204: None, **ERRORS}, summary="Delete policy"
)
def delete_sla_policy(request: HttpRequest, policy_id: UUID):
    _manager(request)
    services.sla_policy_delete(policy=_sla_or_404(policy_id))
    return Status(204, None)


def reason_out(r: RejectionReason) -> dict:
    return {f: getattr(r, f) for f in ReasonOut.model_fields}


@router.get(
    "/routing/rejection-reasons",
    response={200: list[ReasonOut], **ERRORS},
    summary="Reasons for rejecting a lead",
)
def list_reasons(request: HttpRequest):
    return [reason_out(r) for r in rejection_reason_list()]


@router.put(
    "/routing/rejection-reasons/{code}",
    response={200: ReasonOut, **ERRORS},
    summary="Create or change a rejection reason",
)
def put_reason(request: HttpRequest, code: str, payload: ReasonIn):
    _manager(request)
    if payload.code != code:
        raise DomainValidationError([FieldError(("code",), "must match the code in the path")])
    reason = services.rejection_reason_save(
        reason=RejectionReason.objects.filter(code=code).first(), **payload.model_dump()
    )
    return reason_out(reason)


@router.get(
    "/routing/channel-policies",
    response={200: list[ChannelPolicyOut], **ERRORS},
    summary="Which channels route at intake",
)
def list_channel_policies(request: HttpRequest):
    _manager(request)
    policies = channel_policies()
    return [
        {"channel": c.slug, "route_at_intake": policies.get(c.pk, False)}
        for c in Channel.objects.order_by("rank", "name")
    ]


@router.put(
    "/routing/channel-policies/{slug}",
    response={200: ChannelPolicyOut, **ERRORS},
    summary="Let a channel's leads skip marketing qualification",
)
def put_channel_policy(request: HttpRequest, slug: str, payload: ChannelPolicyIn):
    _manager(request)
    channel = get_object_or_404(Channel, slug=slug)
    policy = services.channel_policy_set(channel=channel, route_at_intake=payload.route_at_intake)
    return {"channel": channel.slug, "route_at_intake": policy.route_at_intake}


@router.put(
    "/routing/accounts/{company_id}",
    response={200: AccountOut, **ERRORS},
    summary="Mark a company as an existing customer with its account owner",
    description="Leads of existing customers can go to the account owner (rule target "
    "`account_owner`); without a recorded owner, the owner of the company's latest won lead.",
)
def put_account(request: HttpRequest, company_id: UUID, payload: AccountIn):
    _manager(request)
    company = company_get(user=request.user, uuid=company_id)
    if company is None:
        raise Http404("company not found")
    account = services.customer_account_set(
        company=company,
        owner=_user_by_uuid(payload.owner, ("owner",)),
        customer_since=payload.customer_since,
    )
    return {
        "company_id": company.uuid,
        "company": str(company),
        "owner": user_ref(account.owner),
        "customer_since": account.customer_since,
    }


# --- answering a lead ------------------------------------------------------------------------


def assignment_out(lead, user) -> dict | None:
    routing = lead_routing(lead=lead, user=user)
    a = routing.assignment
    if a is None:
        return None
    return {
        "id": a.uuid,
        "lead_id": lead.uuid,
        "user": user_ref(a.user),
        "pool": a.pool.name if a.pool_id else None,
        "rule": a.rule_name,
        "trigger": a.trigger,
        "quality": a.quality,
        "ready_at": a.ready_at,
        "assigned_at": a.assigned_at,
        "status": a.status,
        "due_at": routing.timer.due_at if routing.timer else None,
    }


@router.get(
    "/leads/{lead_id}/assignment",
    response={200: AssignmentOut, **ERRORS},
    summary="The lead's current assignment and response deadline",
)
def get_assignment(request: HttpRequest, lead_id: UUID):
    out = assignment_out(_lead_or_404(request, lead_id), request.user)
    if out is None:
        raise Http404("the lead has no current assignment")
    return out


@router.post(
    "/leads/{lead_id}/accept",
    response={200: AssignmentOut, **ERRORS},
    summary="Accept a lead (SAL)",
    description="Only the owner. With contacted=true the contact is logged as a call: the "
    "first response, which stops the response-time clock.",
)
def accept_lead(request: HttpRequest, lead_id: UUID, payload: AcceptIn):
    lead = _lead_or_404(request, lead_id)
    services.lead_accept(
        lead=lead, actor=request.user, contacted=payload.contacted, note=payload.note
    )
    return assignment_out(_lead_or_404(request, lead_id), request.user)


@router.post(
    "/leads/{lead_id}/reject",
    response={204: None, **ERRORS},
    summary="Reject a lead with a reason",
    description="Only the owner, before accepting. The reason is a code from "
    "/routing/rejection-reasons; some need a text. The lead goes back to marketing "
    "(recycled) or is disqualified, as the reason says.",
)
def reject_lead(request: HttpRequest, lead_id: UUID, payload: RejectIn):
    lead = _lead_or_404(request, lead_id)
    services.lead_reject(lead=lead, actor=request.user, reason=payload.reason, text=payload.text)
    return Status(204, None)


@router.post(
    "/leads/{lead_id}/return",
    response={204: None, **ERRORS},
    summary="Return a lead (partners)",
    description="A partner gives a lead back with a reason and a text; it is routed to the "
    "next fair member outside the partner's company.",
)
def return_lead(request: HttpRequest, lead_id: UUID, payload: RejectIn):
    lead = _lead_or_404(request, lead_id)
    services.lead_return(lead=lead, actor=request.user, reason=payload.reason, text=payload.text)
    return Status(204, None)


@router.post(
    "/leads/{lead_id}/route",
    response={200: RouteOut, **ERRORS},
    summary="Route a lead now (managers)",
    description="Runs the routing rules for a lead without owner, e.g. from the queue.",
)
def route_lead(request: HttpRequest, lead_id: UUID):
    _manager(request)
    lead = _lead_or_404(request, lead_id)
    outcome = services.lead_route(lead_id=lead.pk, trigger=Trigger.RETRY, actor=request.user)
    detail = outcome.skipped or ("assigned" if outcome.assignment else "queued")
    return {
        "lead_id": lead.uuid,
        "assigned_to": user_ref(outcome.assignment.user) if outcome.assignment else None,
        "queued": outcome.queued,
        "detail": detail,
        "trail": outcome.decision.trail() if outcome.decision else [],
    }


# --- queue and reports -----------------------------------------------------------------------


@router.get(
    "/routing/queue",
    response={200: list[QueueItemOut], **ERRORS},
    summary="Leads nobody could take",
)
def queue(request: HttpRequest):
    _reports(request)
    return [
        {
            "lead_id": row["lead"].uuid,
            "person": str(row["lead"].person),
            "company": str(row["lead"].company) if row["lead"].company_id else None,
            "channel": row["lead"].channel.slug,
            "stage": row["lead"].stage,
            "since": row["since"],
            "reasons": row["reasons"],
        }
        for row in unassigned_queue(user=request.user)
    ]


class SlaQuery(PeriodQuery):
    by: str = Field("rep", description="rep, team, partner or channel")


@router.get(
    "/routing/reports/sla",
    response={200: list[SlaRowOut], **ERRORS},
    summary="Response-time SLA by rep, team, partner or channel",
)
def report_sla(request: HttpRequest, query: Query[SlaQuery]):
    _reports(request)
    if query.by not in DIMENSIONS:
        raise DomainValidationError(
            [FieldError(("query", "by"), f"must be one of {', '.join(DIMENSIONS)}")]
        )
    start, end = _period(query)
    return [
        {
            "key": r.key,
            "label": r.label,
            "clocks": r.clocks,
            "met": r.met,
            "missed": r.missed,
            "pending": r.pending,
            "met_percent": r.met_percent,
            "median_response_minutes": r.median_response,
            "p90_response_minutes": r.p90_response,
            "median_assignment_minutes": r.median_assignment,
            "p90_assignment_minutes": r.p90_assignment,
        }
        for r in sla_report(user=request.user, start=start, end=end, by=query.by)
    ]


@router.get(
    "/routing/reports/waiting",
    response={200: list[WaitingOut], **ERRORS},
    summary="Leads waiting for a first response now, least time left first",
)
def report_waiting(request: HttpRequest):
    _reports(request)
    return [
        {
            "lead_id": w.timer.lead.uuid,
            "person": str(w.timer.lead.person),
            "company": str(w.timer.lead.company) if w.timer.lead.company_id else None,
            "channel": w.timer.lead.channel.slug,
            "owner": user_ref(w.timer.owner),
            "started_at": w.timer.started_at,
            "due_at": w.timer.due_at,
            "business_minutes_left": round(w.minutes_left, 1),
        }
        for w in waiting_now(user=request.user)
    ]


# --- notifications ---------------------------------------------------------------------------


def notification_out(n: Notification) -> dict:
    return {
        "id": n.uuid,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "lead_id": n.lead.uuid if n.lead_id else None,
        "created_at": n.created_at,
        "read_at": n.read_at,
        "emailed_at": n.emailed_at,
    }


class NotificationQuery(Schema):
    unread: bool = False


@router.get("/notifications", response={200: list[NotificationOut], **ERRORS}, summary="Your inbox")
def list_notifications(request: HttpRequest, query: Query[NotificationQuery]):
    return [
        notification_out(n)
        for n in notification_list(user=request.user, unread_only=query.unread)[:200]
    ]


@router.post(
    "/notifications/{notification_id}/read",
    response={204: None, **ERRORS},
    summary="Mark a notification read",
)
def read_notification(request: HttpRequest, notification_id: UUID):
    if not notification_read(user=request.user, uuid=notification_id):
        raise Http404("notification not found")
    return Status(204, None)


@router.post(
    "/notifications/read", response={204: None, **ERRORS}, summary="Mark all notifications read"
)
def read_all_notifications(request: HttpRequest):
    notification_read(user=request.user)
    return Status(204, None)
