"""The sales feedback report: MQLs by score band against what sales did with them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leadwerk.leads.choices import Stage
from leadwerk.leads.services import lead_transition
from leadwerk.scoring.selectors import report_period, sales_feedback
from leadwerk.scoring.services import scores_sweep_due

from .helpers import make_lead, record

pytestmark = pytest.mark.django_db


def handed_off(**extra_events):
    """An A lead that scoring hands to sales: band 2 (form + download + pricing page)."""
    lead = make_lead(grade="A")
    now = timezone.now()
    record(
        lead.person,
        ("form_submit", now - timedelta(minutes=5)),
        ("download", now - timedelta(minutes=4)),
        ("web_visit", now - timedelta(minutes=3), {"path": "/preise"}),
    )
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    return lead


@pytest.fixture
def feedback(rep):
    # Band 2, accepted and won.
    won = handed_off()
    for stage in (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON):
        lead_transition(lead=won, to_stage=stage, actor=rep)
    # Band 2, rejected by sales.
    rejected = handed_off()
    lead_transition(lead=rejected, to_stage=Stage.RECYCLED, actor=rep, reason="Kein Budget")
    # Band 2, never accepted: decays below the floor and scoring recycles it.
    decayed = handed_off()
    scores_sweep_due(now=timezone.now() + timedelta(days=120))
    decayed.refresh_from_db()
    assert decayed.stage == Stage.RECYCLED
    # Band 2, still waiting.
    waiting = handed_off()
    # A manual MQL of a lead without events: band 4 computed from (no) events.
    manual = make_lead(grade="B")
    lead_transition(lead=manual, to_stage=Stage.MQL, actor=rep)
    lead_transition(lead=manual, to_stage=Stage.SAL, actor=rep)
    lead_transition(lead=manual, to_stage=Stage.DISQUALIFIED, actor=rep, reason="Student")
    return {"won": won, "rejected": rejected, "decayed": decayed, "waiting": waiting}


def test_mqls_by_band_against_what_sales_did(admin_user, feedback):
    date_from, date_to = report_period(90)
    data = sales_feedback(user=admin_user, date_from=date_from, date_to=date_to)
    rows = {r.key: r for r in data["rows"]}
    band2 = rows["2"]
    assert band2.mqls == 4
    assert band2.counts["accepted"] == 1 and band2.counts["won"] == 1
    assert band2.counts["rejected"] == 1 and band2.reasons["Kein Budget"] == 1
    assert band2.counts["recycled_by_decay"] == 1
    assert band2.counts["open"] == 1
    assert band2.accepted_rate == 25 and band2.won_rate == 25
    band4 = rows["4"]
    assert band4.mqls == 1 and band4.counts["accepted"] == 1
    assert data["total"].mqls == 5


def test_by_matrix_cell(admin_user, feedback):
    date_from, date_to = report_period(90)
    data = sales_feedback(user=admin_user, date_from=date_from, date_to=date_to, by="cell")
    assert [r.key for r in data["rows"]] == ["A2", "B4"]


def test_the_report_page(admin_user, feedback):
    client = Client()
    client.force_login(admin_user)
    html = client.get(reverse("scoring:report"), {"days": 30}).content.decode()
    assert "Kein Budget (1)" in html
    assert "25 %" in html


def test_a_manager_sees_only_the_feedback_on_leads_of_their_team(feedback, team, rep):
    from leadwerk.accounts.choices import Role
    from leadwerk.tests_support.factories import UserFactory

    team.manager = UserFactory(username="chefin", roles=[Role.SALES_MANAGER])
    team.save()
    feedback["won"].team = team
    feedback["won"].save(update_fields=["team"])
    date_from, date_to = report_period(90)
    data = sales_feedback(user=team.manager, date_from=date_from, date_to=date_to)
    assert data["total"].mqls == 1
