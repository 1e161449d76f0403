"""Writes for lead scoring: scores after events and intake, the decay sweep, model versions,
activation, previews and rescoring runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.errors import Conflict, DomainValidationError, FieldError
from leadwerk.leads.choices import OPEN_STAGES, Stage
from leadwerk.leads.models import Lead

from .choices import ZONE_HANDOFF, ModelStatus, RunKind, RunStatus
from .config import model_config_data, model_config_parse
from .decay import engagement_at
from .engine import EventFact
from .evaluation import (
    WATCHED_STAGES,
    LeadRow,
    OldScore,
    Outcome,
    active_model,
    active_model_for_scoring,
    compiled,
    decide,
    epoch,
    lead_facts,
    lead_rows,
    leads_locked,
    next_check,
    old_scores,
    outcomes_apply,
    person_lead_rows,
    score_instance,
    score_leads,
    score_new_events,
    transition_apply,
)
from .models import LeadScore, ScoringModel, ScoringRun
from .schedule import sweep_ensure, sweep_reschedule

SWEEP_BATCH = 500


def run_chunk() -> int:
    """Leads per rescore step (each step is one transaction and one task)."""
    return settings.LEADWERK_SCORING_CHUNK


def _earliest(outcomes: Iterable[Outcome]) -> datetime | None:
    moments = [o.score.next_check_at for o in outcomes if o.score.next_check_at is not None]
    return min(moments) if moments else None


# --- scores after events and intake ---------------------------------------------------------


def persons_rescore(
    *,
    person_ids: Iterable[int],
    now: datetime | None = None,
    new_events: dict[int, list[EventFact]] | None = None,
    model: ScoringModel | None = None,
    known_facts: dict[int, dict] | None = None,
) -> list[Outcome]:
    """Score the open leads of these persons with the active model and make the stage changes
    the scores call for. Call inside the transaction that wrote the persons' new events.

    With ``new_events`` (by person; exactly the events just written) a lead already scored
    by the active model only takes those in; every other lead is scored from its whole
    history. ``model``: the active version, when the caller has just read it;
    ``known_facts``: the fit facts of leads the caller has in memory (by lead id)."""
    model = model or active_model_for_scoring()
    ids = sorted(set(person_ids))
    if model is None or not ids:
        return []
    now = now or timezone.now()
    # No savepoint: callers run this inside their use case's transaction and let errors
    # roll the whole use case back.
    with transaction.atomic(savepoint=False):
        # By person only, the stage is checked here: SQLite would otherwise walk the stage
        # index through every open lead (see evaluation.events_by_person).
        leads = [lead for lead in person_lead_rows(ids) if lead.stage in OPEN_STAGES]
        if not leads:
            return []
        existing = old_scores([lead.pk for lead in leads], state=new_events is not None)
        outcomes: list[Outcome] = []
        if new_events is not None:
            current = [
                lead
                for lead in leads
                if lead.pk in existing and existing[lead.pk].model_id == model.pk
            ]
            outcomes += score_new_events(
                current, model=model, now=now, existing=existing, events=new_events
            )
            done = {lead.pk for lead in current}
            leads = [lead for lead in leads if lead.pk not in done]
        if leads:
            if known_facts and all(lead.pk in known_facts for lead in leads):
                full = [
                    LeadRow(lead.pk, lead.uuid, lead.person_id, lead.stage, known_facts[lead.pk])
                    for lead in leads
                ]
            else:
                qs = Lead.objects.filter(pk__in=[lead.pk for lead in leads])
                full = lead_rows(qs, lock=False)
            outcomes += score_leads(full, model=model, now=now, existing=existing)
        outcomes_apply(outcomes, model=model)
        sweep_ensure(_earliest(outcomes))
    return outcomes


def scoring_fact(activity) -> EventFact:
    """A just-written Activity as scoring sees it (for ``persons_rescore(new_events=…)``)."""
    return EventFact.of(
        id=activity.pk,
        type=activity.type,
        occurred_at=activity.occurred_at,
        created_at=activity.created_at,
        subject=activity.subject,
        payload=activity.payload if isinstance(activity.payload, dict) else {},
    )


def lead_intake_score(
    *,
    lead: Lead,
    events: list[EventFact],
    person_new: bool,
    others_changed: bool = False,
) -> None:
    """Score a lead just taken in, inside the intake's transaction; ``events`` are the
    events the intake wrote for the person (``scoring_fact`` of each). Updates ``lead.stage``
    if scoring moved it and puts the new score on ``lead.score`` (no second read).

    ``person_new``: the person was created in this transaction and ``events`` are all they
    have, so the lead is scored from them and its facts in memory (the lead with person,
    company, channel and campaign loaded) without reading anything. Otherwise the person's
    other leads scored by the active model take in just ``events`` (as after an event),
    unless ``others_changed`` (matching filled a gap of the person or company that fit
    rules may test): then they are scored anew, like the new lead."""
    model = active_model_for_scoring()
    if model is None:
        return
    now = timezone.now()
    if person_new:
        row = LeadRow(lead.pk, lead.uuid, lead.person_id, lead.stage, lead_facts(lead))
        outcomes = score_leads(
            [row], model=model, now=now, existing={}, events={lead.person_id: events}
        )
        outcomes_apply(outcomes, model=model)
        sweep_ensure(_earliest(outcomes))
    else:
        outcomes = persons_rescore(
            person_ids=[lead.person_id],
            now=now,
            new_events=None if others_changed else {lead.person_id: events},
            model=model,
            known_facts={lead.pk: lead_facts(lead)},
        )
    for outcome in outcomes:
        if outcome.lead.pk == lead.pk:
            lead.stage = outcome.lead.stage
            LeadScore.lead.field.remote_field.set_cached_value(lead, score_instance(outcome.score))


def lead_score_refresh(*, lead: Lead) -> None:
    """Score a lead (and the person's other open leads) after something happened to it:
    intake, a logged call or meeting. Updates ``lead.stage`` if scoring moved it."""
    for outcome in persons_rescore(person_ids=[lead.person_id]):
        if outcome.lead.pk == lead.pk:
            lead.stage = outcome.lead.stage


# --- decay -------------------------------------------------------------------------------


def scores_sweep_due(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> dict:
    """Handle every lead whose engagement has crossed the hand-off threshold or the recycle
    floor through decay alone (``next_check_at`` has come), then schedule the next sweep.
    Idempotent: a lead handled once has its next check in the future."""
    now = now or timezone.now()
    t = epoch(now)
    handled = moved = 0
    while True:
        with transaction.atomic():
            ids = list(
                LeadScore.objects.filter(next_check_at__lte=now)
                .order_by("next_check_at", "lead_id")
                .values_list("lead_id", flat=True)[:batch]
            )
            if not ids:
                break
            leads = leads_locked(Lead.objects.filter(pk__in=ids))
            scores = LeadScore.objects.select_related("model").in_bulk(ids)
            for lead in leads:
                score = scores.get(lead.pk)
                if score is None or score.next_check_at is None or score.next_check_at > now:
                    continue  # handled by someone else meanwhile
                cm = compiled(score.model)
                value = engagement_at(score.anchors, t)
                zone = cm.zone(value)
                action = decide(
                    stage=lead.stage,
                    grade_ok=cm.handoff_grade_ok(score.fit_grade),
                    zone_before=score.zone,
                    zone=zone,
                )
                stage = lead.stage
                if action:
                    stage = transition_apply(
                        lead_id=lead.pk,
                        action=action,
                        model=score.model,
                        grade=score.fit_grade,
                        fit=score.fit_points,
                        value=value,
                    )
                    moved += 1
                score.zone = zone
                score.next_check_at = next_check(cm, score.anchors, stage=stage, now=t)
                score.save(update_fields=["zone", "next_check_at"])
                handled += 1
    following = sweep_reschedule(timezone.now())
    return {
        "handled": handled,
        "moved": moved,
        "next_sweep": following.isoformat() if following else None,
    }


def sweep_ensure_scheduled() -> None:
    """Schedule a sweep for the earliest pending check if none is (e.g. after a restore)."""
    sweep_reschedule(timezone.now())


# --- model versions ------------------------------------------------------------------------


def scoring_model_create(
    *, document: dict | str | bytes, actor, note: str = "", based_on: ScoringModel | None = None
) -> ScoringModel:
    """Validate a model document and save it as a new draft version."""
    note = (note or "").strip()
    if len(note) > 2000:
        raise DomainValidationError([FieldError(("note",), "at most 2000 characters")])
    cfg = model_config_parse(document)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                last = ScoringModel.objects.aggregate(n=Max("number"))["n"] or 0
                return ScoringModel.objects.create(
                    number=last + 1,
                    name=cfg.name,
                    config=model_config_data(cfg),
                    note=note,
                    based_on=based_on,
                    created_by=actor,
                )
        except IntegrityError:
            continue  # another version got the number; take the next
    raise Conflict("could not allocate a version number, please retry", code="busy")


def scoring_model_activate(*, model: ScoringModel, actor) -> ScoringRun:
    """Make ``model`` the active version and rescore every lead with it in the background."""
    with transaction.atomic():
        model = ScoringModel.objects.select_for_update().get(pk=model.pk)
        if model.status == ModelStatus.ACTIVE:
            raise Conflict(
                _("Version %(n)s is already active.") % {"n": model.number}, code="already_active"
            )
        ScoringModel.objects.filter(status=ModelStatus.ACTIVE).update(status=ModelStatus.RETIRED)
        model.status = ModelStatus.ACTIVE
        model.activated_at = timezone.now()
        model.activated_by = actor
        model.save(update_fields=["status", "activated_at", "activated_by"])
        return scoring_run_start(model=model, kind=RunKind.RESCORE, actor=actor)


# --- previews and rescoring ------------------------------------------------------------------


def scoring_run_start(*, model: ScoringModel, kind: str, actor, enqueue: bool = True) -> ScoringRun:
    """Start a pass over all leads: a preview (counts what ``model`` would do) or a rescore
    (writes scores and stage changes). It runs in the background, chunk by chunk."""
    from .tasks import run_step

    with transaction.atomic():
        run = ScoringRun.objects.create(
            kind=kind,
            model=model,
            baseline=active_model() if kind == RunKind.PREVIEW else None,
            total=Lead.objects.count(),
            created_by=actor,
        )
        if enqueue:
            transaction.on_commit(lambda: run_step.enqueue(str(run.uuid)))
    return run


def _bump(stats: dict, path: tuple[str, ...], n: int = 1) -> None:
    node = stats
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = node.get(path[-1], 0) + n


def _tally(
    stats: dict, outcomes: list[Outcome], existing: dict[int, OldScore], now: datetime
) -> None:
    t = epoch(now)
    old_models: dict[int, object] = {}
    for o in outcomes:
        _bump(stats, ("leads",))
        if o.action == Stage.MQL:
            _bump(stats, ("to_mql",))
        elif o.action == Stage.RECYCLED:
            _bump(stats, ("to_recycled",))
        stage_before = o.stage_before
        if stage_before not in OPEN_STAGES:
            continue
        _bump(stats, ("open",))
        if stage_before == Stage.MQL:
            _bump(stats, ("mql_now",))
        cm = compiled(o.score.model)
        grade = o.fit.grade
        _bump(stats, ("new", "cells", cm.cell(grade, o.value)))
        _bump(stats, ("new", "labels", cm.label(grade, o.value)))
        if (
            stage_before in WATCHED_STAGES
            and cm.handoff_grade_ok(grade)
            and o.score.zone == ZONE_HANDOFF
        ):
            _bump(stats, ("new", "eligible"))
        old = existing.get(o.lead.pk)
        if old is None:
            _bump(stats, ("old", "unscored"))
            continue
        old_cm = old_models.get(old.model_id)
        if old_cm is None:
            old_cm = old_models[old.model_id] = compiled(ScoringModel.objects.get(pk=old.model_id))
        old_value = engagement_at(old.anchors, t)
        _bump(stats, ("old", "cells", old_cm.cell(old.fit_grade, old_value)))
        _bump(stats, ("old", "labels", old_cm.label(old.fit_grade, old_value)))
        if (
            stage_before in WATCHED_STAGES
            and old_cm.handoff_grade_ok(old.fit_grade)
            and old_cm.zone(old_value) == ZONE_HANDOFF
        ):
            _bump(stats, ("old", "eligible"))


def scoring_run_step(
    *, run_uuid, chunk: int | None = None, enqueue_next: bool = True
) -> ScoringRun:
    """Process the next ``chunk`` leads of a run; queue the step after it, or finish."""
    from .tasks import run_step

    chunk = chunk or run_chunk()
    now = timezone.now()
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().select_related("model").get(uuid=run_uuid)
        if run.is_finished:
            return run
        if run.kind == RunKind.RESCORE and run.model.status != ModelStatus.ACTIVE:
            run.status = RunStatus.SUPERSEDED
            run.finished_at = now
            run.save(update_fields=["status", "finished_at", "updated_at"])
            return run
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.RUNNING
            run.started_at = now
        ids = list(
            Lead.objects.filter(pk__gt=run.cursor)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if ids:
            leads = lead_rows(Lead.objects.filter(pk__in=ids))
            existing = old_scores(ids)
            outcomes = score_leads(leads, model=run.model, now=now, existing=existing)
            stats = dict(run.stats)
            _tally(stats, outcomes, existing, now)
            if run.kind == RunKind.RESCORE:
                outcomes_apply(outcomes, model=run.model)
                sweep_ensure(_earliest(outcomes))
            run.stats = stats
            run.cursor = ids[-1]
            run.done += len(ids)
        more = len(ids) == chunk
        if not more:
            run.status = RunStatus.DONE
            run.finished_at = timezone.now()
            run.total = max(run.total, run.done)
        run.save()
        if more and enqueue_next:
            transaction.on_commit(lambda: run_step.enqueue(str(run.uuid)))
    return run


def scoring_run_resume(*, run: ScoringRun) -> None:
    """Queue the next step of a run whose worker stopped (steps are idempotent by cursor)."""
    from .tasks import run_step

    if not run.is_finished:
        run_step.enqueue(str(run.uuid))


def scores_rebuild(
    *, actor=None, progress: Callable[[ScoringRun], None] | None = None
) -> ScoringRun | None:
    """Rescore every lead with the active model now, in this process (for ``leadwerk
    rescore`` and the demo data)."""
    model = active_model()
    if model is None:
        return None
    run = scoring_run_start(model=model, kind=RunKind.RESCORE, actor=actor, enqueue=False)
    while not run.is_finished:
        run = scoring_run_step(run_uuid=run.uuid, enqueue_next=False)
        if progress:
            progress(run)
    return run
