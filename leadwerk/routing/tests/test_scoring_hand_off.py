"""Scoring's automatic hand-off (issue 3) starts routing, and routing reads scoring's facts:
a rule on fit grade and label, quality from the score, the response time for hot leads."""

from __future__ import annotations

import pytest

from leadwerk.leads.choices import Stage
from leadwerk.routing import services
from leadwerk.routing.choices import TargetType
from leadwerk.routing.lead_facts import lead_facts
from leadwerk.routing.lead_quality import lead_quality
from leadwerk.routing.models import Assignment, SlaTimer
from leadwerk.scoring.tests.helpers import ago, make_lead, record

from .conftest import default_rule_to, make_pool, make_reps

pytestmark = pytest.mark.django_db


def test_a_hot_a_lead_handed_off_by_scoring_goes_to_the_key_account_rule_with_one_hour(
    sales_team, always_open, django_capture_on_commit_callbacks
):
    star, *others = make_reps(sales_team, 3)
    default_rule_to(make_pool("Nord", others, team=sales_team))
    services.rule_save(
        name="Heiße A-Leads",
        conditions={"fit_grades": ["A"], "labels": ["hot"]},
        target_type=TargetType.USER,
        target_user=star,
    )
    lead = make_lead(grade="A")
    with django_capture_on_commit_callbacks(execute=True):
        record(lead.person, ("form_submit", ago(days=2)))
        record(
            lead.person,
            ("download", ago(hours=1)),
            ("web_visit", ago(minutes=5), {"path": "/preise"}),
        )
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL  # scoring's hand-off …
    assert lead.owner == star  # … and routing by fit grade and label
    facts = lead_facts(lead)
    assert (facts["fit_grade"], facts["label"]) == ("A", "hot") and facts["score"] >= 60
    assert Assignment.objects.get(lead=lead).quality == pytest.approx(lead_quality(facts))
    assert lead_quality(facts) >= 1.5 * 60 / 50  # fit factor A × engagement / 50
    timer = SlaTimer.objects.get(lead=lead)
    assert (timer.terms["value"], timer.terms["unit"], timer.terms["label"]) == (1, "hours", "hot")


def test_an_unscored_lead_has_no_grade_or_label_and_falls_back_to_channel_and_size(db):
    lead = make_lead(grade="B")
    facts = lead_facts(lead)
    assert "fit_grade" not in facts and "label" not in facts
    assert lead_quality(facts) == pytest.approx(1.0 * 1.0)  # weight 1.00, 50–249 employees
