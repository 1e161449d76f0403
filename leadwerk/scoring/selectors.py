"""Reads for lead scoring: a lead's score explained, the matrix of all leads, model versions,
runs, and the sales feedback report. Leads come in already scoped (or are scoped here)."""

from __future__ import annotations

import difflib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When
from django.utils import timezone

from leadwerk.activities.models import Activity
from leadwerk.leads.choices import OPEN_STAGES, Stage
from leadwerk.leads.models import Lead, StageChange
from leadwerk.leads.selectors import lead_scope

from .choices import RunKind
from .config import BANDS, GRADES, model_config_dump, model_config_parse
from .decay import DAY
from .engine import CompiledModel, EventFact, round_points
from .evaluation import (
    active_model,
    compiled,
    engagement_at,
    epoch,
    events_by_person,
    from_epoch,
    lead_facts,
)
from .expressions import engagement_expression
from .models import LeadScore, ScoreSnapshot, ScoringModel, ScoringRun

# --- models and runs -----------------------------------------------------------------------


def scoring_model_active() -> ScoringModel | None:
    return active_model()


def scoring_model_list() -> QuerySet[ScoringModel]:
    return ScoringModel.objects.select_related("created_by", "activated_by", "based_on")


def scoring_model_get(*, uuid) -> ScoringModel | None:
    return scoring_model_list().filter(uuid=uuid).first()


def scoring_model_text(model: ScoringModel) -> str:
    """The version as canonical JSON text (what export gives and import takes)."""
    return model_config_dump(model_config_parse(model.config))


def scoring_model_diff(old: ScoringModel | None, new: ScoringModel) -> list[tuple[str, str]]:
    """Unified diff lines of two versions as (kind, text), kind in ' ', '+', '-', '@'."""
    a = scoring_model_text(old).splitlines() if old else []
    b = scoring_model_text(new).splitlines()
    lines = []
    for line in difflib.unified_diff(
        a, b, f"v{old.number}" if old else "", f"v{new.number}", lineterm="", n=2
    ):
        if line.startswith(("---", "+++")):
            continue
        kind = line[:1] if line[:1] in "+-@" else " "
        lines.append((kind, line))
    return lines


def scoring_run_get(*, uuid) -> ScoringRun | None:
    return (
        ScoringRun.objects.select_related("model", "baseline", "created_by")
        .filter(uuid=uuid)
        .first()
    )


def scoring_run_list(*, model: ScoringModel | None = None, limit: int = 20) -> list[ScoringRun]:
    qs = ScoringRun.objects.select_related("model", "created_by")
    if model is not None:
        qs = qs.filter(model=model)
    return list(qs[:limit])


def scoring_run_latest_preview(*, model: ScoringModel) -> ScoringRun | None:
    return (
        ScoringRun.objects.filter(model=model, kind=RunKind.PREVIEW)
        .select_related("baseline")
        .first()
    )


def scoring_run_current_rescore() -> ScoringRun | None:
    run = ScoringRun.objects.filter(kind=RunKind.RESCORE).select_related("model").first()
    return run if run is not None and not run.is_finished else None


# --- one lead --------------------------------------------------------------------------------


def score_brief(score: LeadScore, *, now: datetime | None = None) -> dict:
    """Engagement now, fit, matrix cell and label of a stored score."""
    now = now or timezone.now()
    cm = compiled(score.model)
    value = engagement_at(score.anchors, epoch(now))
    return {
        "engagement": round_points(value),
        "fit_points": score.fit_points,
        "fit_grade": score.fit_grade,
        "cell": cm.cell(score.fit_grade, value),
        "label": str(cm.label(score.fit_grade, value)),
    }


@dataclass
class ChartData:
    width: int
    height: int
    past: str  # SVG polyline points
    future: str
    markers: list[tuple[float, float, str]]
    lines: list[tuple[float, str, str]]  # y, label, css class
    ticks: list[tuple[float, datetime]]
    now_x: float
    y_max: float
    top_label: str


@dataclass
class Explanation:
    lead: Lead
    model: ScoringModel
    active: ScoringModel | None
    computed_at: datetime | None
    now: datetime
    fit_points: int
    grade: str
    fit_rules: list[dict]
    engagement: float
    band: int
    cell: str
    label: str
    groups: list[dict]
    events: list[dict]
    caps: list[dict]
    handoff: dict
    recycle: dict
    next_check_at: datetime | None
    stored_engagement: float | None
    series: list[tuple[datetime, float]] = field(default_factory=list)
    chart: ChartData | None = None

    @property
    def outdated_model(self) -> bool:
        return self.active is not None and self.active.pk != self.model.pk


def _lead_events(person_id: int, cm: CompiledModel) -> tuple[list[EventFact], dict[int, dict]]:
    # Filter by person only (see evaluation.events_by_person on SQLite's index choice).
    rows = Activity.objects.filter(person_id=person_id).values(
        "id", "uuid", "type", "occurred_at", "created_at", "subject", "payload"
    )
    wanted = set(cm.event_types)
    facts, info = [], {}
    for r in rows:
        if r["type"] not in wanted:
            continue
        facts.append(
            EventFact.of(
                id=r["id"],
                type=r["type"],
                occurred_at=r["occurred_at"],
                created_at=r["created_at"],
                subject=r["subject"],
                payload=r["payload"] if isinstance(r["payload"], dict) else {},
            )
        )
        info[r["id"]] = r
    return facts, info


def lead_score_explain(
    *, lead: Lead, now: datetime | None = None, chart: bool = True
) -> Explanation | None:
    """Why the lead has its score: fit rules that matched, the events that count now with
    their points after decay, caps, grade/band/label, hand-off and recycling, the score over
    time. ``lead`` must come from a scoped selector (with person, company, channel)."""
    now = now or timezone.now()
    stored = LeadScore.objects.select_related("model").filter(lead=lead).first()
    active = active_model()
    model = stored.model if stored is not None else active
    if model is None:
        return None
    cm = compiled(model)
    t = epoch(now)
    fit = cm.fit(lead_facts(lead))
    facts, info = _lead_events(lead.person_id, cm)
    eng = cm.engagement(facts, ordered=True)
    value = eng.value_at(t)
    rules = {r.id: r for r in model_config_parse(model.config).engagement.rules}
    events = []
    matched = Counter()
    for entry, counted in [(c, True) for c in eng.counted] + [(c, False) for c in eng.capped]:
        r = info[entry.event.id]
        rule = rules[entry.rule_id]
        matched[entry.rule_id] += 1
        decay = 2.0 ** (-(t - entry.event.at) / cm.half_lives[entry.group])
        events.append(
            {
                "id": r["uuid"],
                "type": r["type"],
                "subject": r["subject"],
                "occurred_at": r["occurred_at"],
                "rule": rule.id,
                "rule_label": rule.label or rule.id,
                "group": cm.groups[entry.group].key,
                "points": entry.points,
                "points_now": round(entry.points * decay, 2) if counted else 0.0,
                "counted": counted,
            }
        )
    events.sort(key=lambda e: (e["occurred_at"], e["counted"]), reverse=True)
    caps = [
        {
            "rule": rule.id,
            "label": rule.label or rule.id,
            "max_count": rule.max_count,
            "matched": matched[rule.id],
            "counted": min(matched[rule.id], rule.max_count),
        }
        for rule in rules.values()
        if rule.max_count is not None and matched[rule.id] > rule.max_count
    ]
    fit_rules = [
        {
            "rule": rule.id,
            "label": rule.label or rule.id,
            "field": rule.field,
            "op": rule.op,
            "value": rule.value,
            "points": rule.points,
            "matched": any(m.rule.id == rule.id for m in fit.matches),
            "seen": next((m.value for m in fit.matches if m.rule.id == rule.id), None),
        }
        for rule in cm.config.fit.rules
    ]
    groups = [
        {
            "key": g.key,
            "name": g.name,
            "half_life_days": g.half_life_days,
            "value": round_points(a.value_at(t)),
        }
        for g, a in zip(cm.groups, eng.anchors, strict=True)
    ]
    grade_ok = cm.handoff_grade_ok(fit.grade)
    explanation = Explanation(
        lead=lead,
        model=model,
        active=active,
        computed_at=stored.computed_at if stored else None,
        now=now,
        fit_points=fit.points,
        grade=fit.grade,
        fit_rules=fit_rules,
        engagement=round_points(value),
        band=cm.band(value),
        cell=cm.cell(fit.grade, value),
        label=str(cm.label(fit.grade, value)),
        groups=groups,
        events=events,
        caps=caps,
        handoff={
            "min_grade": model.config["handoff"]["min_grade"],
            "min_engagement": cm.handoff_min,
            "grade_ok": grade_ok,
            "engagement_ok": value >= cm.handoff_min,
            "met": grade_ok and value >= cm.handoff_min,
        },
        recycle={
            "enabled": cm.recycle_floor is not None,
            "below_engagement": cm.recycle_floor,
            "below": cm.recycle_floor is not None and value < cm.recycle_floor,
        },
        next_check_at=stored.next_check_at if stored else None,
        stored_engagement=round_points(stored.engagement_at(now)) if stored else None,
    )
    if chart:
        explanation.series, explanation.chart = _chart(cm, facts, now)
    return explanation


def _chart(cm: CompiledModel, facts: list[EventFact], now: datetime):
    """The engagement over the last 90 days and, dashed, its decay over the next 30 (if
    nothing new happens), as SVG coordinates."""
    t_now = epoch(now)
    start, end = t_now - 90 * DAY, t_now + 30 * DAY
    moments = {start + i * DAY for i in range(121)}
    for f in facts:
        if start < f.at <= t_now:
            moments.update({f.at - 1, f.at})
    moments.add(t_now)
    ordered = sorted(moments)
    series = cm.series(facts, ordered)
    width, height, pad_l, pad_r, pad_t, pad_b = 640, 190, 44, 10, 12, 24
    top = max([v for _t, v in series] + [cm.handoff_min * 1.15, 1.0])
    bottom = min([v for _t, v in series] + [0.0])

    def x(t: float) -> float:
        return round(pad_l + (t - start) / (end - start) * (width - pad_l - pad_r), 1)

    def y(v: float) -> float:
        return round(pad_t + (top - v) / (top - bottom) * (height - pad_t - pad_b), 1)

    past = " ".join(f"{x(t)},{y(v)}" for t, v in series if t <= t_now)
    future = " ".join(f"{x(t)},{y(v)}" for t, v in series if t >= t_now)
    counted_at = {f.at for f in facts if start < f.at <= t_now}
    markers = [(x(t), y(v), "") for t, v in series if t in counted_at]
    lines = [(y(cm.handoff_min), f"{cm.handoff_min:g}", "handoff")]
    if cm.recycle_floor is not None and cm.recycle_floor > bottom:
        lines.append((y(cm.recycle_floor), f"{cm.recycle_floor:g}", "floor"))
    lines.append((y(0.0), "0", "zero"))
    ticks = [(x(t), from_epoch(t)) for t in (start, start + 30 * DAY, start + 60 * DAY, t_now, end)]
    data = ChartData(
        width=width,
        height=height,
        past=past,
        future=future,
        markers=markers,
        lines=lines,
        ticks=ticks,
        now_x=x(t_now),
        y_max=top,
        top_label=f"{top:.0f}",
    )
    return [(from_epoch(t), v) for t, v in series], data


# --- all leads ----------------------------------------------------------------------------------


def score_matrix(*, user, now: datetime | None = None) -> dict:
    """How many of the user's open leads sit in each matrix cell (and label) right now,
    computed in SQL from the stored anchors."""
    model = active_model()
    if model is None:
        return {"cells": {}, "labels": {}, "unscored": 0, "total": 0}
    cm = compiled(model)
    now = now or timezone.now()
    expr = engagement_expression(now=now)
    b1, b2, b3 = cm.bands
    band = Case(
        When(score__isnull=True, then=Value(0)),
        When(engagement__gte=b1, then=Value(1)),
        When(engagement__gte=b2, then=Value(2)),
        When(engagement__gte=b3, then=Value(3)),
        default=Value(4),
        output_field=IntegerField(),
    )
    rows = (
        lead_scope(user=user)
        .filter(stage__in=OPEN_STAGES)
        .alias(engagement=expr)
        .order_by()
        .values(grade=F("score__fit_grade"), band=band)
        .annotate(n=Count("pk"))
    )
    cells: dict[str, int] = {}
    labels: Counter = Counter()
    unscored = total = 0
    for r in rows:
        total += r["n"]
        if r["band"] == 0 or not r["grade"]:
            unscored += r["n"]
            continue
        cell = f"{r['grade']}{r['band']}"
        cells[cell] = cells.get(cell, 0) + r["n"]
        labels[str(cm.labels.get(cell, "cold"))] += r["n"]
    return {"cells": cells, "labels": dict(labels), "unscored": unscored, "total": total}


def matrix_rows(cells: dict[str, int]) -> list[tuple[str, list[tuple[str, int]]]]:
    return [(g, [(f"{g}{b}", cells.get(f"{g}{b}", 0)) for b in BANDS]) for g in GRADES]


# --- sales feedback -------------------------------------------------------------------------------

OUTCOMES = ("accepted", "rejected", "recycled_by_decay", "open", "won", "lost")


@dataclass
class FeedbackRow:
    key: str
    mqls: int = 0
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)

    def rate(self, what: str) -> int | None:
        return round(100 * self.counts[what] / self.mqls) if self.mqls else None

    @property
    def accepted_rate(self) -> int | None:
        return self.rate("accepted")

    @property
    def won_rate(self) -> int | None:
        return self.rate("won")

    @property
    def top_reasons(self) -> list[tuple[str, int]]:
        return self.reasons.most_common(5)


def sales_feedback(*, user, date_from: datetime, date_to: datetime, by: str = "band") -> dict:
    """MQLs handed over in the period, by score band (or matrix cell) at hand-off, against
    what sales did with them: accepted (SAL), rejected (recycled or disqualified by a
    person, with reason), recycled by decay, still open, and finally won or lost.

    The band is the one recorded at an automatic hand-off; for a manual MQL it is computed
    from the events before the hand-off with the active model."""
    model = active_model()
    cm = compiled(model) if model else None
    visible = lead_scope(user=user)
    handoffs = list(
        StageChange.objects.filter(
            to_stage=Stage.MQL, at__gte=date_from, at__lt=date_to, lead__in=visible
        )
        .select_related("lead")
        .order_by("lead_id", "at", "id")
    )
    lead_ids = {h.lead_id for h in handoffs}
    later: dict[int, list[StageChange]] = defaultdict(list)
    for change in (
        StageChange.objects.filter(lead_id__in=lead_ids).select_related("by").order_by("at", "id")
    ):
        later[change.lead_id].append(change)
    snapshots = {
        s.stage_change_id: s for s in ScoreSnapshot.objects.filter(stage_change__in=handoffs)
    }
    need = [h for h in handoffs if h.pk not in snapshots]
    computed: dict[int, tuple[str, int]] = {}
    if need and cm is not None:
        leads = {
            lead.pk: lead
            for lead in Lead.objects.filter(pk__in={h.lead_id for h in need}).select_related(
                "person", "person__company", "company", "channel", "campaign"
            )
        }
        events = events_by_person(
            {lead.person_id for lead in leads.values()},
            types=cm.event_types,
            detailed=cm.detailed_types,
        )
        for h in need:
            lead = leads[h.lead_id]
            at = epoch(h.at)
            value = cm.engagement(events.get(lead.person_id, ()), until=at).value_at(at)
            grade = cm.fit(lead_facts(lead)).grade
            computed[h.pk] = (grade, cm.band(value))
    rows: dict[str, FeedbackRow] = {}
    for h in handoffs:
        snap = snapshots.get(h.pk)
        if snap is not None:
            grade, band = snap.fit_grade, snap.band
        elif h.pk in computed:
            grade, band = computed[h.pk]
        else:
            grade, band = "?", 0
        key = f"{grade}{band}" if by == "cell" else str(band)
        row = rows.setdefault(key, FeedbackRow(key))
        row.mqls += 1
        outcome, reason, final = _follow(h, later[h.lead_id])
        row.counts[outcome] += 1
        if reason:
            row.reasons[reason] += 1
        if final:
            row.counts[final] += 1
    order = [f"{g}{b}" for g in GRADES for b in BANDS] if by == "cell" else ["1", "2", "3", "4"]
    ordered = [rows[k] for k in order if k in rows] + [
        rows[k] for k in sorted(rows) if k not in order
    ]
    total = FeedbackRow("total")
    for r in ordered:
        total.mqls += r.mqls
        total.counts.update(r.counts)
        total.reasons.update(r.reasons)
    return {"rows": ordered, "total": total, "model": model, "by": by}


def _follow(handoff: StageChange, changes: list[StageChange]) -> tuple[str, str, str]:
    """What happened after one MQL hand-off: (outcome, rejection reason, won/lost or "")."""
    after = [c for c in changes if (c.at, c.pk) > (handoff.at, handoff.pk)]
    outcome, reason, final = "open", "", ""
    for c in after:
        if c.to_stage == Stage.MQL:
            break  # a later hand-off is counted on its own
        if outcome == "open":
            if c.to_stage == Stage.SAL:
                outcome = "accepted"
                continue
            if c.to_stage in (Stage.RECYCLED, Stage.DISQUALIFIED):
                if c.by_id is None:
                    outcome = "recycled_by_decay"
                else:
                    outcome, reason = "rejected", (c.reason or "—").strip()[:80]
                break
        if c.to_stage in (Stage.WON, Stage.LOST):
            final = c.to_stage
            break
    return outcome, reason, final


def report_period(days: int) -> tuple[datetime, datetime]:
    now = timezone.now()
    return now - timedelta(days=days), now + timedelta(seconds=1)


def config_json(model: ScoringModel) -> str:
    return json.dumps(model.config, indent=2, ensure_ascii=False)
