import pytest

from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.leads.choices import TRANSITIONS, Stage
from leadwerk.leads.services import lead_transition
from leadwerk.tests_support.factories import LeadFactory

pytestmark = pytest.mark.django_db

ALL_MOVES = [(a, b) for a in Stage.values for b in Stage.values if a != b]


@pytest.mark.parametrize(("from_stage", "to_stage"), ALL_MOVES)
def test_every_move_is_allowed_exactly_when_the_lifecycle_says_so(from_stage, to_stage, rep):
    lead = LeadFactory(stage=from_stage)
    if to_stage in TRANSITIONS[from_stage]:
        change = lead_transition(lead=lead, to_stage=to_stage, actor=rep, reason="weil")
        lead.refresh_from_db()
        assert lead.stage == to_stage
        assert (change.from_stage, change.to_stage, change.by, change.reason) == (
            from_stage,
            to_stage,
            rep,
            "weil",
        )
    else:
        with pytest.raises(Conflict) as exc:
            lead_transition(lead=lead, to_stage=to_stage, actor=rep, reason="weil")
        assert exc.value.code == "transition_not_allowed"
        lead.refresh_from_db()
        assert lead.stage == from_stage
        assert lead.stage_changes.count() == 1


def test_illegal_transition_names_the_allowed_stages(rep):
    lead = LeadFactory(stage=Stage.NEW)
    with pytest.raises(Conflict) as exc:
        lead_transition(lead=lead, to_stage=Stage.WON, actor=rep)
    assert sorted(exc.value.extra["allowed"]) == sorted(TRANSITIONS[Stage.NEW])
    assert "MQL" in exc.value.message


@pytest.mark.parametrize("to_stage", [Stage.DISQUALIFIED, Stage.RECYCLED])
def test_moves_out_of_the_funnel_need_a_reason(to_stage, rep):
    lead = LeadFactory(stage=Stage.MQL)
    with pytest.raises(DomainValidationError) as exc:
        lead_transition(lead=lead, to_stage=to_stage, actor=rep, reason="   ")
    assert exc.value.errors[0].loc == ("reason",)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_closing_sets_and_reopening_clears_closed_at(rep):
    lead = LeadFactory(stage=Stage.SQL)
    lead_transition(lead=lead, to_stage=Stage.LOST, actor=rep, reason="Preis")
    lead.refresh_from_db()
    assert lead.closed_at is not None
    lead_transition(lead=lead, to_stage=Stage.RECYCLED, actor=rep, reason="neuer Anlauf")
    lead.refresh_from_db()
    assert lead.closed_at is None


def test_a_transition_lands_on_the_timeline(rep):
    lead = LeadFactory(stage=Stage.NEW)
    lead_transition(lead=lead, to_stage=Stage.MQL, actor=rep, reason="Score 70")
    entry = lead.activities.get()
    assert entry.type == "stage_change"
    assert entry.actor == rep
    assert entry.payload == {"from": "new", "to": "mql", "reason": "Score 70"}


def test_unknown_target_stage_is_a_validation_error(rep):
    lead = LeadFactory()
    with pytest.raises(DomainValidationError):
        lead_transition(lead=lead, to_stage="hot", actor=rep)
