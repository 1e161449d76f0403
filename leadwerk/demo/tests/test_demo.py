import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction

from leadwerk.accounts.models import User
from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity
from leadwerk.campaigns.models import Campaign, Channel
from leadwerk.consent.choices import ConsentState
from leadwerk.consent.models import ConsentRecord, ConsentStatus
from leadwerk.consent.selectors import consent_text_current
from leadwerk.contacts.models import Company, Person
from leadwerk.dataquality.choices import FlagKind
from leadwerk.dataquality.models import CarePoints, QualitySnapshot, RecordFlag
from leadwerk.dedup.choices import CandidateStatus
from leadwerk.dedup.models import DuplicateCandidate
from leadwerk.demo.builder import DemoSize, build_demo
from leadwerk.imports.choices import JobStatus
from leadwerk.imports.models import ImportJob
from leadwerk.leads.choices import LeadSource, Stage
from leadwerk.leads.models import Lead
from leadwerk.routing.choices import AssignmentStatus, PoolKind, TimerState
from leadwerk.routing.conditions import conditions_match
from leadwerk.routing.lead_facts import lead_facts
from leadwerk.routing.models import (
    Absence,
    Assignment,
    BusinessCalendar,
    LeadRejection,
    Pool,
    PoolMember,
    RoutingRule,
    SlaPolicy,
    SlaTimer,
    UnassignedLead,
)
from leadwerk.routing.reports import fairness_report
from leadwerk.routing.selectors import notification_unread_count
from leadwerk.scoring.choices import ModelStatus
from leadwerk.scoring.models import LeadScore, ScoringModel

pytestmark = pytest.mark.django_db

ANCHOR = date(2026, 6, 30)
ANCHOR_AT = datetime(2026, 6, 30, 17, 30, tzinfo=UTC)
# Stages in which a lead has been handed to sales: it must have an owner.
OWNED_STAGES = [Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST]


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return build_demo(seed=7, anchor=ANCHOR, size=DemoSize.small())


def test_demo_has_every_role_channel_ranking_and_all_stages(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    stats = build_demo(seed=7, anchor=ANCHOR, size=DemoSize.small())
    # 800 generated leads and the eight of the imported trade-fair list.
    assert stats["leads"] == Lead.objects.count() == 808
    assert stats["activities"] == Activity.objects.count() >= 5_000
    # Generated ones, plus the planted duplicates and the imported list's.
    assert stats["companies"] == 200 and stats["persons"] == 500
    assert Company.objects.count() > 200 and Person.objects.count() > 500
    assert Campaign.objects.count() == 12
    ranking = list(Channel.objects.order_by("rank").values_list("slug", flat=True))[:6]
    assert ranking == ["telemarketing", "direct-mail", "events", "trade-fair", "website", "social"]
    assert set(Lead.objects.values_list("stage", flat=True)) == set(Stage.values)
    groups = set(User.objects.values_list("groups__name", flat=True))
    assert {"Marketing", "Inside sales", "Sales rep", "Sales manager", "Partner", "Admin"} <= groups
    assert Person.objects.filter(title__startswith="Dr.").exists()
    assert Person.objects.filter(last_name__regex=r"[äöüß]").exists()
    assert (tmp_path / "demo_admin_token").read_text().startswith("lw_")


def test_demo_routes_by_region_and_channel_into_pools_with_fair_shares(demo):
    pools = {p.name: p for p in Pool.objects.all()}
    assert set(pools) == {
        "Vertrieb Nord",
        "Vertrieb Süd",
        "Partnernetz",
        "Kleinstunternehmen & DACH (gemischt)",
    }
    assert {m.user.username for m in pools["Partnernetz"].members.all()} == {"partner", "partner2"}
    assert pools["Kleinstunternehmen & DACH (gemischt)"].kind == PoolKind.MIXED
    rules = list(RoutingRule.objects.all())
    assert rules[-1].is_default and len(rules) == 6
    assert rules[0].conditions == {"channels": ["partner"]}
    assert PoolMember.objects.filter(share=Decimal("0.50")).exists()
    assert PoolMember.objects.filter(capacity__isnull=False).exists()
    assert Absence.objects.filter(user__username="rep4", note="Urlaub").exists()
    assert BusinessCalendar.objects.filter(
        subdivision="BY", company_holidays__isnull=False
    ).exists()
    assert {p.label for p in SlaPolicy.objects.filter(channel=None)} == {"", "hot"}

    # Every lead handed to sales has an owner, chosen by the rules among the pool's members.
    assert not Lead.objects.filter(stage__in=OWNED_STAGES, owner__isnull=True).exists()
    assignments = Assignment.objects.select_related(
        "lead__company", "lead__channel", "lead__campaign", "pool"
    )
    members = set(PoolMember.objects.values_list("pool_id", "user_id"))
    for a in assignments:
        assert (a.pool_id, a.user_id) in members
        facts = lead_facts(a.lead)
        expected = next(r for r in rules if r.is_default or conditions_match(r.conditions, facts))
        assert a.rule_id == expected.pk and a.pool_id == expected.target_pool_id
    partner_leads = Lead.objects.filter(channel__slug="partner", owner__isnull=False)
    assert partner_leads.exists()
    assert not partner_leads.filter(owner__partner__isnull=True).exists()

    # The fairness report of each pool has a row per member with the leads they received;
    # the half-time seat got about half as many as the full one.
    for pool in pools.values():
        report = fairness_report(pool=pool, start=ANCHOR_AT - timedelta(days=600), end=ANCHOR_AT)
        assert report.rows and all(r.count > 0 for r in report.rows)
    sued = {
        r.user.username: r.count
        for r in fairness_report(
            pool=pools["Vertrieb Süd"], start=ANCHOR_AT - timedelta(days=600), end=ANCHOR_AT
        ).rows
    }
    assert 0.35 < sued["rep2"] / sued["rep"] < 0.65

    # Sales rejected some MQLs with a reason from the list; they went where the reason says.
    rejections = LeadRejection.objects.select_related("lead", "reason", "assignment")
    assert {r.reason.outcome for r in rejections} == {Stage.RECYCLED, Stage.DISQUALIFIED}
    for r in rejections:
        assert r.lead.stage == r.reason.outcome and r.lead.owner_id is None
        assert r.assignment.status == AssignmentStatus.REJECTED and r.by_id == r.assignment.user_id
    # History with missed response times escalated to the team manager.
    late = SlaTimer.objects.filter(breached_at__isnull=False)
    assert late.exists() and not late.filter(escalated_to__isnull=True).exists()
    assert Activity.objects.filter(type=ActivityType.SLA, subject__contains="eskaliert").exists()
    # Fresh MQLs wait for accept or reject, each with its inbox notification.
    waiting = Assignment.objects.filter(status=AssignmentStatus.OPEN)
    assert waiting.exists()
    assert demo["leads waiting for sales"] == waiting.count()
    for a in waiting:
        assert a.lead.stage == Stage.MQL and a.lead.owner_id == a.user_id
        assert notification_unread_count(user=a.user) > 0
        assert SlaTimer.objects.filter(assignment=a, state=TimerState.RUNNING).exists()


def test_demo_has_duplicates_to_review_an_import_bounces_care_points_and_history(demo):
    open_pairs = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN)
    assert open_pairs.filter(entity="person").exists()
    assert open_pairs.filter(entity="company").exists()
    assert demo["possible duplicates"] == open_pairs.count()
    job = ImportJob.objects.get()
    assert job.status == JobStatus.DONE and job.rows_done == 8
    assert job.file_name == "it-sa-2025-standbesucher.csv"
    assert Lead.objects.filter(campaign__slug="it-sa-2025", source=LeadSource.IMPORT).exists()
    bounced = RecordFlag.objects.filter(kind=FlagKind.BOUNCED, resolved_at__isnull=True)
    assert bounced.count() == demo["bounced e-mails"] >= 3
    leaders = set(CarePoints.objects.values_list("user__username", flat=True))
    assert {"telesales", "marketing", "rep"} <= leaders
    assert not CarePoints.objects.filter(occurred_at__gt=ANCHOR_AT).exists()
    days = list(QualitySnapshot.objects.order_by("day").values_list("day", flat=True))
    assert len(days) >= 10 and days[-1] == ANCHOR


def test_demo_has_published_consent_texts_and_every_consent_state(demo):
    for language in ("de", "en"):
        for purpose, channel in (
            ("newsletter", "email"),
            ("product_marketing", "email"),
            ("product_marketing", "phone"),
        ):
            text = consent_text_current(purpose=purpose, channel=channel, language=language)
            assert text is not None and text.text
    states = set(ConsentStatus.objects.values_list("state", flat=True))
    assert states == {ConsentState.GRANTED, ConsentState.WITHDRAWN, ConsentState.PENDING}
    withdrawn = ConsentStatus.objects.filter(state=ConsentState.WITHDRAWN).first()
    history = ConsentRecord.objects.filter(
        person=withdrawn.person, purpose=withdrawn.purpose, channel=withdrawn.channel
    )
    assert history.count() >= 2
    assert ConsentStatus.objects.filter(purpose="product_marketing", channel="phone").exists()


def _snapshot():
    until = datetime.combine(ANCHOR, datetime.max.time(), tzinfo=UTC)
    return {
        "persons": list(
            Person.objects.order_by("created_at", "email").values_list(
                "first_name", "last_name", "email"
            )
        ),
        "leads": list(
            Lead.objects.filter(created_at__lte=until)
            .order_by("uuid")
            .values_list("uuid", "stage", "channel__slug", "created_at", "owner__username")
        ),
        "assignments": sorted(
            Assignment.objects.values_list("lead__uuid", "user__username", "pool__name", "status")
        ),
        "duplicates": sorted(
            DuplicateCandidate.objects.values_list(
                "person_a__email", "person_b__email", "company_a__name", "company_b__name"
            ),
            key=str,
        ),
        "consents": sorted(
            ConsentStatus.objects.values_list("person__email", "purpose", "channel", "state")
        ),
    }


def test_demo_is_deterministic(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    snapshots = []
    for _ in range(2):
        with transaction.atomic():
            build_demo(seed=3, anchor=ANCHOR, size=DemoSize.small())
            snapshots.append(_snapshot())
            transaction.set_rollback(True)
    first, second = snapshots
    assert first["leads"] and first["assignments"] and first["duplicates"]
    for key in first:
        assert first[key] == second[key], key


def test_demo_command_loads_once(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo", "--small", "--anchor", "2026-06-30")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already loaded"):
        call_command("demo", "--small")


def test_demo_command_scores_and_routes_every_lead_it_hands_to_sales(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo", "--small", "--anchor", "2026-06-30", stdout=io.StringIO())
    model = ScoringModel.objects.get(status=ModelStatus.ACTIVE)
    assert model.name == "B2B-Standard"
    assert LeadScore.objects.filter(model=model).count() == Lead.objects.count()
    # Tracking events (page views, downloads, clicks) count towards the engagement.
    assert Activity.objects.filter(type=ActivityType.WEB_VISIT).exists()
    assert LeadScore.objects.filter(counted__gt=0).count() > 100
    # The leads scoring handed to sales went to the pools, not into the unassigned queue.
    assert not UnassignedLead.objects.filter(resolved_at__isnull=True).exists()
    assert not Lead.objects.filter(stage__in=OWNED_STAGES, owner__isnull=True).exists()
