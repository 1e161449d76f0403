"""Scoring leads against the database: facts and events in, LeadScore rows and automatic
stage changes out. Used by the services (events, intake, sweep, rescore) and the preview.

Lock order everywhere: the Lead rows first (ordered by id), then their LeadScore rows, so an
event, a sweep and a rescore touching the same lead wait for each other instead of
deadlocking, and the events a rescore reads include everything committed before it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from leadwerk.activities.models import Activity
from leadwerk.leads.choices import Stage
from leadwerk.leads.models import Lead

from .choices import ZONE_BELOW_FLOOR, ZONE_BETWEEN, ZONE_HANDOFF, ModelStatus, SnapshotKind
from .config import model_config_parse
from .decay import engagement_at
from .engine import CompiledModel, EngagementResult, EventFact, FitResult, round_points
from .freemail import FREEMAIL_DOMAINS
from .models import LeadScore, ScoreSnapshot, ScoringModel

# Stages in which decay can still change what happens to a lead (hand-off, recycling).
WATCHED_STAGES = frozenset({Stage.NEW, Stage.MQL, Stage.RECYCLED})
LEAD_RELATED = ("person", "person__company", "company", "channel", "campaign")


@lru_cache(maxsize=32)
def _compiled(config_key: str) -> CompiledModel:
    return CompiledModel(model_config_parse(json.loads(config_key)))


def compiled(model: ScoringModel) -> CompiledModel:
    """The evaluable form of a model version, cached by its content (versions never change;
    keying by content also stays right when a test database reuses primary keys)."""
    cm = getattr(model, "_compiled", None)
    if cm is None:
        cm = model._compiled = _compiled(json.dumps(model.config, sort_keys=True))
    return cm


def active_model() -> ScoringModel | None:
    return ScoringModel.objects.filter(status=ModelStatus.ACTIVE).first()


def epoch(moment: datetime) -> float:
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _or_none(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def lead_facts(lead: Lead) -> dict[str, object]:
    """What fit rules can test, from the lead, its person and its company."""
    person = lead.person
    company = lead.company if lead.company_id else person.company
    email = person.email_normalized or ""
    domain = email.rpartition("@")[2] if "@" in email else ""
    facts: dict[str, object] = {
        "person.job_title": _or_none(person.job_title),
        "person.title": _or_none(person.title),
        "person.language": _or_none(person.language),
        "person.email_domain": domain or None,
        "person.freemail": bool(domain) and domain in FREEMAIL_DOMAINS,
        "person.has_phone": bool(person.phone),
        "company.present": company is not None,
        "lead.channel": lead.channel.slug,
        "lead.campaign": lead.campaign.slug if lead.campaign_id else None,
        "lead.product_interest": _or_none(lead.product_interest),
        "lead.source": _or_none(lead.source),
    }
    for name in (
        "name",
        "industry",
        "employees",
        "employee_band",
        "country",
        "federal_state",
        "postal_code",
        "city",
        "legal_form",
        "domain",
    ):
        facts[f"company.{name}"] = _or_none(getattr(company, name)) if company else None
    return facts


def events_by_person(
    person_ids: Iterable[int], *, types: Sequence[str]
) -> dict[int, list[EventFact]]:
    """The scorable events of these persons, in one query."""
    out: dict[int, list[EventFact]] = defaultdict(list)
    ids = list(set(person_ids))
    if not ids or not types:
        return out
    rows = Activity.objects.filter(person_id__in=ids, type__in=list(types)).values_list(
        "id", "person_id", "type", "occurred_at", "created_at", "subject", "payload"
    )
    for id_, person_id, type_, occurred_at, created_at, subject, payload in rows.iterator(
        chunk_size=5000
    ):
        at = occurred_at.timestamp()
        if created_at is not None and created_at.timestamp() < at:
            at = created_at.timestamp()
        out[person_id].append(
            EventFact(id_, type_, at, subject or "", payload if isinstance(payload, dict) else {})
        )
    return out


@dataclass
class Outcome:
    """One lead scored: the new row (unsaved), what it means and what must happen."""

    lead: Lead
    score: LeadScore
    fit: FitResult
    engagement: EngagementResult
    value: float  # engagement now
    zone_before: int | None
    action: str | None  # Stage.MQL or Stage.RECYCLED


def decide(*, stage: str, grade_ok: bool, zone_before: int | None, zone: int) -> str | None:
    """The automatic stage change, if any.

    - new -> MQL when fit and engagement meet the hand-off rule;
    - recycled -> MQL when the engagement reaches the threshold again (it was below it
      before this moment, so sales' own recycling of a still-hot lead is respected);
    - MQL -> recycled when the engagement falls below the floor (it was above it before)
      before sales accepted the lead.
    """
    if stage == Stage.NEW and grade_ok and zone == ZONE_HANDOFF:
        return Stage.MQL
    if stage == Stage.RECYCLED and grade_ok and zone == ZONE_HANDOFF and zone_before != zone:
        return Stage.MQL
    if (
        stage == Stage.MQL
        and zone == ZONE_BELOW_FLOOR
        and zone_before
        in (
            ZONE_BETWEEN,
            ZONE_HANDOFF,
        )
    ):
        return Stage.RECYCLED
    return None


def next_check(cm: CompiledModel, score: LeadScore, *, stage: str, now: float) -> datetime | None:
    if stage not in WATCHED_STAGES:
        return None
    moment = cm.next_zone_change(score.anchors, start=now)
    return None if moment is None else from_epoch(moment)


def score_leads(
    leads: Sequence[Lead],
    *,
    model: ScoringModel,
    now: datetime,
    existing: dict[int, LeadScore] | None = None,
    events: dict[int, list[EventFact]] | None = None,
) -> list[Outcome]:
    """Score ``leads`` (with LEAD_RELATED loaded) under ``model`` at ``now``. Reads the
    persons' events unless given; compares with the ``existing`` rows to decide stage
    changes. Writes nothing."""
    cm = compiled(model)
    t = epoch(now)
    if existing is None:
        existing = LeadScore.objects.in_bulk([lead.pk for lead in leads])
    old_models = {model.pk: cm}
    missing = {s.model_id for s in existing.values()} - set(old_models)
    for other in ScoringModel.objects.filter(pk__in=missing):
        old_models[other.pk] = compiled(other)
    if events is None:
        events = events_by_person({lead.person_id for lead in leads}, types=cm.event_types)
    per_person: dict[int, EngagementResult] = {}
    outcomes = []
    for lead in leads:
        eng = per_person.get(lead.person_id)
        if eng is None:
            eng = per_person[lead.person_id] = cm.engagement(events.get(lead.person_id, ()))
        fit = cm.fit(lead_facts(lead))
        value = eng.value_at(t)
        zone = cm.zone(value)
        old = existing.get(lead.pk)
        zone_before = None
        if old is not None:
            zone_before = old_models[old.model_id].zone(engagement_at(old.anchors, t))
        action = decide(
            stage=lead.stage,
            grade_ok=cm.handoff_grade_ok(fit.grade),
            zone_before=zone_before,
            zone=zone,
        )
        score = LeadScore(
            lead=lead,
            model=model,
            fit_points=fit.points,
            fit_grade=fit.grade,
            zone=zone,
            events_counted=len({c.event.id for c in eng.counted}),
            computed_at=now,
        )
        score.set_anchors(eng.anchors)
        score.next_check_at = next_check(cm, score, stage=action or lead.stage, now=t)
        outcomes.append(Outcome(lead, score, fit, eng, value, zone_before, action))
    return outcomes


SCORE_FIELDS = [
    "model",
    "fit_points",
    "fit_grade",
    "zone",
    "events_counted",
    "next_check_at",
    "computed_at",
    *[f"g{n}_{p}" for n in range(1, 6) for p in ("sign", "k", "rate")],
]


def scores_write(outcomes: Sequence[Outcome]) -> None:
    """Insert or update the LeadScore rows of ``outcomes`` (one statement per 500)."""
    if outcomes:
        LeadScore.objects.bulk_create(
            [o.score for o in outcomes],
            batch_size=500,
            update_conflicts=True,
            unique_fields=["lead"],
            update_fields=SCORE_FIELDS,
        )


def transition_reason(
    *, action: str, model: ScoringModel, cm: CompiledModel, grade: str, fit: int, value: float
) -> str:
    if action == Stage.MQL:
        return _(
            "Lead scoring (model v%(version)s): fit %(grade)s (%(fit)s points) and engagement "
            "%(engagement)s ≥ %(threshold)s meet the hand-off rule."
        ) % {
            "version": model.number,
            "grade": grade,
            "fit": fit,
            "engagement": f"{round_points(value):g}",
            "threshold": f"{cm.handoff_min:g}",
        }
    return _(
        "Lead scoring (model v%(version)s): engagement fell to %(engagement)s, below the floor "
        "of %(floor)s, before sales accepted the lead."
    ) % {
        "version": model.number,
        "engagement": f"{round_points(value):g}",
        "floor": f"{cm.recycle_floor:g}",
    }


def transition_apply(
    *,
    lead: Lead,
    action: str,
    model: ScoringModel,
    grade: str,
    fit: int,
    value: float,
    now: datetime,
) -> None:
    """Move the lead (through the one audited door for stage changes) and keep the score
    behind the move."""
    from leadwerk.leads.services import lead_transition

    cm = compiled(model)
    change = lead_transition(
        lead=lead,
        to_stage=action,
        actor=None,
        reason=transition_reason(
            action=action, model=model, cm=cm, grade=grade, fit=fit, value=value
        ),
    )
    lead.stage = action
    ScoreSnapshot.objects.create(
        lead=lead,
        stage_change=change,
        kind=SnapshotKind.HANDOFF if action == Stage.MQL else SnapshotKind.RECYCLE,
        at=change.at,
        model=model,
        fit_points=fit,
        fit_grade=grade,
        engagement=value,
        band=cm.band(value),
        cell=cm.cell(grade, value),
        label=cm.label(grade, value),
    )


def outcomes_apply(outcomes: Sequence[Outcome], *, model: ScoringModel, now: datetime) -> int:
    """Write the scores and make the stage changes they call for; return how many."""
    scores_write(outcomes)
    moved = 0
    for o in outcomes:
        if o.action:
            transition_apply(
                lead=o.lead,
                action=o.action,
                model=model,
                grade=o.fit.grade,
                fit=o.fit.points,
                value=o.value,
                now=now,
            )
            moved += 1
    return moved


def leads_locked(qs: QuerySet[Lead]) -> list[Lead]:
    """Lock and load leads in id order (the lock order shared by every writer)."""
    return list(qs.select_related(*LEAD_RELATED).select_for_update(of=("self",)).order_by("pk"))
