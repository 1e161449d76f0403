"""The set-up refuses bad input clearly and writes nothing half; pools keep newcomers level."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leadwerk.accounts.choices import Role
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.routing import services
from leadwerk.routing.choices import LedgerKind, PoolKind, TargetType, Trigger
from leadwerk.routing.models import (
    Absence,
    BusinessCalendar,
    LedgerEntry,
    PoolMember,
    RoutingRule,
    WorkingHours,
)
from leadwerk.tests_support.factories import ChannelFactory, PartnerCompanyFactory, UserFactory

from .conftest import default_rule_to, make_pool, make_reps, new_lead

pytestmark = pytest.mark.django_db

OFFICE = [(d, time(8), time(17)) for d in range(5)]


def locs(exc) -> dict:
    return {e.loc: e.msg for e in exc.value.errors}


def test_a_rule_with_unknown_fields_channels_and_users_is_refused_completely(rep):
    ChannelFactory(slug="website")
    with pytest.raises(DomainValidationError) as exc:
        services.rule_save(
            name="",
            conditions={"region": ["Süd"], "channels": ["website", "fax"]},
            target_type=TargetType.USER,
            target_user=None,
        )
    errors = locs(exc)
    assert "unknown condition" in errors[("conditions", "region")]
    assert errors[("name",)] == "a rule needs a name"
    assert errors[("target_user",)] == "unknown or inactive user"
    assert not RoutingRule.objects.exists()
    with pytest.raises(DomainValidationError) as exc:
        services.rule_save(
            name="Fax",
            conditions={"channels": ["website", "fax"]},
            target_type=TargetType.USER,
            target_user=rep,
        )
    assert locs(exc) == {("conditions", "channels", 1): "unknown channel 'fax'"}


def test_there_is_one_default_rule_and_it_has_no_conditions(rep):
    services.rule_save(
        name="Rest", conditions={}, target_type=TargetType.USER, target_user=rep, is_default=True
    )
    with pytest.raises(DomainValidationError) as exc:
        services.rule_save(
            name="Noch ein Rest",
            conditions={"countries": ["DE"]},
            target_type=TargetType.USER,
            target_user=rep,
            is_default=True,
        )
    errors = locs(exc)
    assert errors[("is_default",)] == "'Rest' is already the default rule"
    assert "no conditions" in errors[("conditions",)]
    with pytest.raises(Conflict):
        services.rule_move(rule=RoutingRule.objects.get(), position=1)


def test_new_rules_go_last_before_the_default_and_can_be_moved(rep):
    default = services.rule_save(
        name="Rest", conditions={}, target_type=TargetType.USER, target_user=rep, is_default=True
    )
    a = services.rule_save(name="A", conditions={}, target_type="user", target_user=rep)
    b = services.rule_save(name="B", conditions={}, target_type="user", target_user=rep)
    c = services.rule_save(name="C", conditions={}, target_type="user", target_user=rep)
    order = lambda: list(RoutingRule.objects.order_by("is_default", "position", "id"))  # noqa: E731
    assert order() == [a, b, c, default]
    services.rule_move(rule=c, position=1)
    assert order() == [c, a, b, default]
    services.rule_move(rule=c, position=99)
    assert order() == [a, b, c, default]


def test_overlapping_absences_are_refused(rep):
    start = datetime(2026, 7, 1, 0, 0, tzinfo=timezone.get_current_timezone())
    services.absence_create(user=rep, starts_at=start, ends_at=start + timedelta(days=14))
    with pytest.raises(DomainValidationError) as exc:
        services.absence_create(
            user=rep, starts_at=start + timedelta(days=10), ends_at=start + timedelta(days=20)
        )
    assert "overlaps the absence from 2026-07-01" in locs(exc)[("starts_at",)]
    with pytest.raises(DomainValidationError) as exc:
        services.absence_create(user=rep, starts_at=start, ends_at=start)
    assert locs(exc) == {("ends_at",): "the absence must end after it starts"}
    with pytest.raises(DomainValidationError) as exc:
        services.absence_create(
            user=rep,
            starts_at=datetime(2026, 8, 1),  # noqa: DTZ001 - the point
            ends_at=datetime(2026, 8, 2),  # noqa: DTZ001
        )
    assert ("starts_at",) in locs(exc)
    # Back to back is fine.
    services.absence_create(
        user=rep, starts_at=start + timedelta(days=14), ends_at=start + timedelta(days=15)
    )
    assert Absence.objects.filter(user=rep).count() == 2


def test_capacity_below_zero_and_bad_shares_are_refused(team, rep):
    pool = services.pool_save(name="Pool", kind=PoolKind.TEAM, team=team)
    with pytest.raises(DomainValidationError) as exc:
        services.pool_member_add(pool=pool, user=rep, capacity=-1, share=Decimal("0"))
    errors = locs(exc)
    assert errors[("capacity",)] == "capacity must be 0 or more (empty: no limit)"
    assert "above 0" in errors[("share",)]
    assert not PoolMember.objects.exists()
    member = services.pool_member_add(pool=pool, user=rep, capacity=0)
    with pytest.raises(DomainValidationError):
        services.pool_member_update(member=member, capacity=-5)
    member.refresh_from_db()
    assert member.capacity == 0


def test_pools_keep_direct_sales_and_partners_where_they_belong(team, rep):
    partner = UserFactory(
        username="p", roles=[Role.PARTNER], partner=PartnerCompanyFactory(tier="bronze")
    )
    team_pool = services.pool_save(name="Team", kind=PoolKind.TEAM, team=team)
    partner_pool = services.pool_save(name="Partner", kind=PoolKind.PARTNER)
    mixed = services.pool_save(name="Gemischt", kind=PoolKind.MIXED)
    with pytest.raises(DomainValidationError) as exc:
        services.pool_member_add(pool=team_pool, user=partner)
    assert "works for a partner" in locs(exc)[("user",)]
    with pytest.raises(DomainValidationError):
        services.pool_member_add(pool=partner_pool, user=rep)
    services.pool_member_add(pool=mixed, user=rep)
    member = services.pool_member_add(pool=mixed, user=partner)
    assert member.share == Decimal("0.50")  # bronze partners start at half a share
    with pytest.raises(Conflict):
        services.pool_member_add(pool=mixed, user=rep)
    with pytest.raises(DomainValidationError):
        services.pool_save(pool=mixed, name="Gemischt", kind=PoolKind.TEAM)


def test_a_rolling_horizon_needs_days(team):
    with pytest.raises(DomainValidationError) as exc:
        services.pool_save(name="Rollend", kind=PoolKind.TEAM, horizon="rolling")
    assert ("horizon_days",) in locs(exc)


def test_calendars_for_unknown_regions_and_broken_hours_are_refused():
    with pytest.raises(DomainValidationError) as exc:
        services.calendar_save(name="Mond", subdivision="XX", time_zone="Mond/Krater", hours=OFFICE)
    errors = locs(exc)
    assert errors[("subdivision",)].startswith("unknown region 'XX' for DE; known: BB, BE, BW, BY")
    assert errors[("time_zone",)] == "unknown time zone 'Mond/Krater'"
    with pytest.raises(DomainValidationError) as exc:
        services.calendar_save(name="Atlantis", country="XA", hours=OFFICE)
    assert locs(exc) == {("country",): "no public holidays known for country 'XA'"}
    with pytest.raises(DomainValidationError) as exc:
        services.calendar_save(
            name="Kaputt",
            hours=[
                (0, time(8), time(12)),
                (0, time(11), time(17)),
                (1, time(17), time(8)),
                (7, time(8), time(9)),
            ],
            company_holidays=[(date(2026, 12, 24), "Heiligabend"), (date(2026, 12, 24), "x")],
        )
    errors = locs(exc)
    assert errors[("hours", 1)] == "overlaps another interval that day"
    assert errors[("hours", 2)] == "the interval must end after it starts"
    assert errors[("hours", 3, "weekday")] == "weekday must be 0 (Monday) to 6"
    assert errors[("company_holidays", 1)] == "2026-12-24 is listed twice"
    with pytest.raises(DomainValidationError) as exc:
        services.calendar_save(name="Leer", hours=[])
    assert ("hours",) in locs(exc)
    assert not BusinessCalendar.objects.filter(name__in=["Mond", "Kaputt", "Leer"]).exists()
    assert WorkingHours.objects.filter(calendar__name="Kaputt").count() == 0


def test_sla_policies_refuse_bad_values_and_duplicates():
    with pytest.raises(DomainValidationError) as exc:
        services.sla_policy_save(
            channel=None,
            label="lau",
            response_value=0,
            response_unit="weeks",
            reminder_percents=[50, 150, 50],
            reassign_after_minutes=-1,
        )
    errors = locs(exc)
    assert set(errors) >= {
        ("label",),
        ("response_value",),
        ("response_unit",),
        ("reminder_percents", 1),
        ("reminder_percents",),
        ("reassign_after_minutes",),
    }
    with pytest.raises(DomainValidationError) as exc:
        services.sla_policy_save(channel=None, label="hot", response_value=2, response_unit="hours")
    assert "already a policy for every channel and hot" in locs(exc)[("label",)]


def test_a_newcomer_starts_level_with_the_pool_instead_of_taking_every_lead(
    sales_team, always_open
):
    reps = make_reps(sales_team, 2)
    pool = make_pool("Pool", reps, team=sales_team)
    default_rule_to(pool)
    from leadwerk.leads.choices import Stage

    for _ in range(10):
        lead = new_lead()
        lead.stage = Stage.MQL
        lead.save(update_fields=["stage"])
        services.lead_route(lead_id=lead.pk, trigger=Trigger.MQL)
    newcomer = UserFactory(username="neu", roles=[Role.SALES_REP], team=sales_team)
    services.pool_member_add(pool=pool, user=newcomer)
    opening = LedgerEntry.objects.get(user=newcomer, kind=LedgerKind.OPENING)
    assert opening.count == pytest.approx(5.0)
    owners = []
    for _ in range(6):
        lead = new_lead()
        lead.stage = Stage.MQL
        lead.save(update_fields=["stage"])
        owners.append(services.lead_route(lead_id=lead.pk, trigger=Trigger.MQL).assignment.user)
    assert owners.count(newcomer) == 2  # one in three, not all six
