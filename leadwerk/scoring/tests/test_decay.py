"""The decay math and the engine, property-tested: anchors equal the naive sum, engagement
only falls without new events (for positive points), caps keep the most recent events, the
order of events does not matter, and threshold crossings are found exactly."""

from __future__ import annotations

import json
import math
from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from leadwerk.scoring.config import model_config_parse
from leadwerk.scoring.decay import (
    DAY,
    T0_EPOCH,
    Anchor,
    anchor_from,
    engagement_at,
    naive_engagement,
    next_crossing,
)
from leadwerk.scoring.engine import CompiledModel, EventFact

DEFAULT = Path(__file__).resolve().parents[1] / "defaults" / "b2b_standard.json"
NOW = T0_EPOCH + 6 * 365 * DAY  # 2026
HALF_LIVES = st.sampled_from([0.5 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY, 365 * DAY])
POINTS = st.integers(min_value=-100, max_value=100).filter(lambda p: p != 0)
AGES = st.floats(min_value=0, max_value=3 * 365 * DAY, allow_nan=False)
EVENTS = st.lists(st.tuples(POINTS, AGES), min_size=0, max_size=40)


def close(a: float, b: float, scale: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * (1 + scale))


@given(events=EVENTS, half_life=HALF_LIVES, later=st.floats(0, 400 * DAY))
def test_anchor_gives_the_same_value_as_summing_every_event(events, half_life, later):
    items = [(float(p), NOW - age) for p, age in events]
    anchor = anchor_from(items, half_life=half_life)
    t = NOW + later
    naive = naive_engagement([(p, ti, half_life) for p, ti in items], t)
    scale = sum(abs(p) * 2 ** (-(t - ti) / half_life) for p, ti in items)
    assert close(anchor.value_at(t), naive, scale)


@given(
    events=st.lists(st.tuples(st.integers(1, 100), AGES), max_size=40),
    half_life=HALF_LIVES,
    steps=st.lists(st.floats(0, 100 * DAY), min_size=2, max_size=10),
)
def test_positive_engagement_only_falls_when_nothing_happens(events, half_life, steps):
    anchor = anchor_from([(float(p), NOW - age) for p, age in events], half_life=half_life)
    moments = sorted(NOW + s for s in steps)
    values = [anchor.value_at(t) for t in moments]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    assert all(v >= 0 for v in values)


@given(events=EVENTS, half_life=HALF_LIVES, data=st.data())
def test_the_order_of_events_does_not_matter(events, half_life, data):
    items = [(float(p), NOW - age) for p, age in events]
    shuffled = data.draw(st.permutations(items))
    assert anchor_from(items, half_life=half_life) == anchor_from(shuffled, half_life=half_life)


def test_positive_and_negative_points_at_the_same_moment_cancel_exactly():
    anchor = anchor_from([(10.0, NOW), (-10.0, NOW)], half_life=30 * DAY)
    assert anchor.sign == 0
    assert anchor.value_at(NOW) == 0.0


def test_one_half_life_halves_the_points():
    anchor = anchor_from([(50.0, NOW)], half_life=30 * DAY)
    assert math.isclose(anchor.value_at(NOW + 30 * DAY), 25.0)
    assert math.isclose(anchor.value_at(NOW + 60 * DAY), 12.5)


def test_anchors_stay_finite_decades_after_the_epoch_with_short_half_lives():
    anchor = anchor_from([(5.0, T0_EPOCH + 40 * 365 * DAY)], half_life=0.5 * DAY)
    assert math.isfinite(anchor.k)
    assert math.isclose(anchor.value_at(T0_EPOCH + 40 * 365 * DAY), 5.0)


# --- the engine: rules, caps, several groups ------------------------------------------------

MODEL = CompiledModel(model_config_parse(DEFAULT.read_text()))
TYPES = ["web_visit", "download", "form_submit", "email_click", "unsubscribe", "meeting"]
PATHS = st.sampled_from(["/", "/preise", "/pricing/enterprise", "/blog", None])


@st.composite
def event_facts(draw, max_size=60):
    raw = draw(st.lists(st.tuples(st.sampled_from(TYPES), AGES, PATHS), max_size=max_size))
    return [
        EventFact(i + 1, t, NOW - age, "", {"path": path} if path else {})
        for i, (t, age, path) in enumerate(raw)
    ]


def naive_with_caps(model: CompiledModel, events: list[EventFact], t: float) -> float:
    """The definition written out the slow way: every rule, its matching events, the most
    recent max_count of them, each decayed by its group's half-life."""
    total = 0.0
    for rules in model.rules_by_type.values():
        for rule in rules:
            hits = sorted(
                (
                    e
                    for e in events
                    if e.at <= t
                    and e.type in model.rules_by_type
                    and rule in model.rules_by_type[e.type]
                    and rule.matches(e)
                ),
                key=lambda e: (e.at, e.id),
                reverse=True,
            )
            if rule.max_count is not None:
                hits = hits[: rule.max_count]
            half_life = model.half_lives[rule.group]
            total += sum(rule.points * 2 ** (-(t - e.at) / half_life) for e in hits)
    return total


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(events=event_facts(), later=st.floats(0, 200 * DAY))
def test_engine_equals_a_naive_recompute_with_caps(events, later):
    t = NOW + later
    result = MODEL.engagement(events)
    naive = naive_with_caps(MODEL, events, t)
    assert math.isclose(result.value_at(t), naive, rel_tol=1e-9, abs_tol=1e-7)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(events=event_facts(), data=st.data())
def test_engine_result_does_not_depend_on_event_order(events, data):
    shuffled = data.draw(st.permutations(events))
    a, b = MODEL.engagement(events, ordered=True), MODEL.engagement(shuffled, ordered=True)
    assert a.anchors == b.anchors
    assert a.counted == b.counted


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(events=event_facts())
def test_caps_count_at_most_max_count_events_per_rule_and_the_most_recent_ones(events):
    result = MODEL.engagement(events)
    rules = {r.id: r for r in MODEL.config.engagement.rules}
    per_rule: dict[str, list[EventFact]] = {}
    for c in result.counted:
        per_rule.setdefault(c.rule_id, []).append(c.event)
    for rule_id, counted in per_rule.items():
        cap = rules[rule_id].max_count
        if cap is not None:
            assert len(counted) <= cap
        newest_counted = min(e.at for e in counted)
        for c in result.capped:
            if c.rule_id == rule_id:
                assert c.event.at <= newest_counted


@given(extra_age=st.floats(min_value=1, max_value=100 * DAY))
def test_a_download_older_than_three_counted_ones_changes_nothing(extra_age):
    downloads = [EventFact(i, "download", NOW - i * DAY, "", {}) for i in range(1, 4)]
    older = EventFact(99, "download", NOW - 3 * DAY - extra_age, "", {})
    before = MODEL.engagement(downloads)
    after = MODEL.engagement([*downloads, older])
    assert before.anchors == after.anchors
    assert [c.event.id for c in after.capped] == [99]


def test_a_pricing_page_view_counts_for_both_rules():
    result = MODEL.engagement([EventFact(1, "web_visit", NOW, "", {"path": "/preise/erp"})])
    assert sorted(c.rule_id for c in result.counted) == ["preisseite", "seitenaufruf"]
    assert math.isclose(result.value_at(NOW), 11.0)


# --- threshold crossings ---------------------------------------------------------------------


def _state(anchors, thresholds, t):
    value = engagement_at(anchors, t)
    return tuple(value >= th for th in thresholds)


@st.composite
def group_anchors(draw):
    n = draw(st.integers(1, 4))
    anchors = []
    for _ in range(n):
        half_life = draw(HALF_LIVES)
        items = draw(st.lists(st.tuples(POINTS, st.floats(0, 60 * DAY)), min_size=1, max_size=8))
        anchors.append(anchor_from([(float(p), NOW - a) for p, a in items], half_life=half_life))
    return anchors


THRESHOLDS = st.lists(st.one_of(st.just(0.0), st.floats(0.01, 150)), min_size=1, max_size=3)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(anchors=group_anchors(), thresholds=THRESHOLDS)
def test_the_next_crossing_is_the_first_moment_the_state_changes(anchors, thresholds):
    crossing = next_crossing(anchors, thresholds, start=NOW, tol=0.5)
    horizon = NOW + 80 * max(a.half_life for a in anchors)
    start_state = _state(anchors, thresholds, NOW)
    end = horizon if crossing is None else crossing - 0.5
    # No change before the crossing (checked densely, on a log scale and a linear one) ...
    grid = [NOW + (end - NOW) * (i / 400) for i in range(401)]
    grid += [NOW + (end - NOW) * (2.0**-i) for i in range(1, 60)]
    assume(end > NOW)
    for t in grid:
        if NOW < t <= end:
            assert _state(anchors, thresholds, t) == start_state
    # ... and a changed state right at it.
    if crossing is not None:
        assert crossing > NOW
        assert _state(anchors, thresholds, crossing) != start_state


def test_a_single_group_crosses_when_the_formula_says():
    anchor = anchor_from([(80.0, NOW)], half_life=30 * DAY)
    crossing = next_crossing([anchor], [25.0], start=NOW)
    exact = NOW + 30 * DAY * math.log2(80 / 25)
    assert exact <= crossing <= exact + 0.5


def test_a_fading_penalty_lets_the_engagement_rise_above_a_threshold():
    # +100 decaying slowly, -80 (an unsubscribe) decaying fast: 20 now, rising, then falling.
    slow = anchor_from([(100.0, NOW)], half_life=90 * DAY)
    fast = anchor_from([(-80.0, NOW)], half_life=3 * DAY)
    up = next_crossing([slow, fast], [60.0], start=NOW)
    assert up is not None
    assert engagement_at([slow, fast], up) >= 60 > engagement_at([slow, fast], up - 1)
    down = next_crossing([slow, fast], [60.0], start=up)
    assert down is not None and down > up
    assert engagement_at([slow, fast], down) < 60


def test_no_crossing_when_nothing_is_engaged():
    assert next_crossing([Anchor.zero(DAY)], [25.0, 60.0], start=NOW) is None
    assert next_crossing([], [25.0], start=NOW) is None


def test_the_default_model_document_is_valid_and_canonical():
    data = json.loads(DEFAULT.read_text())
    cfg = model_config_parse(data)
    assert cfg.handoff.min_engagement == 60
    assert [g.key for g in cfg.engagement.groups] == ["web", "email", "conversion", "dialog"]


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(events=event_facts(), data=st.data())
def test_taking_in_events_batch_by_batch_equals_scoring_them_all(events, data):
    order = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=4)))
    state = MODEL.engagement([]).state()
    for start, end in pairwise([0, *cuts, len(order)]):
        state = MODEL.extend(state, order[start:end])
    full = MODEL.engagement(events).state()
    assert (state.kept, state.counted) == (full.kept, full.counted)
    for later in (0, 30 * DAY, 200 * DAY):
        t = NOW + later
        assert math.isclose(state.value_at(t), full.value_at(t), rel_tol=1e-9, abs_tol=1e-9)
