"""Writes of the routing set-up a sales manager maintains: rules, pools and their members,
absences, business calendars, response-time policies, rejection reasons, channel policies.

Every function validates completely before it writes and refuses with a
:class:`DomainValidationError` naming each field that is wrong, so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from pydantic import ValidationError

from leadwerk.campaigns.models import Campaign, Channel
from leadwerk.errors import Conflict, DomainValidationError, FieldError

from ..business_calendar import region_problem, zone_problem
from ..choices import (
    DurationUnit,
    Horizon,
    Label,
    LedgerKind,
    PoolKind,
    RejectionOutcome,
    TargetType,
)
from ..conditions import conditions_errors, conditions_parse
from ..decision import horizon_start, ledger_totals
from ..models import (
    Absence,
    BusinessCalendar,
    CompanyHoliday,
    CustomerAccount,
    LedgerEntry,
    Pool,
    PoolMember,
    RejectionReason,
    RoutingChannelPolicy,
    RoutingRule,
    SlaPolicy,
    TeamCalendar,
    WorkingHours,
)

# Default share of a partner in a pool, by tier (a direct member's default is 1).
PARTNER_TIER_SHARE = {"gold": Decimal("1.00"), "silver": Decimal("0.75"), "bronze": Decimal("0.50")}
MAX_SHARE = Decimal("100")


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise DomainValidationError(errors)


# --- calendars -------------------------------------------------------------------------------


def calendar_save(
    *,
    calendar: BusinessCalendar | None = None,
    name: str,
    time_zone: str = "Europe/Berlin",
    country: str = "DE",
    subdivision: str = "",
    is_default: bool = False,
    hours: Iterable[tuple[int, time, time]],
    company_holidays: Iterable[tuple[date, str]] = (),
) -> BusinessCalendar:
    """Create or change a business calendar with its weekly hours and company holidays
    (both replaced as a whole)."""
    name, country, subdivision = name.strip(), country.strip().upper(), subdivision.strip()
    hours = list(hours)
    company_holidays = list(company_holidays)
    errors: list[FieldError] = []
    if not name:
        errors.append(FieldError(("name",), "a calendar needs a name", "missing"))
    elif (
        BusinessCalendar.objects.filter(name=name)
        .exclude(pk=getattr(calendar, "pk", None))
        .exists()
    ):
        errors.append(FieldError(("name",), f"there is already a calendar named '{name}'", "taken"))
    problem = zone_problem(time_zone)
    if problem:
        errors.append(FieldError(("time_zone",), problem, "unknown"))
    problem = region_problem(country, subdivision) if country or subdivision else None
    if problem:
        loc = "subdivision" if subdivision and "region" in problem else "country"
        errors.append(FieldError((loc,), problem, "unknown"))
    if not hours:
        errors.append(FieldError(("hours",), "a calendar needs at least one working interval"))
    by_day: dict[int, list[tuple[int, time, time]]] = {}
    for i, (weekday, start, end) in enumerate(hours):
        if not 0 <= weekday <= 6:
            errors.append(FieldError(("hours", i, "weekday"), "weekday must be 0 (Monday) to 6"))
            continue
        if not (end > start or end == time(0)):
            errors.append(FieldError(("hours", i), "the interval must end after it starts"))
            continue
        by_day.setdefault(weekday, []).append((i, start, end))
    for items in by_day.values():
        items.sort(key=lambda x: x[1])
        for (_i, _s, prev_end), (j, start, _e) in zip(items, items[1:], strict=False):
            if prev_end == time(0) or start < prev_end:
                errors.append(FieldError(("hours", j), "overlaps another interval that day"))
    seen: set[date] = set()
    for i, (day, label) in enumerate(company_holidays):
        if day in seen:
            errors.append(FieldError(("company_holidays", i), f"{day} is listed twice"))
        seen.add(day)
        if not label.strip():
            errors.append(FieldError(("company_holidays", i, "name"), "give the holiday a name"))
    _raise(errors)
    with transaction.atomic():
        if is_default:
            BusinessCalendar.objects.filter(is_default=True).exclude(
                pk=getattr(calendar, "pk", None)
            ).update(is_default=False)
        calendar = calendar or BusinessCalendar()
        calendar.name, calendar.time_zone = name, time_zone
        calendar.country, calendar.subdivision = country, subdivision
        calendar.is_default = is_default
        calendar.save()
        calendar.hours.all().delete()
        WorkingHours.objects.bulk_create(
            WorkingHours(calendar=calendar, weekday=w, starts_at=s, ends_at=e) for w, s, e in hours
        )
        calendar.company_holidays.all().delete()
        CompanyHoliday.objects.bulk_create(
            CompanyHoliday(calendar=calendar, date=d, name=n.strip()) for d, n in company_holidays
        )
    return calendar


def team_calendar_set(*, team, calendar: BusinessCalendar | None) -> None:
    """Let a team work by a calendar (None: by the default calendar)."""
    with transaction.atomic():
        if calendar is None:
            TeamCalendar.objects.filter(team=team).delete()
        else:
            TeamCalendar.objects.update_or_create(team=team, defaults={"calendar": calendar})


# --- pools and members -----------------------------------------------------------------------


def pool_save(
    *,
    pool: Pool | None = None,
    name: str,
    kind: str,
    team=None,
    calendar: BusinessCalendar | None = None,
    horizon: str = Horizon.YEAR,
    horizon_days: int | None = None,
    is_active: bool = True,
) -> Pool:
    name = name.strip()
    errors: list[FieldError] = []
    if not name:
        errors.append(FieldError(("name",), "a pool needs a name", "missing"))
    elif Pool.objects.filter(name=name).exclude(pk=getattr(pool, "pk", None)).exists():
        errors.append(FieldError(("name",), f"there is already a pool named '{name}'", "taken"))
    if kind not in PoolKind.values:
        errors.append(FieldError(("kind",), f"kind must be one of {', '.join(PoolKind.values)}"))
    if horizon not in Horizon.values:
        errors.append(FieldError(("horizon",), f"must be one of {', '.join(Horizon.values)}"))
    elif horizon == Horizon.ROLLING and (horizon_days is None or horizon_days < 1):
        errors.append(FieldError(("horizon_days",), "a rolling horizon needs at least one day"))
    if pool is not None and kind != pool.kind and kind in PoolKind.values:
        for m in pool.members.select_related("user"):
            problem = _kind_problem(kind, m.user)
            if problem:
                errors.append(FieldError(("kind",), problem))
                break
    _raise(errors)
    pool = pool or Pool()
    pool.name, pool.kind, pool.team, pool.calendar = name, kind, team, calendar
    pool.horizon = horizon
    pool.horizon_days = horizon_days if horizon == Horizon.ROLLING else None
    pool.is_active = is_active
    pool.save()
    return pool


def _kind_problem(kind: str, user) -> str | None:
    if kind == PoolKind.TEAM and user.partner_id:
        return f"{user} works for a partner; a team pool is for direct sales only"
    if kind == PoolKind.PARTNER and not user.partner_id:
        return f"{user} is not a partner user; a partner pool is for partners only"
    return None


def _share_value(value, loc) -> tuple[Decimal | None, FieldError | None]:
    try:
        share = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None, FieldError(loc, "share must be a number")
    if not share.is_finite() or share <= 0 or share > MAX_SHARE:
        return None, FieldError(loc, f"share must be above 0 and at most {MAX_SHARE}")
    if share != share.quantize(Decimal("0.01")):
        return None, FieldError(loc, "share has at most two decimals")
    return share, None


def _capacity_problem(capacity) -> FieldError | None:
    if capacity is not None and (not isinstance(capacity, int) or capacity < 0):
        return FieldError(("capacity",), "capacity must be 0 or more (empty: no limit)")
    return None


def _opening_balance(member: PoolMember, *, now: datetime) -> None:
    """Bring a member who joins (or comes back) level with the pool: an opening line at the
    pool's current count and quality per share, so they are not flooded to catch up."""
    pool = member.pool
    start = horizon_start(pool, now)
    totals = ledger_totals(pool, start=start)
    others = list(PoolMember.objects.filter(pool=pool, is_active=True).exclude(pk=member.pk))
    shares = sum(float(m.share) for m in others)
    if not others or shares <= 0:
        return
    count = sum(totals.get(m.user_id, (0.0, 0.0))[0] for m in others) / shares
    quality = sum(totals.get(m.user_id, (0.0, 0.0))[1] for m in others) / shares
    have_count, have_quality = totals.get(member.user_id, (0.0, 0.0))
    want_count = count * float(member.share)
    want_quality = quality * float(member.share)
    if want_count - have_count <= 0 and want_quality - have_quality <= 0:
        return
    LedgerEntry.objects.create(
        pool=pool,
        user=member.user,
        kind=LedgerKind.OPENING,
        count=max(want_count - have_count, 0.0),
        quality=max(want_quality - have_quality, 0.0),
        at=now,
    )


def pool_member_add(
    *,
    pool: Pool,
    user,
    share=None,
    capacity: int | None = None,
    calendar: BusinessCalendar | None = None,
    now: datetime | None = None,
) -> PoolMember:
    """Add a user to a pool (or bring an inactive member back), level with the others."""
    now = now or timezone.now()
    errors: list[FieldError] = []
    if user is None or not user.is_active:
        errors.append(FieldError(("user",), "unknown or inactive user", "unknown"))
    else:
        problem = _kind_problem(pool.kind, user)
        if problem:
            errors.append(FieldError(("user",), problem))
    if share is None and user is not None and user.partner_id:
        share = PARTNER_TIER_SHARE.get(user.partner.tier, Decimal("1.00"))
    value, error = _share_value(share if share is not None else Decimal("1.00"), ("share",))
    if error:
        errors.append(error)
    error = _capacity_problem(capacity)
    if error:
        errors.append(error)
    _raise(errors)
    with transaction.atomic():
        member = PoolMember.objects.select_for_update().filter(pool=pool, user=user).first()
        if member is not None and member.is_active:
            raise Conflict(f"{user} is already a member of {pool}", code="already_member")
        if member is None:
            member = PoolMember(pool=pool, user=user, joined_at=now)
        member.share, member.capacity, member.calendar = value, capacity, calendar
        member.is_active = True
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            raise Conflict(f"{user} is already a member of {pool}", code="already_member") from None
        _opening_balance(member, now=now)
    return member


def pool_member_update(
    *,
    member: PoolMember,
    share=None,
    capacity: int | None | type[...] = ...,
    calendar: BusinessCalendar | None | type[...] = ...,
    is_active: bool | None = None,
    now: datetime | None = None,
) -> PoolMember:
    """Change a member's share, capacity, calendar or activity (``...``: leave as is)."""
    now = now or timezone.now()
    errors: list[FieldError] = []
    value = member.share
    if share is not None:
        value, error = _share_value(share, ("share",))
        if error:
            errors.append(error)
    if capacity is not ...:
        error = _capacity_problem(capacity)
        if error:
            errors.append(error)
    _raise(errors)
    with transaction.atomic():
        comes_back = is_active is True and not member.is_active
        member.share = value
        if capacity is not ...:
            member.capacity = capacity
        if calendar is not ...:
            member.calendar = calendar
        if is_active is not None:
            member.is_active = is_active
        member.save()
        if comes_back:
            _opening_balance(member, now=now)
    return member


def pool_member_remove(*, member: PoolMember) -> None:
    """Take a user out of a pool; the pool's ledger keeps what they received."""
    member.delete()


# --- absences --------------------------------------------------------------------------------


def absence_create(
    *, user, starts_at: datetime, ends_at: datetime, note: str = "", actor=None
) -> Absence:
    """Record an out-of-office period; overlapping periods of the same user are refused."""
    errors: list[FieldError] = []
    for loc, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.tzinfo is None:
            errors.append(FieldError((loc,), "give a time zone (e.g. +01:00)", "naive"))
    _raise(errors)
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    if ends_at <= starts_at:
        _raise([FieldError(("ends_at",), "the absence must end after it starts")])
    with transaction.atomic():
        clash = (
            Absence.objects.select_for_update()
            .filter(user=user, starts_at__lt=ends_at, ends_at__gt=starts_at)
            .order_by("starts_at")
            .first()
        )
        if clash is not None:
            _raise(
                [
                    FieldError(
                        ("starts_at",),
                        f"overlaps the absence from {_local(clash.starts_at)} "
                        f"to {_local(clash.ends_at)}",
                        "overlap",
                    )
                ]
            )
        return Absence.objects.create(
            user=user, starts_at=starts_at, ends_at=ends_at, note=note.strip(), created_by=actor
        )


def _local(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def absence_delete(*, absence: Absence) -> None:
    absence.delete()


# --- rules -----------------------------------------------------------------------------------


def _conditions_checked(conditions: dict | None) -> tuple[dict, list[FieldError]]:
    try:
        parsed = conditions_parse(conditions)
    except ValidationError as exc:
        return {}, [
            FieldError(("conditions", *loc), msg, "invalid") for loc, msg in conditions_errors(exc)
        ]
    stored = parsed.stored()
    errors: list[FieldError] = []
    for key, model in (("channels", Channel), ("campaigns", Campaign)):
        wanted = stored.get(key) or []
        known = set(model.objects.filter(slug__in=wanted).values_list("slug", flat=True))
        for i, slug in enumerate(wanted):
            if slug not in known:
                errors.append(
                    FieldError(("conditions", key, i), f"unknown {key[:-1]} '{slug}'", "unknown")
                )
    return stored, errors


def rule_save(
    *,
    rule: RoutingRule | None = None,
    name: str,
    conditions: dict | None,
    target_type: str,
    target_user=None,
    target_pool: Pool | None = None,
    is_active: bool = True,
    is_default: bool = False,
) -> RoutingRule:
    """Create or change a routing rule. A new rule goes to the end of the list (before the
    default rule); the default rule has no conditions and there is only one."""
    name = name.strip()
    stored, errors = _conditions_checked(conditions)
    if not name:
        errors.append(FieldError(("name",), "a rule needs a name", "missing"))
    if target_type not in TargetType.values:
        errors.append(
            FieldError(("target_type",), f"must be one of {', '.join(TargetType.values)}")
        )
    elif target_type == TargetType.USER:
        if target_user is None or not target_user.is_active:
            errors.append(FieldError(("target_user",), "unknown or inactive user", "unknown"))
        target_pool = None
    elif target_type == TargetType.POOL:
        if target_pool is None:
            errors.append(FieldError(("target_pool",), "unknown pool", "unknown"))
        target_user = None
    else:
        target_user = target_pool = None
    if is_default:
        if stored:
            errors.append(
                FieldError(("conditions",), "the default rule takes every lead: no conditions")
            )
        other = RoutingRule.objects.filter(is_default=True).exclude(pk=getattr(rule, "pk", None))
        if other.exists():
            errors.append(
                FieldError(
                    ("is_default",), f"'{other.first().name}' is already the default rule", "taken"
                )
            )
    _raise(errors)
    with transaction.atomic():
        if rule is None:
            rule = RoutingRule()
            last = RoutingRule.objects.filter(is_default=False).aggregate(m=Max("position"))["m"]
            rule.position = (last or 0) + 10
        rule.name, rule.conditions = name, stored
        rule.target_type, rule.target_user, rule.target_pool = target_type, target_user, target_pool
        rule.is_active, rule.is_default = is_active, is_default
        try:
            with transaction.atomic():
                rule.save()
        except IntegrityError:
            raise Conflict("there is already a default rule", code="default_taken") from None
    return rule


def rule_move(*, rule: RoutingRule, position: int) -> None:
    """Put a rule at ``position`` (1 = first) among the non-default rules."""
    if rule.is_default:
        raise Conflict("the default rule always comes last", code="default_last")
    with transaction.atomic():
        rules = list(
            RoutingRule.objects.select_for_update()
            .filter(is_default=False)
            .order_by("position", "id")
        )
        moving = next(r for r in rules if r.pk == rule.pk)
        rules.remove(moving)
        index = max(0, min(position - 1, len(rules)))
        rules.insert(index, moving)
        for i, r in enumerate(rules, start=1):
            if r.position != i * 10:
                RoutingRule.objects.filter(pk=r.pk).update(position=i * 10)


def rule_delete(*, rule: RoutingRule) -> None:
    rule.delete()


# --- channel policies, SLA policies, rejection reasons, accounts -----------------------------


def channel_policy_set(*, channel: Channel, route_at_intake: bool) -> RoutingChannelPolicy:
    policy, _ = RoutingChannelPolicy.objects.update_or_create(
        channel=channel, defaults={"route_at_intake": route_at_intake}
    )
    return policy


def sla_policy_save(
    *,
    policy: SlaPolicy | None = None,
    channel: Channel | None,
    label: str = "",
    response_value: int,
    response_unit: str = DurationUnit.DAYS,
    reminder_percents: Iterable[int] = (50, 90),
    escalate: bool = True,
    reassign_after_minutes: int | None = None,
    is_active: bool = True,
) -> SlaPolicy:
    label = (label or "").strip().lower()
    reminders = list(reminder_percents)
    errors: list[FieldError] = []
    if label and label not in Label.values:
        errors.append(FieldError(("label",), "label must be cold, warm, hot or empty"))
    if not isinstance(response_value, int) or response_value < 1:
        errors.append(FieldError(("response_value",), "must be at least 1"))
    if response_unit not in DurationUnit.values:
        errors.append(
            FieldError(("response_unit",), f"must be one of {', '.join(DurationUnit.values)}")
        )
    for i, p in enumerate(reminders):
        if not isinstance(p, int) or not 0 < p < 100:
            errors.append(FieldError(("reminder_percents", i), "a percentage from 1 to 99"))
    if len(set(reminders)) != len(reminders):
        errors.append(FieldError(("reminder_percents",), "each percentage only once"))
    if reassign_after_minutes is not None and (
        not isinstance(reassign_after_minutes, int) or reassign_after_minutes < 0
    ):
        errors.append(FieldError(("reassign_after_minutes",), "must be 0 or more, or empty"))
    clash = SlaPolicy.objects.filter(channel=channel, label=label).exclude(
        pk=getattr(policy, "pk", None)
    )
    if clash.exists():
        errors.append(
            FieldError(
                ("label",),
                f"there is already a policy for {channel or 'every channel'} and "
                f"{label or 'every label'}",
                "taken",
            )
        )
    _raise(errors)
    policy = policy or SlaPolicy()
    policy.channel, policy.label = channel, label
    policy.response_value, policy.response_unit = response_value, response_unit
    policy.reminder_percents = sorted(reminders)
    policy.escalate, policy.reassign_after_minutes = escalate, reassign_after_minutes
    policy.is_active = is_active
    policy.save()
    return policy


def sla_policy_delete(*, policy: SlaPolicy) -> None:
    policy.delete()


def rejection_reason_save(
    *,
    reason: RejectionReason | None = None,
    code: str,
    label_de: str,
    label_en: str,
    requires_text: bool = False,
    outcome: str = RejectionOutcome.RECYCLED,
    position: int = 0,
    is_active: bool = True,
) -> RejectionReason:
    code = code.strip()
    errors: list[FieldError] = []
    if not code or not all(c.isalnum() or c in "-_" for c in code) or not code.isascii():
        errors.append(FieldError(("code",), "letters, digits, '-' and '_' only"))
    elif RejectionReason.objects.filter(code=code).exclude(pk=getattr(reason, "pk", None)).exists():
        errors.append(FieldError(("code",), f"there is already a reason '{code}'", "taken"))
    for loc, value in (("label_de", label_de), ("label_en", label_en)):
        if not value.strip():
            errors.append(FieldError((loc,), "give a label", "missing"))
    if outcome not in RejectionOutcome.values:
        errors.append(
            FieldError(("outcome",), f"must be one of {', '.join(RejectionOutcome.values)}")
        )
    _raise(errors)
    reason = reason or RejectionReason()
    reason.code, reason.label_de, reason.label_en = code, label_de.strip(), label_en.strip()
    reason.requires_text, reason.outcome = requires_text, outcome
    reason.position, reason.is_active = position, is_active
    reason.save()
    return reason


def customer_account_set(*, company, owner, customer_since: date | None = None) -> CustomerAccount:
    """Mark a company as an existing customer owned by ``owner``."""
    if owner is not None and not owner.is_active:
        _raise([FieldError(("owner",), "unknown or inactive user", "unknown")])
    account, _ = CustomerAccount.objects.update_or_create(
        company=company, defaults={"owner": owner, "customer_since": customer_since}
    )
    return account
