"""The response-time SLA: one clock per assignment, in business time, with its steps
scheduled as background tasks when the clock starts (reminders, deadline with escalation,
optional reassignment). The clock stops at the lead's first real response."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from leadwerk.accounts.choices import Role
from leadwerk.activities.choices import ActivityType
from leadwerk.activities.services import activity_record
from leadwerk.leads.choices import CLOSED_STAGES, Stage
from leadwerk.leads.models import Lead

from ..calendars import calendar_clock, calendar_id_for, clock_for_id
from ..choices import DurationUnit, NotificationKind, TimerState, TimerStep
from ..lead_facts import scoring_facts
from ..models import Assignment, SlaPolicy, SlaTimer
from ..notifications import notify_user

# Without any policy: one business day, reminders at half and 90 % of the time.
DEFAULT_TERMS = {
    "value": 1,
    "unit": DurationUnit.DAYS.value,
    "reminders": [50, 90],
    "escalate": True,
    "reassign_after_minutes": None,
}


def sla_policy_for(*, channel_id: int | None, label: str) -> SlaPolicy | None:
    """The most specific active policy: channel and label, then label, then channel, then
    the general one."""
    label = label or ""
    rows = SlaPolicy.objects.filter(is_active=True, label__in={label, ""}).filter(
        Q(channel_id=channel_id) | Q(channel__isnull=True)
    )
    found = {(p.channel_id, p.label): p for p in rows}
    for key in ((channel_id, label), (None, label), (channel_id, ""), (None, "")):
        if key in found:
            return found[key]
    return None


def sla_terms(policy: SlaPolicy | None) -> dict:
    if policy is None:
        return dict(DEFAULT_TERMS)
    return {
        "value": policy.response_value,
        "unit": policy.response_unit,
        "reminders": sorted({int(p) for p in policy.reminder_percents if 0 < int(p) < 100}),
        "escalate": policy.escalate,
        "reassign_after_minutes": policy.reassign_after_minutes,
    }


def sla_start(
    *, assignment: Assignment, lead: Lead, clock_start: datetime, now: datetime
) -> SlaTimer | None:
    """Start the response-time clock of a new assignment (inside the caller's transaction)
    and schedule its steps. No clock when the lead already had its first response."""
    # Earlier clocks of the lead were stopped where their owner lost it (rejection, return,
    # reassignment, owner changed by hand).
    if lead.first_response_at is not None:
        return None
    label = scoring_facts(lead).get("label") or ""
    policy = sla_policy_for(channel_id=lead.channel_id, label=label)
    terms = sla_terms(policy)
    calendar_id = calendar_id_for(pool=assignment.pool, user=assignment.user)
    clock = clock_for_id(calendar_id)
    start = min(clock_start, now)
    due = clock.due(start, terms["value"], terms["unit"])
    opened = clock.next_open(start)
    total = clock.minutes_between(opened, due)
    reminders = [(p, clock.add_minutes(opened, total * p / 100)) for p in terms["reminders"]]
    reassign_at = (
        clock.add_minutes(due, terms["reassign_after_minutes"])
        if terms["reassign_after_minutes"] is not None
        else None
    )
    timer = SlaTimer.objects.create(
        lead=lead,
        assignment=assignment,
        owner_id=assignment.user_id,
        policy=policy,
        terms={**terms, "label": label},
        calendar_id=calendar_id,
        started_at=start,
        due_at=due,
        reminder_times=[{"percent": p, "at": at.isoformat()} for p, at in reminders],
        reassign_at=reassign_at,
    )
    _schedule(timer, reminders=reminders, due=due, reassign_at=reassign_at)
    return timer


def _schedule(timer: SlaTimer, *, reminders, due: datetime, reassign_at: datetime | None) -> None:
    """Enqueue the clock's steps with ``run_after``. With the database task backend the
    rows commit together with the clock: no clock without its steps, even after a crash."""
    from ..tasks import sla_step

    tid = str(timer.uuid)
    for percent, at in reminders:
        sla_step.using(run_after=at).enqueue(timer_id=tid, step=TimerStep.REMINDER, percent=percent)
    sla_step.using(run_after=due).enqueue(timer_id=tid, step=TimerStep.BREACH)
    if reassign_at is not None:
        sla_step.using(run_after=reassign_at).enqueue(timer_id=tid, step=TimerStep.REASSIGN)


def _note(lead: Lead, at: datetime, subject: str, **payload) -> None:
    activity_record(
        person=lead.person,
        lead=lead,
        type=ActivityType.SLA,
        subject=subject,
        payload=payload,
        occurred_at=at,
    )


def _duration_text(minutes: float) -> str:
    minutes = int(round(minutes))
    hours, mins = divmod(minutes, 60)
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": mins}
    return _("%(m)d min") % {"m": mins}


def sla_response_recorded(*, lead: Lead, at: datetime) -> None:
    """Stop the running clocks of a lead at its first real response (called by
    ``lead_log_activity`` inside its transaction)."""
    timers = list(
        SlaTimer.objects.select_for_update(of=("self",))
        .filter(lead=lead, state=TimerState.RUNNING)
        .select_related("calendar")
    )
    for timer in timers:
        timer.state = TimerState.RESPONDED
        timer.responded_at = at
        timer.stopped_at = at
        timer.stop_reason = "first response"
        timer.save(update_fields=["state", "responded_at", "stopped_at", "stop_reason"])
        clock = calendar_clock(timer.calendar)
        used = clock.minutes_between(timer.started_at, at)
        in_time = at <= timer.due_at
        _note(
            lead,
            at,
            (
                _("First response after %(used)s business time: in time.")
                if in_time
                else _("First response after %(used)s business time: too late.")
            )
            % {"used": _duration_text(used)},
            step="responded",
            in_time=in_time,
            business_minutes=round(used, 1),
            due_at=timer.due_at,
        )


def escalation_manager(timer: SlaTimer):
    """Who hears about a missed response time: the manager of the pool's team, else of the
    owner's team, else the first sales manager."""
    pool = timer.assignment.pool
    for team in (pool.team if pool is not None else None, timer.owner.team):
        if team is not None and team.manager_id and team.manager.is_active:
            return team.manager
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.SALES_MANAGER)
        .order_by("pk")
        .first()
    )


def sla_step_run(
    *, timer_uuid: str, step: str, percent: int | None = None, now: datetime | None = None
) -> str:
    """Run one scheduled step of a clock. Idempotent: a step that ran, a clock that stopped,
    a lead that has responded, changed owner or closed leave nothing to do."""
    now = now or timezone.now()
    with transaction.atomic():
        timer = (
            SlaTimer.objects.select_for_update(of=("self",))
            .select_related("assignment", "assignment__pool", "owner", "calendar")
            .filter(uuid=timer_uuid)
            .first()
        )
        if timer is None:
            return "gone"
        if timer.state != TimerState.RUNNING:
            return "stopped"
        lead = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("person")
            .get(pk=timer.lead_id)
        )
        if lead.first_response_at is not None:
            sla_response_recorded(lead=lead, at=lead.first_response_at)
            return "responded"
        if (
            lead.owner_id != timer.owner_id
            or lead.stage in CLOSED_STAGES
            or lead.stage == Stage.RECYCLED
        ):
            timer.state = TimerState.CANCELLED
            timer.stopped_at = now
            timer.stop_reason = "no longer the owner's open lead"
            timer.save(update_fields=["state", "stopped_at", "stop_reason"])
            return "cancelled"
        if step == TimerStep.REMINDER:
            return _remind(timer, lead, percent or 0, now)
        if step == TimerStep.BREACH:
            return _breach(timer, lead, now)
        if step == TimerStep.REASSIGN:
            from .assignment import lead_reassign

            new = lead_reassign(lead_id=lead.pk, timer=timer, now=now)
            return "reassigned" if new is not None else "kept"
        raise ValueError(f"unknown step '{step}'")


def _remind(timer: SlaTimer, lead: Lead, percent: int, now: datetime) -> str:
    if percent in timer.reminders_sent:
        return "done before"
    timer.reminders_sent = [*timer.reminders_sent, percent]
    timer.save(update_fields=["reminders_sent"])
    _note(
        lead,
        now,
        _("Reminder to %(owner)s: %(percent)d %% of the response time used, due %(due)s.")
        % {"owner": timer.owner, "percent": percent, "due": _local_text(timer.due_at)},
        step="reminder",
        percent=percent,
        due_at=timer.due_at,
    )
    notify_user(
        user=timer.owner,
        kind=NotificationKind.REMINDER,
        lead=lead,
        context={"timer": timer, "percent": percent},
    )
    return "reminded"


def _breach(timer: SlaTimer, lead: Lead, now: datetime) -> str:
    if timer.breached_at is not None:
        return "done before"
    timer.breached_at = now
    fields = ["breached_at"]
    manager = escalation_manager(timer) if timer.terms.get("escalate", True) else None
    if manager is not None:
        timer.escalated_to = manager
        fields.append("escalated_to")
    timer.save(update_fields=fields)
    if manager is not None:
        subject = _("Response time missed by %(owner)s; escalated to %(manager)s.") % {
            "owner": timer.owner,
            "manager": manager,
        }
    else:
        subject = _("Response time missed by %(owner)s.") % {"owner": timer.owner}
    _note(
        lead,
        now,
        subject,
        step="breach",
        due_at=timer.due_at,
        escalated_to=str(manager) if manager else None,
    )
    if manager is not None:
        notify_user(
            user=manager,
            kind=NotificationKind.ESCALATION,
            lead=lead,
            context={"timer": timer},
        )
    return "escalated" if manager is not None else "breached"


def _local_text(at: datetime) -> str:
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%d.%m.%Y %H:%M")


def reminder_instants(timer: SlaTimer) -> list[tuple[int, datetime]]:
    return [(r["percent"], parse_datetime(r["at"])) for r in timer.reminder_times]
