"""Reports: fairness per pool, response-time SLA by rep, team, partner and channel, and the
leads waiting for a response right now."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.leads.choices import CLOSED_STAGES, Stage
from leadwerk.leads.selectors import lead_scope

from .calendars import calendar_clock, calendar_clocks
from .choices import LedgerKind, TimerState, Trigger
from .fairness import gini, max_min_ratio
from .models import Assignment, LedgerEntry, Pool, SlaTimer

# --- fairness --------------------------------------------------------------------------------


@dataclass
class FairnessRow:
    user: object
    is_partner: bool
    is_member: bool
    share: float | None
    count: float
    quality: float
    target_share: float | None
    actual_share: float | None
    quality_share: float | None

    @property
    def mean_quality(self) -> float | None:
        return self.quality / self.count if self.count > 0 else None


@dataclass
class FairnessReport:
    pool: Pool
    start: datetime
    end: datetime
    rows: list[FairnessRow]
    total_count: float
    total_quality: float
    quality_gini: float  # Gini of quality per share across active members: 0 = perfectly fair
    count_gini: float
    mean_quality_ratio: float | None  # highest over lowest mean quality among members
    groups: dict[str, dict] = field(default_factory=dict)


def fairness_report(*, pool: Pool, start: datetime, end: datetime) -> FairnessReport:
    """Per member: leads received, their quality, the share of all leads against the target
    share, for any period; and one spread figure (Gini of quality per share)."""
    totals = {
        r["user_id"]: (r["c"] or 0.0, r["q"] or 0.0)
        for r in LedgerEntry.objects.filter(pool=pool, at__gte=start, at__lt=end)
        .exclude(kind=LedgerKind.OPENING)
        .values("user_id")
        .annotate(c=Sum("count"), q=Sum("quality"))
    }
    members = {m.user_id: m for m in pool.members.select_related("user", "user__partner")}
    active_share = sum(float(m.share) for m in members.values() if m.is_active)
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=set(totals) | set(members))}
    total_count = sum(c for c, _q in totals.values())
    total_quality = sum(q for _c, q in totals.values())
    rows = []
    for user_id, user in users.items():
        member = members.get(user_id)
        count, quality = totals.get(user_id, (0.0, 0.0))
        active = member is not None and member.is_active
        share = float(member.share) if member is not None else None
        rows.append(
            FairnessRow(
                user=user,
                is_partner=bool(user.partner_id),
                is_member=active,
                share=share,
                count=round(count, 6),
                quality=quality,
                target_share=share / active_share if active and active_share else None,
                actual_share=count / total_count if total_count else None,
                quality_share=quality / total_quality if total_quality else None,
            )
        )
    rows.sort(key=lambda r: (not r.is_member, str(r.user)))
    active_rows = [r for r in rows if r.is_member]
    groups: dict[str, dict] = {}
    for name, is_partner in (("direct", False), ("partner", True)):
        group = [r for r in active_rows if r.is_partner == is_partner]
        if group:
            c = sum(r.count for r in group)
            q = sum(r.quality for r in group)
            groups[name] = {
                "members": len(group),
                "count": c,
                "mean_quality": q / c if c else None,
                "share": sum(r.share for r in group) / active_share if active_share else None,
            }
    means = [r.mean_quality for r in active_rows if r.mean_quality is not None]
    return FairnessReport(
        pool=pool,
        start=start,
        end=end,
        rows=rows,
        total_count=total_count,
        total_quality=total_quality,
        quality_gini=gini([r.quality / r.share for r in active_rows]),
        count_gini=gini([r.count / r.share for r in active_rows]),
        mean_quality_ratio=max_min_ratio(means) if len(means) == len(active_rows) else None,
        groups=groups,
    )


# --- response-time SLA -----------------------------------------------------------------------

DIMENSIONS = ("rep", "team", "partner", "channel")


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


@dataclass
class SlaRow:
    key: str
    label: str
    clocks: int = 0
    met: int = 0
    missed: int = 0
    pending: int = 0
    response_minutes: list[float] = field(default_factory=list)
    assignment_minutes: list[float] = field(default_factory=list)

    @property
    def met_percent(self) -> float | None:
        decided = self.met + self.missed
        return 100.0 * self.met / decided if decided else None

    @property
    def median_response(self) -> float | None:
        return statistics.median(self.response_minutes) if self.response_minutes else None

    @property
    def p90_response(self) -> float | None:
        return percentile(self.response_minutes, 90)

    @property
    def median_assignment(self) -> float | None:
        return statistics.median(self.assignment_minutes) if self.assignment_minutes else None

    @property
    def p90_assignment(self) -> float | None:
        return percentile(self.assignment_minutes, 90)


def _group(dimension: str, *, owner, lead) -> tuple[str, str]:
    if dimension == "rep":
        return str(owner.uuid), str(owner)
    if dimension == "team":
        team = lead.team or owner.team
        return (str(team.uuid), team.name) if team else ("", _("no team"))
    if dimension == "partner":
        partner = owner.partner
        return (str(partner.uuid), partner.name) if partner else ("", _("direct sales"))
    if dimension == "channel":
        return lead.channel.slug, lead.channel.name
    raise ValueError(f"unknown dimension '{dimension}'")


def sla_report(
    *, user, start: datetime, end: datetime, by: str, now: datetime | None = None
) -> list[SlaRow]:
    """Response-time figures for the clocks started in [start, end) on leads ``user`` may
    see, grouped by rep, team, partner or channel.

    A clock is met when the first response came by its deadline, missed when it came later
    or the deadline has passed without one; clocks stopped before their deadline without a
    response (lead rejected, returned or given to someone else in time) are not counted.
    Times are wall-clock minutes: to first response from the start of the clock, to
    assignment from the moment the lead was ready for sales."""
    if by not in DIMENSIONS:
        raise ValueError(f"by must be one of {', '.join(DIMENSIONS)}")
    now = now or timezone.now()
    visible = lead_scope(user=user)
    rows: dict[str, SlaRow] = {}

    def row(key: str, label: str) -> SlaRow:
        if key not in rows:
            rows[key] = SlaRow(key=key, label=label)
        return rows[key]

    timers = (
        SlaTimer.objects.filter(started_at__gte=start, started_at__lt=end, lead__in=visible)
        .select_related(
            "owner", "owner__team", "owner__partner", "lead", "lead__channel", "lead__team"
        )
        .order_by("started_at", "id")
    )
    for timer in timers:
        met = timer.responded_at is not None and timer.responded_at <= timer.due_at
        late = timer.responded_at is not None and timer.responded_at > timer.due_at
        stopped_early = (
            timer.state == TimerState.CANCELLED
            and timer.responded_at is None
            and timer.stopped_at is not None
            and timer.stopped_at < timer.due_at
        )
        if stopped_early:
            continue
        r = row(*_group(by, owner=timer.owner, lead=timer.lead))
        r.clocks += 1
        if met:
            r.met += 1
        elif late or timer.due_at <= now:
            r.missed += 1
        else:
            r.pending += 1
        if timer.responded_at is not None:
            r.response_minutes.append((timer.responded_at - timer.started_at).total_seconds() / 60)
    firsts = (
        Assignment.objects.filter(
            assigned_at__gte=start,
            assigned_at__lt=end,
            lead__in=visible,
            trigger__in=[Trigger.MQL, Trigger.INTAKE, Trigger.RETRY, Trigger.MANUAL],
        )
        .select_related(
            "user", "user__team", "user__partner", "lead", "lead__channel", "lead__team"
        )
        .order_by("assigned_at", "id")
    )
    seen: set[int] = set()
    for a in firsts:
        if a.lead_id in seen:
            continue
        seen.add(a.lead_id)
        r = row(*_group(by, owner=a.user, lead=a.lead))
        r.assignment_minutes.append((a.assigned_at - a.ready_at).total_seconds() / 60)
    return sorted(rows.values(), key=lambda r: r.label.casefold())


@dataclass
class Waiting:
    timer: SlaTimer
    minutes_left: float  # business minutes; negative when overdue


def waiting_now(*, user, limit: int = 500, now: datetime | None = None) -> list[Waiting]:
    """Leads waiting for their first response now, the least time left first."""
    now = now or timezone.now()
    timers = list(
        SlaTimer.objects.filter(
            state=TimerState.RUNNING,
            lead__in=lead_scope(user=user),
            lead__first_response_at__isnull=True,
        )
        .exclude(lead__stage__in=[*CLOSED_STAGES, Stage.RECYCLED])
        .select_related("owner", "lead", "lead__person", "lead__company", "lead__channel")
        .order_by("due_at", "id")[: limit * 2]
    )
    timers = [t for t in timers if t.lead.owner_id == t.owner_id]
    clocks = calendar_clocks(t.calendar_id for t in timers)
    result = []
    for t in timers:
        clock = clocks.get(t.calendar_id)
        if clock is None:  # the clock's calendar was deleted: the default one
            clock = clocks.setdefault(t.calendar_id, calendar_clock(None))
        if t.due_at > now:
            left = clock.minutes_between(now, t.due_at)
        else:
            left = -clock.minutes_between(t.due_at, now)
        result.append(Waiting(t, left))
    result.sort(key=lambda w: (w.minutes_left, w.timer.due_at))
    return result[:limit]
