"""Deciding who gets a lead: rules in order, then the target's availability and, for a pool,
the fairest available member.

``routing_decide`` only reads. The assignment service calls it inside its transaction with
``lock=True`` (pool members' rows locked, so capacity and the ledger are decided by the
database when intakes run in parallel); the rule test calls it without locks.

First match wins; when the matched rule's target cannot take the lead right now (the user
is absent, every pool member is absent or full), the next matching rule is tried, the
default rule last. What was tried and why it did not take the lead is the decision's trail,
shown on the timeline and in the unassigned queue.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.leads.choices import CLOSED_STAGES, Stage

from .calendars import calendar_clock, calendar_clocks, team_calendar_id
from .choices import Horizon, TargetType
from .conditions import conditions_match
from .fairness import MemberState, Pick, fair_pick
from .lead_quality import lead_quality
from .models import Absence, LedgerEntry, Pool, PoolMember, RoutingRule

# Stages in which an owned lead counts against its owner's capacity.
NOT_OPEN = frozenset(CLOSED_STAGES) | {Stage.RECYCLED}


@dataclass
class Attempt:
    rule: str
    rule_id: str
    matched: bool
    taken: bool
    detail: str

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "rule_id": self.rule_id,
            "matched": self.matched,
            "taken": self.taken,
            "detail": self.detail,
        }


@dataclass
class PoolOutcome:
    user: object | None  # the chosen member's user
    pick: Pick | None
    detail: str
    retry_at: datetime | None = None
    unavailable: dict[str, str] = field(default_factory=dict)


@dataclass
class Decision:
    user: object | None
    rule: RoutingRule | None
    pool: Pool | None
    quality: float
    attempts: list[Attempt]
    pick: Pick | None = None
    retry_at: datetime | None = None
    alert_pools: list[Pool] = field(default_factory=list)

    def trail(self) -> list[dict]:
        return [a.as_dict() for a in self.attempts]


def rules_in_order() -> list[RoutingRule]:
    """Active rules, by position, the default rule last."""
    return list(
        RoutingRule.objects.filter(is_active=True)
        .select_related("target_user", "target_pool", "target_pool__team")
        .order_by("is_default", "position", "id")
    )


def absences_now(user_ids: Collection[int], now: datetime) -> dict[int, datetime]:
    """User id -> end of the absence they are in at ``now``."""
    rows = Absence.objects.filter(
        user_id__in=user_ids, starts_at__lte=now, ends_at__gt=now
    ).values_list("user_id", "ends_at")
    result: dict[int, datetime] = {}
    for user_id, ends_at in rows:
        result[user_id] = max(ends_at, result.get(user_id, ends_at))
    return result


def open_lead_counts(user_ids: Collection[int]) -> dict[int, int]:
    """User id -> number of open leads they own."""
    from leadwerk.leads.models import Lead

    rows = (
        Lead.objects.filter(owner_id__in=user_ids)
        .exclude(stage__in=NOT_OPEN)
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    return {r["owner_id"]: r["n"] for r in rows}


def horizon_start(pool: Pool, now: datetime) -> datetime:
    """Where the pool's fairness horizon begins, in the pool's time zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    if pool.horizon == Horizon.ROLLING:
        return now - timedelta(days=pool.horizon_days or 365)
    if pool.horizon == Horizon.MONTH:
        start = local.replace(day=1)
    elif pool.horizon == Horizon.QUARTER:
        start = local.replace(month=(local.month - 1) // 3 * 3 + 1, day=1)
    else:
        start = local.replace(month=1, day=1)
    return start.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def ledger_totals(pool: Pool, *, start: datetime, end: datetime | None = None) -> dict:
    """User id -> (count, quality) in the pool's ledger from ``start`` (until ``end``)."""
    qs = LedgerEntry.objects.filter(pool=pool, at__gte=start)
    if end is not None:
        qs = qs.filter(at__lt=end)
    rows = qs.values("user_id").annotate(c=Sum("count"), q=Sum("quality"))
    return {r["user_id"]: (r["c"] or 0.0, r["q"] or 0.0) for r in rows}


def pool_pick(
    pool: Pool,
    *,
    quality: float,
    lead_key: str,
    now: datetime,
    lock: bool,
    exclude_user_ids: Collection[int] = (),
) -> PoolOutcome:
    """The fairest available member of ``pool`` for a lead of ``quality``."""
    # Plain rows, not model instances: this runs on every assignment, for every member.
    members = [
        _Seat(*row)
        for row in PoolMember.objects.filter(
            pool=pool, is_active=True, user__is_active=True
        ).values_list("pk", "user_id", "user__uuid", "share", "capacity", "calendar_id")
    ]
    if not members:
        return PoolOutcome(None, None, _("the pool has no active members"))
    user_ids = [m.user_id for m in members]
    if lock and connection.features.has_select_for_update:
        # Every membership of these users, in one order: parallel assignments that could
        # give a lead to the same person queue here, so capacity and ledger stay exact.
        list(
            PoolMember.objects.select_for_update()
            .filter(user_id__in=user_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    totals = ledger_totals(pool, start=horizon_start(pool, now), end=None)
    states = {
        m.user_id: MemberState(
            key=str(m.user_uuid),
            share=float(m.share),
            count=totals.get(m.user_id, (0.0, 0.0))[0],
            quality=totals.get(m.user_id, (0.0, 0.0))[1],
        )
        for m in members
    }
    why: dict[int, str] = {}
    absent = absences_now(user_ids, now)
    loads = open_lead_counts(user_ids)
    available: list[_Seat] = []
    for m in members:
        if m.user_id in exclude_user_ids:
            why[m.user_id] = _("excluded")
        elif m.user_id in absent:
            why[m.user_id] = _("absent until %(when)s") % {"when": _local(absent[m.user_id])}
        elif m.capacity is not None and loads.get(m.user_id, 0) >= m.capacity:
            why[m.user_id] = _("full (%(open)s of %(capacity)s open leads)") % {
                "open": loads.get(m.user_id, 0),
                "capacity": m.capacity,
            }
        else:
            available.append(m)
    unavailable = _named(why)
    if not available:
        retry = min(absent.values()) if absent else None
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(unavailable.items()))
        return PoolOutcome(
            None,
            None,
            _("nobody available: %(who)s") % {"who": detail},
            retry_at=retry,
            unavailable=unavailable,
        )
    available = _soonest_working(available, pool=pool, now=now)
    pick = fair_pick(
        [states[m.user_id] for m in available],
        pool=list(states.values()),
        quality=quality,
        lead_key=lead_key,
    )
    chosen = next(m for m in available if states[m.user_id].key == pick.key)
    user = get_user_model().objects.select_related("team", "partner").get(pk=chosen.user_id)
    return PoolOutcome(
        user,
        pick,
        _("fairest of %(level)s level on count among %(available)s available")
        % {"level": len(pick.candidates), "available": len(available)},
        unavailable=unavailable,
    )


@dataclass(frozen=True)
class _Seat:
    pk: int
    user_id: int
    user_uuid: object
    share: object
    capacity: int | None
    calendar_id: int | None


def _named(why: dict[int, str]) -> dict[str, str]:
    """User id -> reason, as display name -> reason (one query, only when needed)."""
    if not why:
        return {}
    users = get_user_model().objects.filter(pk__in=why)
    return {str(u): why[u.pk] for u in users}


def _soonest_working(members: list[_Seat], *, pool: Pool, now: datetime) -> list[_Seat]:
    """The members who are at work now, or, outside everyone's hours, who start soonest."""
    if not any(m.calendar_id for m in members):
        return members  # one calendar for all: everyone starts at the same time
    team_cal = team_calendar_id(pool.team_id) if pool.team_id and not pool.calendar_id else None
    calendar_of = {m.pk: m.calendar_id or pool.calendar_id or team_cal for m in members}
    if len(set(calendar_of.values())) <= 1:
        return members
    clocks = calendar_clocks(calendar_of.values())
    fallback = calendar_clock(None)
    opening = {m.pk: clocks.get(calendar_of[m.pk], fallback).next_open(now) for m in members}
    soonest = min(opening.values())
    return [m for m in members if opening[m.pk] == soonest]


def _local(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def _user_unavailable(user, *, now: datetime, exclude_user_ids: Collection[int]) -> str | None:
    if user is None:
        return _("no such user")
    if not user.is_active:
        return _("%(user)s is inactive") % {"user": user}
    if user.pk in exclude_user_ids:
        return _("%(user)s is excluded") % {"user": user}
    absent = absences_now([user.pk], now)
    if user.pk in absent:
        return _("%(user)s is absent until %(when)s") % {
            "user": user,
            "when": _local(absent[user.pk]),
        }
    return None


def routing_decide(
    *,
    facts: dict,
    lead_key: str,
    now: datetime,
    lock: bool = False,
    exclude_user_ids: Collection[int] = (),
    rules: list[RoutingRule] | None = None,
) -> Decision:
    """Who should get a lead with these facts now, by which rule, and why."""
    quality = lead_quality(facts)
    attempts: list[Attempt] = []
    retry_at: datetime | None = None
    alert_pools: list[Pool] = []
    user_model = get_user_model()
    for rule in rules if rules is not None else rules_in_order():
        label, rid = rule.name, str(rule.uuid)
        if not rule.is_default and not conditions_match(rule.conditions, facts):
            attempts.append(Attempt(label, rid, False, False, _("conditions not met")))
            continue
        if rule.target_type == TargetType.POOL:
            pool = rule.target_pool
            if not pool.is_active:
                attempts.append(
                    Attempt(
                        label, rid, True, False, _("pool %(pool)s is inactive") % {"pool": pool}
                    )
                )
                continue
            outcome = pool_pick(
                pool,
                quality=quality,
                lead_key=lead_key,
                now=now,
                lock=lock,
                exclude_user_ids=exclude_user_ids,
            )
            if outcome.user is None:
                attempts.append(Attempt(label, rid, True, False, f"{pool}: {outcome.detail}"))
                alert_pools.append(pool)
                if outcome.retry_at and (retry_at is None or outcome.retry_at < retry_at):
                    retry_at = outcome.retry_at
                continue
            attempts.append(Attempt(label, rid, True, True, f"{pool}: {outcome.detail}"))
            return Decision(
                outcome.user, rule, pool, quality, attempts, outcome.pick, None, alert_pools
            )
        if rule.target_type == TargetType.USER:
            user = rule.target_user
        else:
            owner_id = facts.get("account_owner_id")
            if not facts.get("existing_customer") or owner_id is None:
                attempts.append(Attempt(label, rid, True, False, _("no account owner known")))
                continue
            user = user_model.objects.filter(pk=owner_id).first()
        problem = _user_unavailable(user, now=now, exclude_user_ids=exclude_user_ids)
        if problem:
            attempts.append(Attempt(label, rid, True, False, problem))
            continue
        attempts.append(Attempt(label, rid, True, True, _("to %(user)s") % {"user": user}))
        return Decision(user, rule, None, quality, attempts, None, None, alert_pools)
    if not attempts:
        attempts.append(Attempt("", "", False, False, _("there are no active routing rules")))
    return Decision(None, None, None, quality, attempts, None, retry_at, alert_pools)
