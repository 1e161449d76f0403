"""Evaluating a scoring model: fit from profile facts, engagement from events. No database.

``CompiledModel`` wraps a validated ``ModelConfig`` with compiled regexes and lookup tables.
Everything here is a pure function of its inputs, so the same code scores one lead on an
event, a hundred thousand in a rescore, a preview, and the property tests.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from .choices import ZONE_BELOW_FLOOR, ZONE_BETWEEN, ZONE_HANDOFF, Label
from .config import BANDS, GRADES, Condition, FitRule, ModelConfig
from .decay import DAY, Anchor, anchor_extend, anchor_from, engagement_at, next_crossing

_MAX_TEXT = 2000  # regexes never see more than this many characters


class EventFact(NamedTuple):
    """One event as scoring sees it. ``at`` is when it counts from (POSIX seconds): the
    moment it happened, but never later than when Leadwerk received it."""

    id: int
    type: str
    at: float
    subject: str = ""
    payload: dict = {}  # noqa: RUF012 - never mutated

    @classmethod
    def of(
        cls,
        *,
        id: int,
        type: str,
        occurred_at: datetime,
        created_at: datetime | None = None,
        subject: str = "",
        payload: dict | None = None,
    ) -> EventFact:
        at = epoch_ms(occurred_at)
        if created_at is not None:
            at = min(at, epoch_ms(created_at))
        return cls(id, type, at / 1000, subject or "", payload or {})


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since 1970, exactly (the database computes the same, see
    evaluation.EpochSeconds), so an event counts from the same float on every path."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class FitMatch:
    rule: FitRule
    value: object


@dataclass
class FitResult:
    points: int
    grade: str
    matches: list[FitMatch]


class Counted(NamedTuple):
    event: EventFact
    rule_id: str
    group: int  # index into the model's groups
    points: int


@dataclass
class EngagementState:
    """What a lead's engagement needs to take in new events without its history: the
    anchors, and for each rule with a cap the events that count now (``[at, id]``, at most
    ``max_count``), so a newer event can take the place of the oldest."""

    anchors: list[Anchor]
    kept: dict[str, list[list]]
    counted: int  # rule matches that count

    def value_at(self, t: float) -> float:
        return engagement_at(self.anchors, t)


@dataclass
class EngagementResult:
    anchors: list[Anchor]
    counted: list[Counted]
    capped: list[Counted]  # matched a rule but beyond its max_count
    capped_rules: frozenset[str] = frozenset()

    def value_at(self, t: float) -> float:
        return engagement_at(self.anchors, t)

    @property
    def events_counted(self) -> int:
        return len({c.event.id for c in self.counted})

    def state(self) -> EngagementState:
        kept: dict[str, list[list]] = {}
        for c in self.counted:
            if c.rule_id in self.capped_rules:
                kept.setdefault(c.rule_id, []).append([c.event.at, c.event.id])
        for entries in kept.values():
            entries.sort()
        return EngagementState(list(self.anchors), kept, len(self.counted))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fold(value: object) -> str:
    return _text(value).strip().casefold()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compile_text_test(op: str, value: object) -> Callable[[object], bool]:
    """A predicate on one text/number/bool value, case-insensitive for texts."""
    if op == "empty":
        return lambda v: v is None or _text(v).strip() == ""
    if op == "not_empty":
        return lambda v: not (v is None or _text(v).strip() == "")
    if op == "exists":
        return lambda v: v is not None
    if op == "not_exists":
        return lambda v: v is None
    if op == "is":
        return lambda v: bool(v) is value
    if op == "matches":
        rx = re.compile(str(value), re.IGNORECASE)
        return lambda v: v is not None and rx.search(_text(v)[:_MAX_TEXT]) is not None
    if op in ("in", "not_in"):
        folded = {_fold(x) for x in value}  # type: ignore[union-attr]
        numbers = {x for x in value if _is_number(x)}  # type: ignore[union-attr]

        def member(v: object) -> bool:
            return _fold(v) in folded or (_is_number(v) and v in numbers)

        if op == "in":
            return lambda v: v is not None and member(v)
        return lambda v: v is None or not member(v)
    if op == "contains":
        needle = _fold(value)
        return lambda v: v is not None and needle in _fold(v)
    if op == "starts_with":
        prefix = _fold(value)
        return lambda v: v is not None and _fold(v).startswith(prefix)
    if op == "between":
        lo, hi = value  # type: ignore[misc]
        return lambda v: (
            _is_number(v) and (lo is None or v >= lo) and (hi is None or v <= hi)  # type: ignore[operator]
        )
    if op in ("gte", "lte"):
        bound = value
        if op == "gte":
            return lambda v: _is_number(v) and v >= bound  # type: ignore[operator]
        return lambda v: _is_number(v) and v <= bound  # type: ignore[operator]
    if op in ("eq", "ne"):
        if _is_number(value):
            same = lambda v: _is_number(v) and v == value  # noqa: E731
        elif isinstance(value, bool):
            same = lambda v: v is value  # noqa: E731
        else:
            folded_value = _fold(value)
            same = lambda v: v is not None and _fold(v) == folded_value  # noqa: E731
        if op == "eq":
            return same
        return lambda v: not same(v)
    raise ValueError(f"unknown operator {op!r}")


def _newest_first(event: EventFact) -> tuple[float, int]:
    return (event.at, event.id)


def _property(event: EventFact, path: str) -> object:
    if path == "subject":
        return event.subject or None
    value: object = event.payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


@dataclass
class _Rule:
    id: str
    label: str
    group: int
    points: int
    max_count: int | None
    tests: list[tuple[str, Callable[[object], bool]]]

    def matches(self, event: EventFact) -> bool:
        return all(test(_property(event, path)) for path, test in self.tests)


def _condition_test(cond: Condition) -> tuple[str, Callable[[object], bool]]:
    return cond.property, _compile_text_test(cond.op, cond.value)


class CompiledModel:
    """A validated model, ready to evaluate."""

    def __init__(self, config: ModelConfig):
        self.config = config
        eng = config.engagement
        self.groups = eng.groups
        self.half_lives = [g.half_life_days * DAY for g in eng.groups]
        group_index = {g.key: i for i, g in enumerate(eng.groups)}
        self.rules_by_type: dict[str, list[_Rule]] = defaultdict(list)
        for rule in eng.rules:
            self.rules_by_type[rule.event].append(
                _Rule(
                    rule.id,
                    rule.label,
                    group_index[rule.group],
                    rule.points,
                    rule.max_count,
                    [_condition_test(c) for c in rule.when],
                )
            )
        self.event_types = sorted(self.rules_by_type)
        self.capped_rules = frozenset(r.id for r in eng.rules if r.max_count is not None)
        # Types whose rules test properties or the subject (only these need them loaded).
        self.detailed_types = sorted(
            t for t, rules in self.rules_by_type.items() if any(r.tests for r in rules)
        )
        self.fit_rules = [(r, _compile_text_test(r.op, r.value)) for r in config.fit.rules]
        g = config.fit.grades
        self.grade_minimums = [("A", g.A), ("B", g.B), ("C", g.C)]
        self.bands = list(eng.bands)
        self.labels = dict.fromkeys(config.labels.hot, Label.HOT) | dict.fromkeys(
            config.labels.warm, Label.WARM
        )
        self.handoff_grades = set(GRADES[: GRADES.index(config.handoff.min_grade) + 1])
        self.handoff_min = config.handoff.min_engagement
        self.recycle_floor = config.recycle.below_engagement if config.recycle.enabled else None

    # --- fit ----------------------------------------------------------------------------

    def fit(self, facts: dict[str, object]) -> FitResult:
        points, matches = 0, []
        for rule, test in self.fit_rules:
            value = facts.get(rule.field)
            if test(value):
                points += rule.points
                matches.append(FitMatch(rule, value))
        return FitResult(points, self.grade(points), matches)

    def grade(self, points: int) -> str:
        for grade, minimum in self.grade_minimums:
            if points >= minimum:
                return grade
        return "D"

    # --- engagement ---------------------------------------------------------------------

    def engagement(
        self, events: Iterable[EventFact], *, until: float | None = None, ordered: bool = False
    ) -> EngagementResult:
        """Anchors per group from ``events`` (only those counting from ``until`` or before).

        All matching rules apply to an event (a pricing page view is a page view, too). A
        rule with ``max_count`` counts only its most recent events: within a group all points
        decay alike, so the most recent ones are the ones that count most now and at every
        later moment - the choice never changes with time, only with new events.
        """
        matched: dict[int, list[EventFact]] = defaultdict(list)
        rules: dict[int, _Rule] = {}
        by_type = self.rules_by_type
        for event in events:
            if until is not None and event.at > until:
                continue
            for rule in by_type.get(event.type, ()):
                if not rule.tests or rule.matches(event):
                    key = id(rule)
                    matched[key].append(event)
                    rules[key] = rule
        counted: list[Counted] = []
        capped: list[Counted] = []
        for key, items in matched.items():
            rule = rules[key]
            items.sort(key=_newest_first, reverse=True)
            limit = len(items) if rule.max_count is None else rule.max_count
            for n, event in enumerate(items):
                entry = Counted(event, rule.id, rule.group, rule.points)
                (counted if n < limit else capped).append(entry)
        per_group: list[list[tuple[float, float]]] = [[] for _ in self.groups]
        for c in counted:
            per_group[c.group].append((float(c.points), c.event.at))
        anchors = [
            anchor_from(items, half_life=h)
            for items, h in zip(per_group, self.half_lives, strict=True)
        ]
        if ordered:
            counted.sort(key=lambda c: (c.event.at, c.event.id, c.rule_id), reverse=True)
            capped.sort(key=lambda c: (c.event.at, c.event.id, c.rule_id), reverse=True)
        return EngagementResult(anchors, counted, capped, self.capped_rules)

    def extend(self, state: EngagementState, events: Iterable[EventFact]) -> EngagementState:
        """The state after new ``events``, without the history: each matching rule adds the
        event's points, a rule at its cap lets a newer event replace its oldest counted one
        (taking that one's points out). The same result as scoring all events anew, in
        whatever order the events come (see the property tests)."""
        kept = {rule_id: [list(x) for x in entries] for rule_id, entries in state.kept.items()}
        counted = state.counted
        changes: list[list[tuple[float, float]]] = [[] for _ in self.groups]
        for event in events:
            for rule in self.rules_by_type.get(event.type, ()):
                if rule.tests and not rule.matches(event):
                    continue
                points, group = float(rule.points), changes[rule.group]
                if rule.max_count is None:
                    group.append((points, event.at))
                    counted += 1
                    continue
                entries = kept.setdefault(rule.id, [])
                key = [event.at, event.id]
                if key in entries:
                    continue  # the same event twice
                if len(entries) < rule.max_count:
                    entries.append(key)
                    group.append((points, event.at))
                    counted += 1
                    continue
                oldest = min(entries)
                if key > oldest:
                    entries.remove(oldest)
                    entries.append(key)
                    group.append((points, event.at))
                    group.append((-points, oldest[0]))
        anchors = [
            anchor_extend(anchor, items, half_life=h)
            for anchor, items, h in zip(state.anchors, changes, self.half_lives, strict=True)
        ]
        for entries in kept.values():
            entries.sort()
        return EngagementState(anchors, kept, counted)

    def series(
        self, events: Sequence[EventFact], moments: Sequence[float]
    ) -> list[tuple[float, float]]:
        """Engagement at each moment as it was then (only events known by then, caps as
        they applied then): the chart of a lead's score over time."""
        return [(t, self.engagement(events, until=t).value_at(t)) for t in moments]

    # --- matrix, labels, thresholds --------------------------------------------------------

    def band(self, engagement: float) -> int:
        for band, minimum in zip(BANDS, self.bands, strict=False):
            if engagement >= minimum:
                return band
        return 4

    def cell(self, grade: str, engagement: float) -> str:
        return f"{grade}{self.band(engagement)}"

    def label(self, grade: str, engagement: float) -> str:
        return self.labels.get(self.cell(grade, engagement), Label.COLD)

    def zone(self, engagement: float) -> int:
        if self.recycle_floor is not None and engagement < self.recycle_floor:
            return ZONE_BELOW_FLOOR
        if engagement >= self.handoff_min:
            return ZONE_HANDOFF
        return ZONE_BETWEEN

    @property
    def zone_thresholds(self) -> list[float]:
        values = [self.handoff_min]
        if self.recycle_floor is not None:
            values.append(self.recycle_floor)
        return values

    def next_zone_change(self, anchors: Sequence[Anchor], *, start: float) -> float | None:
        return next_crossing(anchors, self.zone_thresholds, start=start)

    def handoff_grade_ok(self, grade: str) -> bool:
        return grade in self.handoff_grades


def round_points(value: float) -> float:
    """Engagement as shown: two decimals, never rounded up across a threshold."""
    return math.floor(value * 100) / 100
