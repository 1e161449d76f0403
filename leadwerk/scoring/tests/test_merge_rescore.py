"""A merge of two people pools their events for the survivor's leads; an unmerge splits
them again (scores are recomputed through the dedup signals, not by hand)."""

from __future__ import annotations

import math

import pytest

from leadwerk.dedup.models import MergeRecord
from leadwerk.dedup.services import merge_undo, person_merge
from leadwerk.leads.choices import Stage
from leadwerk.scoring.models import LeadScore

from .helpers import ago, make_lead, record

pytestmark = pytest.mark.django_db


def engagement(lead) -> float:
    return LeadScore.objects.get(lead=lead).engagement_now


def test_merging_pools_the_events_and_unmerging_splits_them(admin_user):
    first = make_lead(grade="A", email="ada@muster-maschinen.de")
    second = make_lead(grade="A", email="ada.lovelace@muster-maschinen.de")
    record(first.person, ("form_submit", ago(days=2)))
    record(
        second.person,
        ("download", ago(hours=1)),
        ("web_visit", ago(minutes=5), {"path": "/preise"}),
    )
    before_first, before_second = engagement(first), engagement(second)
    assert before_first < 60 and before_second < 60
    first.refresh_from_db()
    assert first.stage == Stage.NEW

    person_merge(survivor=first.person, merged=second.person, actor=admin_user)

    first.refresh_from_db()
    pooled = engagement(first)
    assert pooled > before_first and pooled > before_second
    assert pooled >= 60 and first.stage == Stage.MQL
    assert "Lead" in first.stage_changes.get(to_stage=Stage.MQL).reason

    merge_undo(record=MergeRecord.objects.get(), actor=admin_user)

    assert math.isclose(engagement(first), before_first, rel_tol=1e-3)
    assert math.isclose(engagement(second), before_second, rel_tol=1e-3)
