"""Scores after events and intake, automatic hand-off and recycling, the decay sweep."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from leadwerk.activities.choices import ActivityType
from leadwerk.leads.choices import LeadSource, Stage
from leadwerk.leads.intake import LeadIn
from leadwerk.leads.models import StageChange
from leadwerk.leads.services import lead_intake, lead_log_activity, lead_transition
from leadwerk.scoring.choices import SnapshotKind
from leadwerk.scoring.decay import DAY
from leadwerk.scoring.models import LeadScore, LeadScoreState, ScoreSnapshot
from leadwerk.scoring.services import (
    persons_rescore,
    scores_sweep_due,
    scoring_model_activate,
    scoring_model_create,
)

from .helpers import ago, default_document, make_lead, record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Stage change reasons are written in the active language; these tests read English."""
    with translation.override("en"):
        yield


def score_of(lead) -> LeadScore:
    return LeadScore.objects.select_related("model").get(lead=lead)


def kept_of(lead) -> dict:
    return LeadScoreState.objects.get(lead=lead).kept


def test_a_form_lead_gets_its_fit_and_50_points_at_intake(channel):
    result = lead_intake(
        data=LeadIn.model_validate(
            {
                "person": {"email": "ada@muster-maschinen.de", "job_title": "Geschäftsführerin"},
                "company": {
                    "name": "Muster Maschinen GmbH",
                    "employees": 250,
                    "country": "DE",
                    "industry": "Maschinenbau",
                },
                "channel": channel.slug,
            }
        ),
        source=LeadSource.FORM,
    )
    score = score_of(result.lead)
    assert (score.fit_points, score.fit_grade) == (70, "A")
    assert math.isclose(score.engagement_now, 50.0, rel_tol=1e-6)
    assert result.lead.stage == Stage.NEW  # 50 < 60: not yet sales-ready


def test_events_that_reach_the_threshold_hand_the_lead_to_sales_with_the_reason():
    lead = make_lead(grade="A")
    record(lead.person, ("form_submit", ago(days=2)))
    assert lead.stage_changes.filter(to_stage=Stage.MQL).count() == 0
    result = record(
        lead.person, ("download", ago(hours=1)), ("web_visit", ago(minutes=5), {"path": "/preise"})
    )
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    change = lead.stage_changes.get(to_stage=Stage.MQL)
    assert change.by is None
    assert "fit A (70 points)" in change.reason and "≥ 60" in change.reason
    [outcome] = result.outcomes
    assert outcome.action == Stage.MQL
    snapshot = ScoreSnapshot.objects.get(stage_change=change)
    assert (snapshot.kind, snapshot.fit_grade, snapshot.band) == (SnapshotKind.HANDOFF, "A", 2)
    assert snapshot.engagement >= 60
    # The move is on the lead's timeline like every stage change.
    assert lead.activities.filter(type=ActivityType.STAGE_CHANGE).exists()


def test_a_poor_fit_is_not_handed_off_however_engaged():
    lead = make_lead(grade="C")
    record(lead.person, *[("form_submit", ago(hours=h)) for h in (1, 2, 3)])
    lead.refresh_from_db()
    assert score_of(lead).fit_grade == "C"
    assert score_of(lead).engagement_now > 100
    assert lead.stage == Stage.NEW


def test_events_recorded_in_any_order_give_the_same_score():
    events = [
        ("form_submit", ago(days=20)),
        ("download", ago(days=3)),
        ("web_visit", ago(days=1), {"path": "/preise"}),
        ("unsubscribe", ago(days=9)),
        ("download", ago(days=40)),
        ("download", ago(days=2)),
        ("download", ago(days=1)),
    ]
    first, second = make_lead(grade="B"), make_lead(grade="B")
    for event in events:
        record(first.person, event)
    for event in reversed(events):
        record(second.person, event)
    a, b = score_of(first), score_of(second)
    for days in (0, 10, 100):
        when = timezone.now() + timedelta(days=days)
        assert math.isclose(a.engagement_at(when), b.engagement_at(when), rel_tol=1e-12)
    # Form, three downloads (the oldest is beyond the cap of three), the pricing page (a
    # page view too) and the unsubscribe: seven rule matches count.
    assert a.counted == b.counted == 7
    moments = {rule: [at for at, _id in kept] for rule, kept in kept_of(first).items()}
    assert moments == {rule: [at for at, _id in kept] for rule, kept in kept_of(second).items()}


def test_decay_below_the_floor_recycles_an_mql_at_the_computed_moment():
    lead = make_lead(grade="A")
    record(lead.person, ("form_submit", ago(minutes=2)), ("meeting", ago(minutes=1)))
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    score = score_of(lead)
    # 50 points (half-life 45 days) + 30 points (30 days) fall below 60 first, then below 25.
    assert score.next_check_at is not None
    first = score.next_check_at
    assert scores_sweep_due(now=first - timedelta(seconds=2))["handled"] == 0
    assert scores_sweep_due(now=first)["moved"] == 0  # below 60 changes nothing for an MQL
    floor_at = score_of(lead).next_check_at
    value_before = score_of(lead).engagement_at(floor_at - timedelta(seconds=1))
    assert value_before >= 25 > score_of(lead).engagement_at(floor_at)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    result = scores_sweep_due(now=floor_at)
    assert result["moved"] == 1
    lead.refresh_from_db()
    assert lead.stage == Stage.RECYCLED
    change = lead.stage_changes.get(to_stage=Stage.RECYCLED)
    assert "below the floor of 25" in change.reason
    assert ScoreSnapshot.objects.get(stage_change=change).kind == SnapshotKind.RECYCLE
    # Idempotent: running the sweep again changes nothing.
    assert scores_sweep_due(now=floor_at + timedelta(minutes=1))["moved"] == 0
    assert lead.stage_changes.filter(to_stage=Stage.RECYCLED).count() == 1


def test_an_accepted_lead_is_not_recycled_by_decay(rep):
    lead = make_lead(grade="A")
    record(lead.person, ("form_submit", ago(minutes=2)), ("meeting", ago(minutes=1)))
    lead.refresh_from_db()
    lead_transition(lead=lead, to_stage=Stage.SAL, actor=rep)
    later = timezone.now() + timedelta(days=365)
    scores_sweep_due(now=later)
    lead.refresh_from_db()
    assert lead.stage == Stage.SAL
    assert score_of(lead).next_check_at is None


def test_an_unsubscribe_can_recycle_an_mql_at_once():
    lead = make_lead(grade="A")
    record(
        lead.person,
        ("form_submit", ago(minutes=10)),
        ("download", ago(minutes=9)),
        ("web_visit", ago(minutes=8), {"path": "/preise"}),
    )
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    # 69 - 40 (unsubscribe) - 20 (complaint) = 9: below the floor of 25 at once.
    record(lead.person, ("unsubscribe", ago(minutes=1)), ("complaint", ago(minutes=1)))
    lead.refresh_from_db()
    assert lead.stage == Stage.RECYCLED
    assert score_of(lead).engagement_now < 25


def test_a_recycled_lead_returns_to_sales_only_when_it_reaches_the_threshold_again(rep):
    lead = make_lead(grade="A")
    record(lead.person, ("form_submit", ago(minutes=3)), ("meeting", ago(minutes=2)))
    lead.refresh_from_db()
    lead_transition(lead=lead, to_stage=Stage.RECYCLED, actor=rep, reason="Kein Budget")
    # Still above the threshold: a page view does not override sales' decision.
    record(lead.person, ("web_visit", ago(minutes=1)))
    lead.refresh_from_db()
    assert lead.stage == Stage.RECYCLED
    # Weeks later the engagement has decayed below 60; new interest brings it back.
    later = timezone.now() + timedelta(days=40)
    assert score_of(lead).engagement_at(later) < 60
    record(lead.person, ("form_submit", later - timedelta(minutes=1)), now=later)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_a_lead_with_negative_points_fading_is_handed_off_when_it_rises_through_decay(
    marketing_user,
):
    # A model whose unsubscribe penalty (-80) fades within days (half-life 3 days), while
    # form submissions (+50 each) keep for 45 days.
    doc = default_document()
    doc["engagement"]["groups"].append({"key": "penalty", "name": "Abzüge", "half_life_days": 3})
    rule = next(r for r in doc["engagement"]["rules"] if r["id"] == "abmeldung")
    rule.update(group="penalty", points=-80)
    model = scoring_model_create(document=doc, actor=marketing_user)
    scoring_model_activate(model=model, actor=marketing_user)
    lead = make_lead(grade="A")
    now = timezone.now()
    record(
        lead.person,
        ("form_submit", now - timedelta(minutes=3)),
        ("form_submit", now - timedelta(minutes=2)),
        ("unsubscribe", now - timedelta(minutes=1)),
        now=now,
    )
    lead.refresh_from_db()
    score = score_of(lead)
    # 100 - 80 = 20 now; the penalty fades faster, so the engagement rises (to ~78 after
    # 11.5 days) before it falls.
    assert lead.stage == Stage.NEW
    # First it rises above the recycle floor (nothing to do for a new lead) ...
    floor = score.next_check_at
    assert score.engagement_at(floor) >= 25 > score.engagement_at(now)
    assert scores_sweep_due(now=floor)["moved"] == 0
    # ... then to the hand-off threshold, by decay alone.
    up = score_of(lead).next_check_at
    assert score.engagement_at(up) >= 60 > score.engagement_at(up - timedelta(seconds=1))
    assert scores_sweep_due(now=up)["moved"] == 1
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_the_next_check_is_the_exact_decay_crossing_for_one_group():
    lead = make_lead(grade="A", stage=Stage.MQL)
    now = timezone.now()
    record(lead.person, ("webinar_attended", now - timedelta(seconds=1)), now=now)
    score = score_of(lead)
    # 30 points, half-life 45 days: below the floor of 25 after 45 * log2(30/25) days.
    expected = now - timedelta(seconds=1) + timedelta(seconds=45 * DAY * math.log2(30 / 25))
    assert abs((score.next_check_at - expected).total_seconds()) <= 1


def test_a_logged_meeting_counts_for_the_score(rep):
    lead = make_lead(grade="A")
    lead_log_activity(lead=lead, actor=rep, type=ActivityType.MEETING, subject="Demo")
    assert math.isclose(score_of(lead).engagement_now, 30.0, rel_tol=1e-4)


def test_all_open_leads_of_the_person_are_scored_and_closed_ones_are_left():
    lead = make_lead(grade="A")
    closed = make_lead(grade="A", stage=Stage.WON)
    closed.person = lead.person
    closed.save(update_fields=["person"])
    outcomes = persons_rescore(person_ids=[lead.person_id])
    assert [o.lead.pk for o in outcomes] == [lead.pk]
    assert not LeadScore.objects.filter(lead=closed).exists()


def test_scores_are_written_once_per_lead_however_often_events_come():
    lead = make_lead(grade="B")
    for minutes in (5, 4, 3):
        record(lead.person, ("web_visit", ago(minutes=minutes)))
    assert LeadScore.objects.filter(lead=lead).count() == 1
    assert score_of(lead).counted == 3
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_taking_in_new_events_gives_what_scoring_the_whole_history_gives():
    lead = make_lead(grade="A")
    now = timezone.now()
    # Many page views (cap 30) arriving in batches, out of order, plus downloads (cap 3).
    for batch in range(5):
        record(
            lead.person,
            *[("web_visit", now - timedelta(hours=7 * i + batch)) for i in range(9)],
            ("download", now - timedelta(days=batch * 3 + 1)),
            now=now,
        )
    taken_in, kept = score_of(lead), kept_of(lead)
    from leadwerk.scoring.services import scores_rebuild

    scores_rebuild()
    rebuilt = score_of(lead)
    assert (taken_in.counted, kept) == (rebuilt.counted, kept_of(lead))
    assert taken_in.counted == 30 + 3
    for days in (0, 7, 60):
        when = now + timedelta(days=days)
        assert math.isclose(taken_in.engagement_at(when), rebuilt.engagement_at(when), rel_tol=1e-9)
