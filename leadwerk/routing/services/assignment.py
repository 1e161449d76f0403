"""Assigning leads: routing a lead the moment it is ready for sales, the unassigned queue,
reassignment, and keeping assignments in step when an owner is changed by hand."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.accounts.choices import Role
from leadwerk.activities.choices import ActivityType
from leadwerk.activities.services import activity_record
from leadwerk.audit.choices import AuditAction
from leadwerk.audit.services import audit_record
from leadwerk.leads.choices import CLOSED_STAGES, Stage
from leadwerk.leads.models import Lead

from ..choices import (
    ACTIVE_ASSIGNMENT,
    AssignmentStatus,
    LedgerKind,
    NotificationKind,
    TimerState,
    Trigger,
)
from ..decision import Decision, pool_pick, routing_decide
from ..lead_facts import lead_facts
from ..lead_quality import lead_quality
from ..models import Assignment, LedgerEntry, Pool, SlaTimer, UnassignedLead
from ..notifications import notify_user
from .sla import sla_start

logger = logging.getLogger(__name__)

# Stages in which a lead is waiting for sales and can be routed.
ROUTABLE_STAGES = frozenset({Stage.NEW, Stage.MQL})
# PostgreSQL: deadlock detected, serialization failure. Such a routing run is repeated.
_RETRY_SQLSTATES = {"40P01", "40001"}
_ATTEMPTS = 3


@dataclass
class RouteOutcome:
    lead: Lead
    assignment: Assignment | None
    decision: Decision | None
    skipped: str = ""

    @property
    def queued(self) -> bool:
        return self.assignment is None and not self.skipped


def _retryable(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in _RETRY_SQLSTATES


def lead_route(
    *,
    lead_id: int,
    trigger: Trigger,
    actor=None,
    now: datetime | None = None,
    ready_at: datetime | None = None,
    exclude_user_ids: Collection[int] = (),
) -> RouteOutcome:
    """Find the owner for a lead that is ready for sales and hand it over: owner set,
    assignment on the timeline, response-time clock started, owner notified. A lead nobody
    can take goes to the unassigned queue and the managers are alerted. A lead that already
    has an owner, or is no longer waiting for sales, is left alone."""
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return _route(
                    lead_id=lead_id,
                    trigger=trigger,
                    actor=actor,
                    now=now or timezone.now(),
                    ready_at=ready_at,
                    exclude_user_ids=exclude_user_ids,
                )
        except OperationalError as exc:
            if attempt + 1 < _ATTEMPTS and _retryable(exc):
                logger.info("routing lead %s: %s; trying again", lead_id, exc)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _locked_lead(lead_id: int) -> Lead:
    return (
        Lead.objects.select_for_update(of=("self",))
        .select_related("person", "company", "channel", "campaign", "owner")
        .get(pk=lead_id)
    )


def _route(
    *,
    lead_id: int,
    trigger: Trigger,
    actor,
    now: datetime,
    ready_at: datetime | None,
    exclude_user_ids: Collection[int],
) -> RouteOutcome:
    lead = _locked_lead(lead_id)
    if lead.owner_id is not None:
        return RouteOutcome(lead, None, None, skipped="the lead has an owner")
    if lead.stage not in ROUTABLE_STAGES:
        return RouteOutcome(lead, None, None, skipped=f"the lead is in stage {lead.stage}")
    queued = UnassignedLead.objects.filter(lead=lead, resolved_at__isnull=True).first()
    if ready_at is None:
        ready_at = queued.entered_at if queued else now
    facts = lead_facts(lead)
    decision = routing_decide(
        facts=facts, lead_key=str(lead.uuid), now=now, lock=True, exclude_user_ids=exclude_user_ids
    )
    if decision.user is None:
        _queue(lead=lead, decision=decision, trigger=trigger, now=now, entry=queued)
        return RouteOutcome(lead, None, decision)
    assignment = assignment_make(
        lead=lead,
        user=decision.user,
        pool=decision.pool,
        rule=decision.rule,
        quality=decision.quality,
        trigger=trigger,
        actor=actor,
        now=now,
        ready_at=ready_at,
        clock_start=ready_at,
        details={
            "trail": decision.trail(),
            "candidates": len(decision.pick.candidates) if decision.pick else None,
        },
        queued=queued is not None,
    )
    return RouteOutcome(lead, assignment, decision)


def assignment_make(
    *,
    lead: Lead,
    user,
    pool: Pool | None,
    rule,
    quality: float,
    trigger: Trigger,
    actor,
    now: datetime,
    ready_at: datetime,
    clock_start: datetime,
    details: dict | None = None,
    set_owner: bool = True,
    queued: bool = True,
) -> Assignment:
    """Record the hand-over of a locked ``lead`` to ``user`` (inside the caller's
    transaction): owner, team and partner on the lead, the assignment and its ledger line,
    the timeline entry, the response-time clock and the owner's notification."""
    previous_owner = lead.owner
    if set_owner:
        lead.owner = user
        lead.assigned_at = now
        lead.team = pool.team if pool is not None and pool.team_id else user.team
        lead.partner = user.partner if user.partner_id else None
        lead.save(update_fields=["owner", "assigned_at", "team", "partner", "updated_at"])
    assignment = Assignment.objects.create(
        lead=lead,
        user=user,
        pool=pool,
        rule=rule,
        rule_name=rule.name if rule is not None else "",
        trigger=trigger,
        quality=quality,
        ready_at=ready_at,
        assigned_at=now,
        assigned_by=actor,
    )
    if pool is not None:
        LedgerEntry.objects.create(
            pool=pool,
            user=user,
            kind=LedgerKind.ASSIGNMENT,
            count=1.0,
            quality=quality,
            at=now,
            lead=lead,
            assignment=assignment,
        )
    if queued:
        UnassignedLead.objects.filter(lead=lead, resolved_at__isnull=True).update(resolved_at=now)
    if set_owner:
        audit_record(
            action=AuditAction.ASSIGN,
            actor=actor,
            object_type="lead",
            object_id=lead.uuid,
            person=lead.person,
            summary=f"owner: {previous_owner or '-'} → {user} ({trigger})",
            before={"owner": str(previous_owner) if previous_owner else None},
            after={
                "owner": str(user),
                "rule": assignment.rule_name or None,
                "pool": pool.name if pool is not None else None,
            },
        )
        activity_record(
            person=lead.person,
            lead=lead,
            type=ActivityType.ASSIGNMENT,
            actor=actor,
            subject=str(user),
            payload={
                "from": str(previous_owner) if previous_owner else None,
                "to": str(user),
                "trigger": trigger,
                "rule": assignment.rule_name or None,
                "pool": pool.name if pool is not None else None,
                "quality": round(quality, 3),
                **(details or {}),
            },
            occurred_at=now,
        )
    timer = sla_start(assignment=assignment, lead=lead, clock_start=clock_start, now=now)
    if actor is None or actor.pk != user.pk:
        notify_user(
            user=user,
            kind=NotificationKind.ASSIGNED,
            lead=lead,
            context={"assignment": assignment, "timer": timer},
        )
    return assignment


def _alert_recipients(pools: list[Pool]) -> list:
    """Who hears about a lead nobody could take: the managers of the pools' teams, else
    every sales manager, else the admins."""
    user_model = get_user_model()
    managers = {p.team.manager for p in pools if p.team_id and p.team.manager_id}
    managers = {m for m in managers if m.is_active}
    if managers:
        return sorted(managers, key=lambda u: u.pk)
    for role in (Role.SALES_MANAGER, Role.ADMIN):
        found = list(user_model.objects.filter(is_active=True, groups__name=role).order_by("pk"))
        if found:
            return found
    return list(user_model.objects.filter(is_active=True, is_superuser=True).order_by("pk"))


def _queue(
    *, lead: Lead, decision: Decision, trigger: Trigger, now: datetime, entry: UnassignedLead | None
) -> UnassignedLead:
    """Put a lead nobody can take into the visible unassigned queue and alert the managers."""
    first_time = entry is None
    teams = [p.team for p in decision.alert_pools if p.team_id]
    if lead.team_id is None and teams:
        # The team whose pool should have taken the lead owns the problem (and sees it).
        lead.team = teams[0]
        lead.save(update_fields=["team", "updated_at"])
    if entry is None:
        entry = UnassignedLead.objects.create(
            lead=lead, trigger=trigger, entered_at=now, reasons=decision.trail()
        )
    else:
        entry.reasons = decision.trail()
        entry.save(update_fields=["reasons"])
    activity_record(
        person=lead.person,
        lead=lead,
        type=ActivityType.ASSIGNMENT,
        subject=_("Unassigned: no rule and no member could take the lead"),
        payload={"to": None, "trigger": trigger, "queued": True, "trail": decision.trail()},
        occurred_at=now,
    )
    if first_time:
        for manager in _alert_recipients(decision.alert_pools):
            notify_user(
                user=manager,
                kind=NotificationKind.UNASSIGNED,
                lead=lead,
                context={"trail": decision.trail()},
            )
    if decision.retry_at is not None:
        from ..tasks import route_again

        route_again.using(run_after=decision.retry_at).enqueue(lead_id=str(lead.uuid))
    return entry


def lead_route_again(*, lead_uuid: str, actor=None) -> str:
    """Route a lead from the unassigned queue once more (task or "route again" button)."""
    lead_id = Lead.objects.filter(uuid=lead_uuid).values_list("pk", flat=True).first()
    if lead_id is None:
        return "gone"
    outcome = lead_route(lead_id=lead_id, trigger=Trigger.RETRY, actor=actor)
    if outcome.skipped:
        return "skipped"
    return "assigned" if outcome.assignment else "queued"


def ledger_reverse(*, assignment: Assignment, now: datetime) -> None:
    """Take a pool lead back out of its member's ledger (returned, reassigned, released)."""
    if assignment.pool_id is None:
        return
    LedgerEntry.objects.create(
        pool_id=assignment.pool_id,
        user_id=assignment.user_id,
        kind=LedgerKind.REVERSAL,
        count=-1.0,
        quality=-assignment.quality,
        at=now,
        lead_id=assignment.lead_id,
        assignment=assignment,
    )


def timers_stop(*, lead: Lead, reason: str, now: datetime, keep_owner_id: int | None = None):
    """Stop the running clocks of a lead (those of ``keep_owner_id`` excepted)."""
    qs = SlaTimer.objects.filter(lead=lead, state=TimerState.RUNNING)
    if keep_owner_id is not None:
        qs = qs.exclude(owner_id=keep_owner_id)
    qs.update(state=TimerState.CANCELLED, stopped_at=now, stop_reason=reason)


def lead_reassign(*, lead_id: int, timer: SlaTimer, now: datetime) -> Assignment | None:
    """Hand a lead whose owner missed the response time to the next fair member of the same
    pool (inside the caller's transaction; the lead row is locked). None when nobody can
    take it or the lead did not come from a pool."""
    lead = _locked_lead(lead_id)
    old = timer.assignment
    if old.pool_id is None:
        _sla_note(lead, now, "reassign_impossible", _("No pool to reassign from."))
        return None
    pool = Pool.objects.select_related("team").get(pk=old.pool_id)
    outcome = pool_pick(
        pool,
        quality=old.quality,
        lead_key=f"{lead.uuid}:{now.isoformat()}",
        now=now,
        lock=True,
        exclude_user_ids={old.user_id},
    )
    if outcome.user is None:
        _sla_note(
            lead,
            now,
            "reassign_impossible",
            _("Reassignment not possible: %(why)s") % {"why": outcome.detail},
        )
        return None
    old.status = AssignmentStatus.REASSIGNED
    old.ended_at = now
    old.save(update_fields=["status", "ended_at"])
    ledger_reverse(assignment=old, now=now)
    timer.state = TimerState.CANCELLED
    timer.stopped_at = now
    timer.stop_reason = "reassigned"
    timer.save(update_fields=["state", "stopped_at", "stop_reason"])
    new_user = outcome.user
    _sla_note(
        lead,
        now,
        "reassigned",
        _("Reassigned from %(old)s to %(new)s: no response in time.")
        % {"old": old.user, "new": new_user},
    )
    notify_user(
        user=old.user,
        kind=NotificationKind.REASSIGNED_AWAY,
        lead=lead,
        context={"new_owner": new_user},
    )
    return assignment_make(
        lead=lead,
        user=new_user,
        pool=pool,
        rule=old.rule,
        quality=old.quality,
        trigger=Trigger.REASSIGNMENT,
        actor=None,
        now=now,
        ready_at=old.ready_at,
        clock_start=now,
        details={"candidates": len(outcome.pick.candidates)},
    )


def _sla_note(lead: Lead, now: datetime, step: str, subject: str, **payload) -> None:
    activity_record(
        person=lead.person,
        lead=lead,
        type=ActivityType.SLA,
        subject=subject,
        payload={"step": step, **payload},
        occurred_at=now,
    )


def lead_owner_changed(*, lead: Lead, actor, now: datetime | None = None) -> Assignment | None:
    """Keep assignments, ledger and clocks in step with an owner set by hand (called by
    ``lead_update`` inside its transaction, after it saved the new owner)."""
    now = now or timezone.now()
    active = list(
        Assignment.objects.filter(lead=lead, status__in=ACTIVE_ASSIGNMENT).select_related("user")
    )
    for assignment in active:
        if assignment.user_id != lead.owner_id:
            assignment.status = AssignmentStatus.RELEASED
            assignment.ended_at = now
            assignment.save(update_fields=["status", "ended_at"])
            ledger_reverse(assignment=assignment, now=now)
    timers_stop(lead=lead, reason="owner changed", now=now, keep_owner_id=lead.owner_id)
    if lead.owner_id is None or any(a.user_id == lead.owner_id for a in active):
        return None
    if lead.stage in CLOSED_STAGES:
        return None
    queued = UnassignedLead.objects.filter(lead=lead, resolved_at__isnull=True).first()
    ready_at = queued.entered_at if queued else now
    first = Assignment.objects.filter(lead=lead).order_by("assigned_at").first()
    if first is not None:
        ready_at = min(ready_at, first.ready_at)
    return assignment_make(
        lead=lead,
        user=lead.owner,
        pool=None,
        rule=None,
        quality=lead_quality(lead_facts(lead)),
        trigger=Trigger.MANUAL,
        actor=actor,
        now=now,
        ready_at=ready_at,
        clock_start=queued.entered_at if queued else now,
        set_owner=False,
    )
