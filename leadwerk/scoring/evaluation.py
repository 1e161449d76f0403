"""Scoring leads against the database: facts and events in, LeadScore rows and automatic
stage changes out. Used by the services (events, intake, sweep, rescore) and the preview.

Built for a rescore of 100,000 leads: leads, events and old scores are read as plain rows
(no model instances), scores are written with one multi-row upsert per batch.

Lock order everywhere: the Lead rows first (ordered by id), then their LeadScore rows, so an
event, a sweep and a rescore touching the same lead wait for each other instead of
deadlocking, and the events a rescore reads include everything committed before it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from uuid import UUID

from django.db import connection
from django.db.models import FloatField, Func, QuerySet
from django.db.models.functions import Least
from django.utils.translation import gettext as _

from leadwerk.activities.models import Activity
from leadwerk.leads.choices import Stage
from leadwerk.leads.models import Lead

from .choices import ZONE_BELOW_FLOOR, ZONE_BETWEEN, ZONE_HANDOFF, ModelStatus, SnapshotKind
from .config import MAX_GROUPS, model_config_parse
from .decay import Anchor, engagement_at
from .engine import (
    CompiledModel,
    EngagementResult,
    EngagementState,
    EventFact,
    FitResult,
    round_points,
)
from .freemail import FREEMAIL_DOMAINS
from .models import ANCHOR_FIELDS, LeadScore, LeadScoreState, ScoreSnapshot, ScoringModel

# Stages in which decay can still change what happens to a lead (hand-off, recycling).
WATCHED_STAGES = frozenset({Stage.NEW, Stage.MQL, Stage.RECYCLED})
COMPANY_FIELDS = (
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
)


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


# Versions scoring has used, by (id, uuid): number and config never change, so only which
# version is active is read per use (a narrow query instead of the row with its config,
# decoded and compiled each time). The uuid tells a new row from a reused id.
_SCORING_MODELS: dict[tuple[int, UUID], ScoringModel] = {}


def active_model_for_scoring() -> ScoringModel | None:
    """The active version for scoring (its id, number and config; a per-process copy: do
    not show its status or dates)."""
    row = (
        ScoringModel.objects.filter(status=ModelStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", "uuid")
        .first()
    )
    if row is None:
        return None
    model = _SCORING_MODELS.get(row)
    if model is None:
        if len(_SCORING_MODELS) >= 16:
            _SCORING_MODELS.clear()
        model = _SCORING_MODELS[row] = ScoringModel.objects.get(pk=row[0])
        compiled(model)
    return model


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


def _facts(
    *,
    channel: str,
    campaign: str | None,
    product_interest: str,
    source: str,
    job_title: str,
    title: str,
    language: str,
    email: str,
    phone: str,
    company: dict | None,
) -> dict[str, object]:
    domain = email.rpartition("@")[2] if email and "@" in email else ""
    facts: dict[str, object] = {
        "person.job_title": _or_none(job_title),
        "person.title": _or_none(title),
        "person.language": _or_none(language),
        "person.email_domain": domain or None,
        "person.freemail": bool(domain) and domain in FREEMAIL_DOMAINS,
        "person.has_phone": bool(phone),
        "company.present": company is not None,
        "lead.channel": channel,
        "lead.campaign": campaign,
        "lead.product_interest": _or_none(product_interest),
        "lead.source": _or_none(source),
    }
    for name in COMPANY_FIELDS:
        facts[f"company.{name}"] = _or_none(company[name]) if company else None
    return facts


def lead_facts(lead: Lead) -> dict[str, object]:
    """What fit rules can test, from the lead (with person, company, channel, campaign
    loaded), its person and its company (the lead's, else the person's)."""
    person = lead.person
    company = lead.company if lead.company_id else person.company
    return _facts(
        channel=lead.channel.slug,
        campaign=lead.campaign.slug if lead.campaign_id else None,
        product_interest=lead.product_interest,
        source=lead.source,
        job_title=person.job_title,
        title=person.title,
        language=person.language,
        email=person.email_normalized or "",
        phone=person.phone,
        company={n: getattr(company, n) for n in COMPANY_FIELDS} if company else None,
    )


@dataclass(slots=True)
class LeadRow:
    """The part of a lead scoring needs."""

    pk: int
    uuid: UUID
    person_id: int
    stage: str
    facts: dict


_ROW_FIELDS = [
    "pk",
    "uuid",
    "person_id",
    "stage",
    "channel__slug",
    "campaign__slug",
    "product_interest",
    "source",
    "person__job_title",
    "person__title",
    "person__language",
    "person__email_normalized",
    "person__phone",
    "company_id",
    *[f"company__{n}" for n in COMPANY_FIELDS],
    "person__company_id",
    *[f"person__company__{n}" for n in COMPANY_FIELDS],
]


def lead_rows(qs: QuerySet[Lead], *, lock: bool = True, facts: bool = True) -> list[LeadRow]:
    """Load (and lock, in id order) leads as rows, with their fit facts unless not needed,
    in one query."""
    if lock:
        qs = qs.select_for_update(of=("self",))
    if not facts:
        return [
            LeadRow(pk, uuid, person_id, stage, {})
            for pk, uuid, person_id, stage in qs.order_by("pk").values_list(
                "pk", "uuid", "person_id", "stage"
            )
        ]
    n = len(COMPANY_FIELDS)
    rows = []
    for r in qs.order_by("pk").values_list(*_ROW_FIELDS):
        (pk, uuid, person_id, stage, channel, campaign, interest, source) = r[:8]
        job_title, title, language, email, phone = r[8:13]
        own, own_fields = r[13], r[14 : 14 + n]
        persons, person_fields = r[14 + n], r[15 + n : 15 + 2 * n]
        if own is not None:
            company = dict(zip(COMPANY_FIELDS, own_fields, strict=True))
        elif persons is not None:
            company = dict(zip(COMPANY_FIELDS, person_fields, strict=True))
        else:
            company = None
        facts = _facts(
            channel=channel,
            campaign=campaign,
            product_interest=interest or "",
            source=source or "",
            job_title=job_title or "",
            title=title or "",
            language=language or "",
            email=email or "",
            phone=phone or "",
            company=company,
        )
        rows.append(LeadRow(pk, uuid, person_id, stage, facts))
    return rows


class EpochSeconds(Func):
    """A datetime column as POSIX seconds in whole milliseconds, computed exactly by the
    database (the same float as engine.epoch_ms / 1000 in Python)."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores UTC as "YYYY-MM-DD HH:MM:SS[.ffffff]": whole seconds from
        # strftime, milliseconds from the first three digits of the fraction.
        return self.as_sql(
            compiler,
            connection,
            template=(
                "((CAST(strftime('%%%%s', substr(%(expressions)s, 1, 19)) AS INTEGER) * 1000 "
                "+ CAST(substr(%(expressions)s, 21, 3) AS INTEGER)) / 1000.0)"
            ),
            **extra,
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="(floor(EXTRACT(EPOCH FROM %(expressions)s) * 1000) / 1000.0)::float8",
            **extra,
        )


def events_by_person(
    person_ids: Iterable[int], *, types: Sequence[str], detailed: Iterable[str] = ()
) -> dict[int, list[EventFact]]:
    """The scorable events of these persons, in one query. Properties are decoded only for
    the ``detailed`` types (those with conditions); when an event counts from (the earlier
    of occurred and received) is computed by the database.

    The query filters by person only and the types are picked here: with a type filter,
    SQLite (without ANALYZE statistics) walks the type index through every event of those
    types instead of the person index - 25 times slower on a million events."""
    out: dict[int, list[EventFact]] = defaultdict(list)
    ids = list(set(person_ids))
    wanted = set(types)
    if not ids or not wanted:
        return out
    detailed = set(detailed) & wanted
    at = Least(EpochSeconds("occurred_at"), EpochSeconds("created_at"))
    qs = (
        Activity.objects.filter(person_id__in=ids)
        .order_by()
        .values_list("id", "person_id", "type", at, "subject", "payload")
    )
    # Read with a plain cursor: a rescore reads a million rows, and Django's per-value
    # converters would cost more than the scoring itself.
    for id_, person_id, type_, when, subject, payload in _raw_rows(qs):
        if type_ not in wanted:
            continue
        if type_ in detailed:
            if isinstance(payload, str | bytes):
                payload = json.loads(payload)
            out[person_id].append(
                EventFact(
                    id_,
                    type_,
                    float(when),
                    subject or "",
                    payload if isinstance(payload, dict) else {},
                )
            )
        else:
            out[person_id].append(EventFact(id_, type_, float(when)))
    return out


def _raw_rows(qs: QuerySet, size: int = 10_000):
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield from rows


@dataclass(slots=True)
class OldScore:
    model_id: int
    zone: int
    fit_grade: str
    fit_points: int
    counted: int
    kept: dict
    anchors: list[Anchor]


def id_in(column: str, ids: Sequence[int]) -> tuple[str, list]:
    """``column IN (…ids)`` as SQL and parameters; on PostgreSQL one array parameter
    (``= ANY``), which psycopg does not have to parse out of a long statement."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _in_batches(ids: Sequence[int], reserved: int = 0):
    """``ids`` in slices that fit one statement's parameters."""
    size = max(1, (connection.features.max_query_params or 30_000) - reserved)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def old_scores(lead_ids: Sequence[int], *, state: bool = False) -> dict[int, OldScore]:
    """The stored scores of these leads; with ``state`` also what taking in new events
    needs (the kept events of capped rules). One plain query per batch of ids: an event
    batch asks for hundreds of leads, and building the ORM's IN list and converting its
    rows cost more than reading them."""
    q = connection.ops.quote_name
    score, kept = q(LeadScore._meta.db_table), q(LeadScoreState._meta.db_table)
    fields = ["lead_id", "model_id", "zone", "fit_grade", "fit_points", "counted"]
    columns = ", ".join(f"s.{q(c)}" for c in [*fields, *ANCHOR_FIELDS])
    join = ""
    if state:
        columns += f", k.{q('kept')}"
        join = f" LEFT JOIN {kept} k ON k.{q('lead_id')} = s.{q('lead_id')}"
    out = {}
    with connection.cursor() as cursor:
        for batch in _in_batches(sorted(set(lead_ids))):
            where, params = id_in(f"s.{q('lead_id')}", batch)
            cursor.execute(
                f"SELECT {columns} FROM {score} s{join} WHERE {where}",  # noqa: S608
                params,
            )
            for r in cursor.fetchall():
                anchors = [
                    Anchor(r[6 + 3 * i], r[7 + 3 * i], r[8 + 3 * i]) for i in range(MAX_GROUPS)
                ]
                state_value = r[6 + 3 * MAX_GROUPS] if state else None
                if isinstance(state_value, str | bytes):
                    state_value = json.loads(state_value)
                out[r[0]] = OldScore(r[1], r[2], r[3], r[4], r[5], state_value or {}, anchors)
    return out


def person_lead_rows(person_ids: Sequence[int], *, lock: bool = True) -> list[LeadRow]:
    """The leads of these persons as rows without facts, locked in id order (the lock order
    shared by every writer) - ``lead_rows(..., facts=False)`` in one plain query."""
    ids = sorted(set(person_ids))
    if not ids:
        return []
    q = connection.ops.quote_name
    where, params = id_in(q("person_id"), ids)
    lock_sql = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    native_uuid = connection.features.has_native_uuid_field
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('id')}, {q('uuid')}, {q('person_id')}, {q('stage')} "  # noqa: S608
            f"FROM {q(Lead._meta.db_table)} WHERE {where} ORDER BY {q('id')}{lock_sql}",
            params,
        )
        rows = cursor.fetchall()
    return [
        LeadRow(pk, uuid if native_uuid else UUID(uuid), person_id, stage, {})
        for pk, uuid, person_id, stage in rows
    ]


@dataclass(slots=True)
class ScoreRow:
    """A LeadScore to be written (the same attribute names as the model)."""

    lead_id: int
    model: ScoringModel
    fit_points: int
    fit_grade: str
    anchors: list[Anchor]
    zone: int
    counted: int
    kept: dict
    computed_at: datetime
    next_check_at: datetime | None = None

    def engagement_at(self, when: datetime) -> float:
        return engagement_at(self.anchors, when.timestamp())


@dataclass
class Outcome:
    """One lead scored: the new score (unsaved), what it means and what must happen."""

    lead: LeadRow
    score: ScoreRow
    fit: FitResult
    engagement: EngagementResult | None  # None when only new events were taken in
    value: float  # engagement now
    zone_before: int | None
    action: str | None  # Stage.MQL or Stage.RECYCLED
    stage_before: str = field(default="")


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


def next_check(
    cm: CompiledModel, anchors: Sequence[Anchor], *, stage: str, now: float
) -> datetime | None:
    if stage not in WATCHED_STAGES:
        return None
    moment = cm.next_zone_change(anchors, start=now)
    return None if moment is None else from_epoch(moment)


def score_leads(
    leads: Sequence[LeadRow],
    *,
    model: ScoringModel,
    now: datetime,
    existing: dict[int, OldScore] | None = None,
    events: dict[int, list[EventFact]] | None = None,
) -> list[Outcome]:
    """Score ``leads`` under ``model`` at ``now``. Reads the persons' events unless given;
    compares with the ``existing`` scores to decide stage changes. Writes nothing."""
    cm = compiled(model)
    t = epoch(now)
    if existing is None:
        existing = old_scores([lead.pk for lead in leads])
    old_models = {model.pk: cm}
    missing = {s.model_id for s in existing.values()} - set(old_models)
    for other in ScoringModel.objects.filter(pk__in=missing):
        old_models[other.pk] = compiled(other)
    if events is None:
        events = events_by_person(
            {lead.person_id for lead in leads}, types=cm.event_types, detailed=cm.detailed_types
        )
    per_person: dict[int, EngagementResult] = {}
    outcomes = []
    for lead in leads:
        eng = per_person.get(lead.person_id)
        if eng is None:
            eng = per_person[lead.person_id] = cm.engagement(events.get(lead.person_id, ()))
        fit = cm.fit(lead.facts)
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
        state = eng.state()
        score = ScoreRow(
            lead_id=lead.pk,
            model=model,
            fit_points=fit.points,
            fit_grade=fit.grade,
            anchors=state.anchors,
            zone=zone,
            counted=state.counted,
            kept=state.kept,
            computed_at=now,
            next_check_at=next_check(cm, state.anchors, stage=action or lead.stage, now=t),
        )
        outcomes.append(Outcome(lead, score, fit, eng, value, zone_before, action, lead.stage))
    return outcomes


def score_new_events(
    leads: Sequence[LeadRow],
    *,
    model: ScoringModel,
    now: datetime,
    existing: dict[int, OldScore],
    events: dict[int, list[EventFact]],
) -> list[Outcome]:
    """Take new ``events`` into the stored scores of ``leads`` (scored with ``model``
    before, loaded with ``state``): no history is read, fit stays as it was. The same
    result as ``score_leads`` (see the property tests), at a cost independent of how many
    events a lead had before."""
    cm = compiled(model)
    t = epoch(now)
    n = len(cm.groups)
    outcomes = []
    for lead in leads:
        old = existing[lead.pk]
        state = cm.extend(
            EngagementState(old.anchors[:n], old.kept, old.counted), events.get(lead.person_id, ())
        )
        value = state.value_at(t)
        zone = cm.zone(value)
        zone_before = cm.zone(engagement_at(old.anchors, t))
        fit = FitResult(old.fit_points, old.fit_grade, [])
        action = decide(
            stage=lead.stage,
            grade_ok=cm.handoff_grade_ok(fit.grade),
            zone_before=zone_before,
            zone=zone,
        )
        score = ScoreRow(
            lead_id=lead.pk,
            model=model,
            fit_points=fit.points,
            fit_grade=fit.grade,
            anchors=state.anchors,
            zone=zone,
            counted=state.counted,
            kept=state.kept,
            computed_at=now,
            next_check_at=next_check(cm, state.anchors, stage=action or lead.stage, now=t),
        )
        outcomes.append(Outcome(lead, score, fit, None, value, zone_before, action, lead.stage))
    return outcomes


def score_instance(score: ScoreRow) -> LeadScore:
    """The LeadScore row ``scores_write`` writes for ``score``, as an instance (unsaved, for
    showing it without reading it back)."""
    obj = LeadScore(
        lead_id=score.lead_id,
        model=score.model,
        fit_points=score.fit_points,
        fit_grade=score.fit_grade,
        zone=score.zone,
        counted=score.counted,
        next_check_at=score.next_check_at,
        computed_at=score.computed_at,
    )
    obj.set_anchors(score.anchors)
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


_WRITE_COLUMNS = [
    "lead_id",
    "model_id",
    "fit_points",
    "fit_grade",
    "zone",
    "counted",
    "next_check_at",
    "computed_at",
    *ANCHOR_FIELDS,
]


def _pg_array_types(model, columns: list[str]) -> list[str]:
    """The PostgreSQL array type of each column (for ``unnest``); JSON goes in as text."""
    types = []
    for name in columns:
        field = model._meta.get_field(name.removesuffix("_id"))
        db_type = field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
        types.append("text" if db_type == "jsonb" else db_type)
    return types


def _upsert(model, columns: list[str], rows: list[list], *, batch: int) -> None:
    """INSERT … ON CONFLICT (lead_id) DO UPDATE, ``batch`` rows per statement (SQLite and
    PostgreSQL). Identifiers are ours and quoted; every value is a parameter.

    On PostgreSQL the rows go in as one array per column (``unnest``): a statement with
    thousands of placeholders costs psycopg more to parse than the database to run."""
    if not rows:
        return
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    names = ", ".join(q(c) for c in columns)
    updates = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in columns[1:])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = _pg_array_types(model, columns)
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            selected = ", ".join(
                f"u.c{i}::jsonb"
                if model._meta.get_field(c).get_internal_type() == "JSONField"
                else f"u.c{i}"
                for i, c in enumerate(columns)
            )
            aliases = ", ".join(f"c{i}" for i in range(len(columns)))
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {selected} "  # noqa: S608
                f"FROM unnest({arrays}) AS u({aliases}) "
                f"ON CONFLICT (lead_id) DO UPDATE SET {updates}",
                [list(column) for column in zip(*rows, strict=True)],
            )
            return
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([row_sql] * len(chunk))} "  # noqa: S608
                f"ON CONFLICT (lead_id) DO UPDATE SET {updates}",
                [v for row in chunk for v in row],
            )


def scores_write(outcomes: Sequence[Outcome], *, batch: int = 250) -> None:
    """Insert or update the LeadScore rows of ``outcomes`` and their kept events."""
    if not outcomes:
        return
    ops = connection.ops
    rows, states = [], []
    for o in outcomes:
        s = o.score
        padded = list(s.anchors) + [Anchor(0, 0.0, 0.0)] * (MAX_GROUPS - len(s.anchors))
        values = [
            s.lead_id,
            s.model.pk,
            s.fit_points,
            s.fit_grade,
            s.zone,
            s.counted,
            ops.adapt_datetimefield_value(s.next_check_at),
            ops.adapt_datetimefield_value(s.computed_at),
        ]
        for a in padded:
            values += [a.sign, a.k if a.sign else 0.0, a.rate if a.sign else 0.0]
        rows.append(values)
        # JSON text (cast on PostgreSQL): much cheaper than the field's adapter.
        states.append([s.lead_id, json.dumps(s.kept, separators=(",", ":"))])
    _upsert(LeadScore, _WRITE_COLUMNS, rows, batch=batch)
    _upsert(LeadScoreState, ["lead_id", "kept"], states, batch=batch * 2)


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
    *, lead_id: int, action: str, model: ScoringModel, grade: str, fit: int, value: float
) -> str:
    """Move the lead (through the one audited door for stage changes) and keep the score
    behind the move. Returns the new stage."""
    from leadwerk.leads.services import lead_transition

    cm = compiled(model)
    change = lead_transition(
        lead=Lead(pk=lead_id),  # it reads and locks the row itself
        to_stage=action,
        actor=None,
        reason=transition_reason(
            action=action, model=model, cm=cm, grade=grade, fit=fit, value=value
        ),
    )
    ScoreSnapshot.objects.create(
        lead_id=lead_id,
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
    return action


def outcomes_apply(outcomes: Sequence[Outcome], *, model: ScoringModel) -> int:
    """Write the scores and make the stage changes they call for; return how many."""
    scores_write(outcomes)
    moved = 0
    for o in outcomes:
        if o.action:
            o.lead.stage = transition_apply(
                lead_id=o.lead.pk,
                action=o.action,
                model=model,
                grade=o.fit.grade,
                fit=o.fit.points,
                value=o.value,
            )
            moved += 1
    return moved


def leads_locked(qs: QuerySet[Lead]) -> list[Lead]:
    """Lock leads in id order (the lock order shared by every writer)."""
    return list(qs.select_for_update(of=("self",)).order_by("pk"))
