"""Reads of the routing app, scoped to the acting user where they touch leads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from leadwerk.accounts.choices import Role
from leadwerk.leads.choices import Stage
from leadwerk.leads.models import Lead
from leadwerk.leads.selectors import lead_scope

from .choices import ACTIVE_ASSIGNMENT, TimerState
from .models import (
    Absence,
    Assignment,
    BusinessCalendar,
    LeadRejection,
    Notification,
    Pool,
    PoolMember,
    RejectionReason,
    RoutingChannelPolicy,
    RoutingRule,
    SlaPolicy,
    SlaTimer,
    UnassignedLead,
)

# Stages in which a lead without owner is waiting for one (closed or recycled leads are not).
WAITING_FOR_OWNER = (Stage.NEW, Stage.MQL)

# --- who may do what -------------------------------------------------------------------------


def may_manage_routing(user) -> bool:
    """Rules, pools, calendars and policies: sales managers and admins."""
    return user.is_active and (user.is_superuser or user.has_role(Role.ADMIN, Role.SALES_MANAGER))


def may_see_routing_reports(user) -> bool:
    return user.is_active and (
        user.is_superuser or user.has_role(Role.ADMIN, Role.SALES_MANAGER, Role.MARKETING)
    )


def may_manage_absences_of(user, other) -> bool:
    """Everyone their own; managers those of their teams; admins everyone's."""
    if user.pk == other.pk:
        return True
    if user.is_superuser or user.has_role(Role.ADMIN):
        return True
    return bool(
        user.has_role(Role.SALES_MANAGER) and other.team_id and other.team.manager_id == user.pk
    )


# --- configuration ---------------------------------------------------------------------------


def rule_list() -> QuerySet[RoutingRule]:
    return RoutingRule.objects.select_related("target_user", "target_pool").order_by(
        "is_default", "position", "id"
    )


def pool_list() -> QuerySet[Pool]:
    members = PoolMember.objects.select_related("user", "user__partner", "calendar").order_by(
        "user__last_name", "user__first_name", "user__username"
    )
    return Pool.objects.select_related("team", "calendar").prefetch_related(
        Prefetch("members", queryset=members)
    )


def pool_get(*, uuid) -> Pool | None:
    return pool_list().filter(uuid=uuid).first()


def calendar_list() -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.prefetch_related("hours", "company_holidays")


def sla_policy_list() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.select_related("channel").order_by(
        "channel__rank", "channel__name", "label"
    )


def rejection_reason_list(*, active_only: bool = False) -> QuerySet[RejectionReason]:
    qs = RejectionReason.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def channel_policies() -> dict[int, bool]:
    """Channel id -> whether it routes at intake."""
    return dict(RoutingChannelPolicy.objects.values_list("channel_id", "route_at_intake"))


def absence_list(*, user, include_past: bool = False) -> QuerySet[Absence]:
    """The absences ``user`` may see: their own, their teams' (managers), all (admins)."""
    qs = Absence.objects.select_related("user")
    if not include_past:
        qs = qs.filter(ends_at__gt=timezone.now())
    if user.is_superuser or user.has_role(Role.ADMIN):
        return qs
    q = Q(user=user)
    if user.has_role(Role.SALES_MANAGER):
        q |= Q(user__team__manager=user)
    return qs.filter(q)


# --- leads -----------------------------------------------------------------------------------


@dataclass
class LeadRouting:
    """What the lead page shows about routing: the current assignment and its clock."""

    assignment: Assignment | None
    timer: SlaTimer | None
    can_answer: bool  # the viewer owns it and has not accepted yet
    can_return: bool
    time_left_minutes: float | None


def lead_routing(*, lead: Lead, user) -> LeadRouting:
    """Routing facts of a lead the caller already got through ``lead_get``."""
    if lead.owner_id is None:  # no owner, no current assignment: nothing to read
        return LeadRouting(None, None, False, False, None)
    assignment = (
        Assignment.objects.filter(lead=lead, status__in=ACTIVE_ASSIGNMENT)
        .select_related("pool", "user")
        .order_by("-assigned_at")
        .first()
    )
    timer = None
    if assignment is not None:
        timer = SlaTimer.objects.filter(assignment=assignment).select_related("calendar").first()
    can_answer = bool(
        assignment is not None
        and assignment.user_id == user.pk
        and assignment.status == "open"
        and lead.stage in (Stage.NEW, Stage.MQL, Stage.RECYCLED)
    )
    left = None
    if timer is not None and timer.state == TimerState.RUNNING:
        from .calendars import calendar_clock

        clock = calendar_clock(timer.calendar)
        now = timezone.now()
        left = (
            clock.minutes_between(now, timer.due_at)
            if timer.due_at > now
            else -clock.minutes_between(timer.due_at, now)
        )
    return LeadRouting(
        assignment=assignment,
        timer=timer,
        can_answer=can_answer,
        can_return=can_answer and bool(user.partner_id),
        time_left_minutes=left,
    )


def unassigned_queue(*, user) -> list[dict]:
    """Leads waiting for an owner that ``user`` may see: those in the unassigned queue, and
    MQLs without owner that routing has not reached (e.g. routing failed); oldest first."""
    visible = lead_scope(user=user)
    entries = list(
        UnassignedLead.objects.filter(resolved_at__isnull=True, lead__in=visible)
        .filter(lead__owner__isnull=True, lead__stage__in=WAITING_FOR_OWNER)
        .select_related("lead", "lead__person", "lead__company", "lead__channel")
        .order_by("entered_at", "id")
    )
    queued_ids = {e.lead_id for e in entries}
    strays = (
        visible.filter(stage=Stage.MQL, owner__isnull=True)
        .exclude(pk__in=queued_ids)
        .exclude(pk__in=UnassignedLead.objects.filter(resolved_at__isnull=True).values("lead"))
        .select_related("person", "company", "channel")
        .order_by("stage_changed_at")[:500]
    )
    rows = [
        {"lead": e.lead, "since": e.entered_at, "reasons": e.reasons, "entry": e} for e in entries
    ]
    rows += [
        {
            "lead": lead,
            "since": lead.stage_changed_at or lead.created_at,
            "reasons": [],
            "entry": None,
        }
        for lead in strays
    ]
    rows.sort(key=lambda r: r["since"])
    return rows


def unassigned_count(*, user) -> int:
    """How many leads wait in ``user``'s view of the unassigned queue (the nav badge)."""
    visible = lead_scope(user=user)
    queued = UnassignedLead.objects.filter(
        resolved_at__isnull=True,
        lead__in=visible,
        lead__owner__isnull=True,
        lead__stage__in=WAITING_FOR_OWNER,
    )
    strays = visible.filter(stage=Stage.MQL, owner__isnull=True).exclude(
        pk__in=UnassignedLead.objects.filter(resolved_at__isnull=True).values("lead")
    )
    return queued.count() + strays.count()


def rejection_list(
    *, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[LeadRejection]:
    """Rejections and returns with their reasons (for the scoring feedback report)."""
    qs = LeadRejection.objects.select_related("reason", "by", "lead", "lead__channel")
    if start is not None:
        qs = qs.filter(at__gte=start)
    if end is not None:
        qs = qs.filter(at__lt=end)
    return qs


# --- notifications ---------------------------------------------------------------------------


def notification_unread_count(*, user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user).select_related("lead", "lead__person")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")
