"""Instant assignment: the MQL hand-off and intake hooks, rules in order, targets, absence,
capacity, working hours, existing customers, the unassigned queue, manual assignment."""

from __future__ import annotations

import random
from datetime import UTC, time, timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leadwerk.accounts.choices import Role
from leadwerk.activities.models import Activity
from leadwerk.leads.choices import LeadSource, Stage
from leadwerk.leads.intake import LeadIn
from leadwerk.leads.selectors import lead_get
from leadwerk.leads.services import lead_intake, lead_update
from leadwerk.routing import services
from leadwerk.routing.choices import AssignmentStatus, PoolKind, TargetType, Trigger
from leadwerk.routing.models import Assignment, LedgerEntry, Notification, SlaTimer, UnassignedLead
from leadwerk.routing.reports import fairness_report
from leadwerk.tests_support.factories import (
    ChannelFactory,
    LeadFactory,
    PartnerCompanyFactory,
    UserFactory,
)

from .conftest import company, default_rule_to, make_mql, make_pool, make_reps, new_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_pool(sales_team, always_open):
    reps = make_reps(sales_team, 3)
    pool = make_pool("Vertrieb Nord", reps, team=sales_team)
    default_rule_to(pool)
    return pool, reps


def test_a_new_mql_gets_an_owner_timeline_entry_clock_inbox_item_and_email(
    team_pool, django_capture_on_commit_callbacks, mailbox
):
    pool, reps = team_pool
    lead = make_mql(django_capture_on_commit_callbacks)
    assert lead.owner in reps
    assert lead.assigned_at is not None and lead.team == pool.team
    assignment = Assignment.objects.get(lead=lead)
    assert (assignment.user, assignment.pool, assignment.rule_name, assignment.trigger) == (
        lead.owner,
        pool,
        "Alle übrigen Leads",
        Trigger.MQL,
    )
    entry = Activity.objects.get(lead=lead, type="assignment")
    assert entry.subject == str(lead.owner)
    assert entry.payload["rule"] == "Alle übrigen Leads"
    assert entry.payload["pool"] == "Vertrieb Nord"
    timer = SlaTimer.objects.get(lead=lead)
    assert timer.owner == lead.owner and timer.due_at > timer.started_at
    inbox = Notification.objects.get(user=lead.owner)
    assert str(lead.person) in inbox.title and inbox.read_at is None
    [mail] = mailbox.to(lead.owner.email)
    assert str(lead.person) in mail["Subject"]
    assert mail["X-Leadwerk-Lead"] == str(lead.uuid)
    assert f"/leads/{lead.uuid}/" in mail.get_content()
    assert LedgerEntry.objects.get(pool=pool).user == lead.owner


def test_nothing_is_routed_before_the_transaction_commits(
    team_pool, django_capture_on_commit_callbacks
):
    from leadwerk.leads.services import lead_transition

    lead = new_lead()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lead_transition(lead=lead, to_stage=Stage.MQL, actor=None, reason="Score")
    lead.refresh_from_db()
    assert lead.owner is None and len(callbacks) == 1
    callbacks[0]()
    lead.refresh_from_db()
    assert lead.owner is not None


def test_channels_that_skip_qualification_are_routed_at_intake(
    team_pool, django_capture_on_commit_callbacks, mailbox
):
    hotline = ChannelFactory(slug="hotline", name="Hotline", kind="telemarketing", rank=1)
    ChannelFactory(slug="website")
    services.channel_policy_set(channel=hotline, route_at_intake=True)

    def intake(channel, email):
        data = LeadIn.model_validate(
            {"person": {"email": email, "last_name": "Kunde"}, "channel": channel}
        )
        with django_capture_on_commit_callbacks(execute=True):
            return lead_intake(data=data, source=LeadSource.API).lead

    direct = intake("hotline", "anruf@firma.de")
    web = intake("website", "web@firma.de")
    direct.refresh_from_db()
    web.refresh_from_db()
    assert direct.owner is not None and direct.stage == Stage.NEW
    assert Assignment.objects.get(lead=direct).trigger == Trigger.INTAKE
    assert web.owner is None and not Assignment.objects.filter(lead=web).exists()


def test_rules_are_tried_in_order_and_the_first_match_wins(
    sales_team, always_open, django_capture_on_commit_callbacks
):
    south, north, fallback = make_reps(sales_team, 3)
    services.rule_save(
        name="Bayern",
        conditions={"postal_codes": ["80000-87999", "90000-96999"]},
        target_type=TargetType.USER,
        target_user=south,
    )
    services.rule_save(
        name="Deutschland",
        conditions={"countries": ["DE"]},
        target_type=TargetType.USER,
        target_user=north,
    )
    services.rule_save(
        name="Rest",
        conditions={},
        target_type=TargetType.USER,
        target_user=fallback,
        is_default=True,
    )
    munich = make_mql(django_capture_on_commit_callbacks, company=company(postal_code="80331"))
    berlin = make_mql(django_capture_on_commit_callbacks, company=company(postal_code="10115"))
    vienna = make_mql(
        django_capture_on_commit_callbacks, company=company(country="AT", postal_code="1010")
    )
    assert (munich.owner, berlin.owner, vienna.owner) == (south, north, fallback)
    # Moving "Deutschland" first makes it win for Munich too.
    from leadwerk.routing.models import RoutingRule

    services.rule_move(rule=RoutingRule.objects.get(name="Deutschland"), position=1)
    again = make_mql(django_capture_on_commit_callbacks, company=company(postal_code="80331"))
    assert again.owner == north


def test_an_absent_target_falls_through_to_the_next_matching_rule(
    sales_team, always_open, django_capture_on_commit_callbacks
):
    first, second = make_reps(sales_team, 2)
    fair = ChannelFactory(slug="trade-fair")
    services.rule_save(
        name="Messe",
        conditions={"channels": ["trade-fair"]},
        target_type=TargetType.USER,
        target_user=first,
    )
    services.rule_save(
        name="Default",
        conditions={},
        target_type=TargetType.USER,
        target_user=second,
        is_default=True,
    )
    now = timezone.now()
    services.absence_create(
        user=first, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=2)
    )
    lead = make_mql(django_capture_on_commit_callbacks, channel=fair)
    assert lead.owner == second
    trail = Activity.objects.get(lead=lead, type="assignment").payload["trail"]
    assert trail[0]["rule"] == "Messe" and "ist abwesend bis" in trail[0]["detail"]
    assert trail[1]["taken"] is True


def test_existing_customers_go_to_their_account_owner(
    team_pool, django_capture_on_commit_callbacks
):
    pool, reps = team_pool
    key_account = UserFactory(username="kam", roles=[Role.SALES_REP], email="kam@example.com")
    services.rule_save(
        name="Bestandskunden",
        conditions={"existing_customer": True},
        target_type=TargetType.ACCOUNT_OWNER,
    )
    recorded = company(name="Stammkunde")
    services.customer_account_set(company=recorded, owner=key_account)
    won_before = company(name="Altkunde")
    LeadFactory(
        company=won_before,
        person__company=won_before,
        stage=Stage.WON,
        owner=reps[2],
        closed_at=timezone.now(),
    )
    assert make_mql(django_capture_on_commit_callbacks, company=recorded).owner == key_account
    assert make_mql(django_capture_on_commit_callbacks, company=won_before).owner == reps[2]
    prospect = make_mql(django_capture_on_commit_callbacks, company=company(name="Neukunde"))
    assert prospect.owner in reps
    trail = Activity.objects.get(lead=prospect, type="assignment").payload["trail"]
    assert trail[0] == {
        "rule": "Bestandskunden",
        "rule_id": trail[0]["rule_id"],
        "matched": False,
        "taken": False,
        "detail": "Bedingungen nicht erfüllt",
    }


def test_full_and_absent_members_are_skipped(
    sales_team, always_open, django_capture_on_commit_callbacks
):
    busy, away, free = make_reps(sales_team, 3)
    pool = make_pool("Pool", [busy, away, free], team=sales_team, capacity=1)
    default_rule_to(pool)
    LeadFactory(owner=busy, stage=Stage.SAL)
    now = timezone.now()
    services.absence_create(
        user=away, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5)
    )
    lead = make_mql(django_capture_on_commit_callbacks)
    assert lead.owner == free
    # Now everyone is full or away: the next lead waits in the queue.
    queued = make_mql(django_capture_on_commit_callbacks)
    assert queued.owner is None
    entry = UnassignedLead.objects.get(lead=queued)
    assert entry.resolved_at is None
    detail = entry.reasons[0]["detail"]
    assert "ausgelastet (1 von 1 offenen Leads)" in detail and "abwesend bis" in detail


def test_a_lead_nobody_can_take_is_queued_with_an_alert_and_a_retry_when_the_absence_ends(
    sales_team, always_open, manager, django_capture_on_commit_callbacks, mailbox
):
    (only,) = make_reps(sales_team, 1)
    pool = make_pool("Klein", [only], team=sales_team)
    default_rule_to(pool)
    now = timezone.now()
    back = now + timedelta(hours=3)
    services.absence_create(user=only, starts_at=now - timedelta(hours=1), ends_at=back)
    lead = make_mql(django_capture_on_commit_callbacks)
    assert lead.owner is None
    assert UnassignedLead.objects.filter(lead=lead, resolved_at__isnull=True).exists()
    alert = Notification.objects.get(user=manager, kind="unassigned")
    assert str(lead.person) in alert.title
    [mail] = mailbox.to(manager.email)
    assert "abwesend bis" in mail.get_content()
    retry = DBTaskResult.objects.get(task_path="leadwerk.routing.tasks.route_again")
    assert retry.run_after == back
    assert retry.args_kwargs["kwargs"] == {"lead_id": str(lead.uuid)}
    # When the absence is over, routing again assigns the lead and resolves the queue entry.
    services.absence_delete(absence=only.absences.get())
    assert services.lead_route_again(lead_uuid=str(lead.uuid)) == "assigned"
    lead.refresh_from_db()
    assert lead.owner == only
    assert not UnassignedLead.objects.filter(lead=lead, resolved_at__isnull=True).exists()
    assert Assignment.objects.get(lead=lead).trigger == Trigger.RETRY


def test_without_any_rule_the_lead_is_queued_not_lost(
    always_open, manager, django_capture_on_commit_callbacks
):
    lead = make_mql(django_capture_on_commit_callbacks)
    assert lead.owner is None
    entry = UnassignedLead.objects.get(lead=lead)
    assert entry.reasons[0]["detail"] == "es gibt keine aktiven Verteilungsregeln"
    assert Notification.objects.filter(user=manager, kind="unassigned").exists()


def test_members_at_work_are_preferred_over_members_who_are_off_now(
    sales_team, always_open, django_capture_on_commit_callbacks
):
    early, late = make_reps(sales_team, 2)
    today = timezone.now().astimezone(UTC).weekday()
    # Works every other day, not today (a time of day later today would wrap past midnight
    # when the test runs late in the evening).
    off_today = services.calendar_save(
        name="Spätschicht",
        country="",
        hours=[(d, time(8), time(17)) for d in range(7) if d != today],
        time_zone="UTC",
    )
    pool = make_pool("Schichten", [early], team=sales_team)
    services.pool_member_add(pool=pool, user=late, calendar=off_today)
    default_rule_to(pool)
    owners = {make_mql(django_capture_on_commit_callbacks).owner for _ in range(4)}
    assert owners == {early}


def test_partner_members_receive_leads_they_can_see(
    always_open, django_capture_on_commit_callbacks
):
    weber = PartnerCompanyFactory(name="Systemhaus Weber GmbH", tier="gold")
    partner = UserFactory(username="weber", roles=[Role.PARTNER], partner=weber, email="p@weber.de")
    pool = make_pool("Partner", [partner], kind=PoolKind.PARTNER)
    default_rule_to(pool)
    lead = make_mql(django_capture_on_commit_callbacks)
    assert (lead.owner, lead.partner) == (partner, weber)
    assert lead_get(user=partner, uuid=lead.uuid) is not None


def test_an_owned_or_closed_lead_is_left_alone(team_pool):
    pool, reps = team_pool
    owned = new_lead(owner=reps[0])
    lost = new_lead()
    lost.stage = Stage.LOST
    lost.save()
    assert services.lead_route(lead_id=owned.pk, trigger=Trigger.MQL).skipped
    assert services.lead_route(lead_id=lost.pk, trigger=Trigger.MQL).skipped
    assert not Assignment.objects.exists()


def test_a_manual_owner_change_is_recorded_notified_and_takes_the_lead_out_of_the_ledger(
    team_pool, manager, django_capture_on_commit_callbacks, mailbox
):
    pool, reps = team_pool
    lead = make_mql(django_capture_on_commit_callbacks)
    first_owner = lead.owner
    other = next(r for r in reps if r != first_owner)
    mailbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        lead_update(lead=lead, actor=manager, changes={"owner": other})
    old, new = Assignment.objects.filter(lead=lead).order_by("assigned_at", "id")
    assert (old.status, new.status) == (AssignmentStatus.RELEASED, AssignmentStatus.OPEN)
    assert (new.user, new.trigger, new.assigned_by) == (other, Trigger.MANUAL, manager)
    assert sum(e.count for e in LedgerEntry.objects.filter(user=first_owner)) == 0
    timers = SlaTimer.objects.filter(lead=lead).order_by("id")
    assert [t.state for t in timers] == ["cancelled", "running"]
    assert [m["X-Envelope-To"] for m in mailbox.messages] == [other.email]


def test_assigning_a_queued_lead_by_hand_resolves_the_queue_and_keeps_the_clock_start(
    sales_team, always_open, manager, django_capture_on_commit_callbacks
):
    (rep,) = make_reps(sales_team, 1)
    lead = make_mql(django_capture_on_commit_callbacks)  # no rules: queued
    entry = UnassignedLead.objects.get(lead=lead)
    with django_capture_on_commit_callbacks(execute=True):
        lead_update(lead=lead, actor=manager, changes={"owner": rep})
    entry.refresh_from_db()
    assert entry.resolved_at is not None
    timer = SlaTimer.objects.get(lead=lead)
    assert timer.started_at == entry.entered_at


def test_leads_through_the_service_are_fairer_than_round_robin_on_the_same_leads(
    sales_team, always_open
):
    reps = make_reps(sales_team, 4)
    pool = make_pool("Fair", reps, team=sales_team)
    default_rule_to(pool)
    channels = [
        ChannelFactory(slug=slug, value_weight=w)
        for slug, w in (("messe", "1.20"), ("web", "0.80"), ("tele", "1.50"), ("ads", "0.60"))
    ]
    bands = ["1-9", "10-49", "50-249", "250-999", "1000-4999", "5000+"]
    rng = random.Random(4)
    leads = [
        new_lead(channel=rng.choice(channels), company=company(employee_band=rng.choice(bands)))
        for _ in range(120)
    ]
    start = timezone.now() - timedelta(minutes=1)
    for lead in leads:
        lead.stage = Stage.MQL
        lead.save(update_fields=["stage"])
        services.lead_route(lead_id=lead.pk, trigger=Trigger.MQL)
    report = fairness_report(pool=pool, start=start, end=timezone.now() + timedelta(minutes=1))
    counts = sorted(r.count for r in report.rows)
    assert counts == [30, 30, 30, 30]
    rr = [0.0] * 4
    for i, a in enumerate(Assignment.objects.order_by("assigned_at", "id")):
        rr[i % 4] += a.quality
    from leadwerk.routing.fairness import gini

    rr_means = [q / 30 for q in rr]
    assert report.quality_gini * 3 < gini(rr)
    assert report.mean_quality_ratio - 1 < (max(rr_means) / min(rr_means) - 1) / 3


def test_a_queued_lead_that_marketing_closes_leaves_the_queue(
    always_open, admin_user, django_capture_on_commit_callbacks
):
    from leadwerk.leads.services import lead_transition
    from leadwerk.routing.selectors import unassigned_count, unassigned_queue

    lead = make_mql(django_capture_on_commit_callbacks)  # no rules: queued
    assert [row["lead"] for row in unassigned_queue(user=admin_user)] == [lead]
    assert unassigned_count(user=admin_user) == 1
    lead_transition(lead=lead, to_stage=Stage.DISQUALIFIED, actor=admin_user, reason="Spam")
    assert unassigned_queue(user=admin_user) == []
    assert unassigned_count(user=admin_user) == 0


def test_every_assignment_is_in_the_audit_log(team_pool, django_capture_on_commit_callbacks):
    from leadwerk.audit.models import AuditEntry

    lead = make_mql(django_capture_on_commit_callbacks)
    entry = AuditEntry.objects.get(action="assign", object_id=str(lead.uuid))
    assert entry.after == {
        "owner": str(lead.owner),
        "rule": "Alle übrigen Leads",
        "pool": "Vertrieb Nord",
    }
    assert entry.before == {"owner": None} and entry.person_uuid == lead.person.uuid
