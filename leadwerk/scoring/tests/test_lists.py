"""Lists sort and filter by the current score, computed at read time in SQL."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from leadwerk.leads.selectors import LeadFilters, lead_list
from leadwerk.scoring.expressions import engagement_expression
from leadwerk.scoring.models import LeadScore
from leadwerk.tests_support.factories import LeadFactory

from .helpers import make_lead, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(db):
    """Leads with known engagement today, one with points from years ago (a value so small
    it underflows), one with a negative total, one never scored."""
    now = timezone.now()
    leads = {}
    for name, events in {
        "hot": [("form_submit", now - timedelta(days=1)), ("download", now - timedelta(hours=2))],
        "warm": [("form_submit", now - timedelta(days=30))],
        "cool": [("web_visit", now - timedelta(days=3))],
        "ancient": [("web_visit", now - timedelta(days=5000))],
        "negative": [("unsubscribe", now - timedelta(days=2))],
    }.items():
        lead = make_lead(grade="C")
        record(lead.person, *events, now=now)
        leads[name] = lead
    leads["unscored"] = LeadFactory()
    return leads


def test_the_sql_engagement_equals_the_python_one_for_every_lead(scored):
    now = timezone.now()
    rows = LeadScore.objects.annotate(sql=engagement_expression(now=now, prefix="")).values_list(
        "lead_id", "sql"
    )
    python = {s.lead_id: s.engagement_at(now) for s in LeadScore.objects.all()}
    assert len(rows) == 5
    for lead_id, sql in rows:
        assert math.isclose(sql, python[lead_id], rel_tol=1e-9, abs_tol=1e-12)


def test_sorting_by_score_orders_by_the_current_engagement(admin_user, scored):
    names = {lead.pk: name for name, lead in scored.items()}
    order = [
        names[lead.pk] for lead in lead_list(user=admin_user, filters=LeadFilters(sort="-score"))
    ]
    assert order[:3] == ["hot", "warm", "cool"]
    assert order[-1] == "negative"
    assert set(order[3:5]) == {"ancient", "unscored"}  # both count as (about) zero
    ascending = [
        names[lead.pk] for lead in lead_list(user=admin_user, filters=LeadFilters(sort="score"))
    ]
    assert ascending[0] == "negative" and ascending[-1] == "hot"


def test_the_minimum_score_filter_uses_the_engagement_after_decay(admin_user, scored):
    found = lead_list(user=admin_user, filters=LeadFilters(min_score=30))
    assert {lead.pk for lead in found} == {scored["hot"].pk, scored["warm"].pk}
    # The form from 30 days ago has decayed to about 31 points (half-life 45 days).
    assert {lead.pk for lead in lead_list(user=admin_user, filters=LeadFilters(min_score=32))} == {
        scored["hot"].pk
    }


def test_filter_by_fit_grade(admin_user, scored):
    a_lead = make_lead(grade="A")
    record(a_lead.person, ("web_visit", timezone.now() - timedelta(minutes=1)))
    found = lead_list(user=admin_user, filters=LeadFilters(grades=["A", "B"]))
    assert [lead.pk for lead in found] == [a_lead.pk]


def test_the_lead_list_api_sorts_and_filters_by_score(api, scored):
    response = api.get("/api/v1/leads", {"sort": "-score", "min_score": 0.5})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [r["id"] for r in body["results"]] == [
        str(scored[name].uuid) for name in ("hot", "warm", "cool")
    ]
    assert body["results"][0]["score"]["fit_grade"] == "C"
    assert body["results"][0]["score"]["engagement"] > body["results"][1]["score"]["engagement"]
    response = api.get("/api/v1/leads", {"grade": ["A"], "sort": "-fit"})
    assert response.status_code == 200 and response.json()["count"] == 0


def test_a_bad_score_filter_is_named(api, db):
    response = api.get("/api/v1/leads", {"min_score": "viel", "grade": "E"})
    assert response.status_code == 422
    locs = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert ("query", "min_score") in locs
    assert any(loc[-2:] == ("grade", 0) for loc in locs)
