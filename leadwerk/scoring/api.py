"""/api/v1: a lead's score explained, and the scoring model's versions (import, export,
preview, activation)."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from leadwerk.accounts.choices import Role
from leadwerk.leads.schemas import MessageOut, UserRef, ValidationErrorOut, user_ref
from leadwerk.leads.selectors import lead_get

from . import services
from .choices import RunKind
from .selectors import (
    lead_score_explain,
    scoring_model_get,
    scoring_model_list,
    scoring_model_text,
    scoring_run_get,
)

router = Router(tags=["scoring"])
ERRORS = {
    401: MessageOut,
    403: MessageOut,
    404: MessageOut,
    409: MessageOut,
    422: ValidationErrorOut,
}


class FitRuleOut(Schema):
    rule: str
    label: str
    field: str
    op: str
    value: object
    points: int
    matched: bool
    seen: object = Field(description="The lead's value the rule matched")


class GroupOut(Schema):
    key: str
    name: str
    half_life_days: float
    value: float = Field(description="This group's engagement now")


class EventScoreOut(Schema):
    id: UUID
    type: str
    subject: str
    occurred_at: datetime
    rule: str
    rule_label: str
    group: str
    points: int
    points_now: float = Field(description="Points after decay, now (0 when capped)")
    counted: bool = Field(description="False: beyond the rule's max_count")


class CapOut(Schema):
    rule: str
    label: str
    max_count: int
    matched: int
    counted: int


class HandoffOut(Schema):
    min_grade: str
    min_engagement: float
    grade_ok: bool
    engagement_ok: bool
    met: bool


class RecycleOut(Schema):
    enabled: bool
    below_engagement: float | None
    below: bool


class ModelRef(Schema):
    id: UUID
    version: int
    name: str


class SeriesPoint(Schema):
    at: datetime
    engagement: float


class ScoreOut(Schema):
    lead_id: UUID
    stage: str
    model: ModelRef
    model_is_active: bool
    computed_at: datetime | None
    now: datetime
    engagement: float
    fit_points: int
    fit_grade: str
    band: int
    cell: str
    label: str
    groups: list[GroupOut]
    fit_rules: list[FitRuleOut]
    events: list[EventScoreOut]
    caps: list[CapOut]
    handoff: HandoffOut
    recycle: RecycleOut
    next_check_at: datetime | None = Field(
        description="When decay alone next changes the hand-off or recycling state"
    )
    history: list[SeriesPoint] = Field(description="Engagement over the last 90 days")


@router.get(
    "/leads/{lead_id}/score",
    response={200: ScoreOut, **ERRORS},
    summary="A lead's score, explained",
    description="Fit rules that matched, the events that count now with their points after "
    "decay, caps applied, grade, band, matrix cell and label, the hand-off and recycle rules, "
    "and the engagement over the last 90 days.",
)
def get_score(request: HttpRequest, lead_id: UUID):
    lead = lead_get(user=request.user, uuid=lead_id)
    if lead is None:
        raise Http404("lead not found")
    ex = lead_score_explain(lead=lead)
    if ex is None:
        raise Http404("no scoring model is active")
    return {
        "lead_id": lead.uuid,
        "stage": lead.stage,
        "model": {"id": ex.model.uuid, "version": ex.model.number, "name": ex.model.name},
        "model_is_active": not ex.outdated_model,
        "computed_at": ex.computed_at,
        "now": ex.now,
        "engagement": ex.engagement,
        "fit_points": ex.fit_points,
        "fit_grade": ex.grade,
        "band": ex.band,
        "cell": ex.cell,
        "label": ex.label,
        "groups": ex.groups,
        "fit_rules": ex.fit_rules,
        "events": ex.events,
        "caps": ex.caps,
        "handoff": ex.handoff,
        "recycle": ex.recycle,
        "next_check_at": ex.next_check_at,
        "history": [{"at": at, "engagement": round(v, 2)} for at, v in ex.series if at <= ex.now],
    }


# --- model versions --------------------------------------------------------------------------


def _may_configure(user) -> bool:
    return user.has_role(Role.ADMIN, Role.MARKETING)


def _require_configure(request: HttpRequest) -> None:
    if not _may_configure(request.user):
        raise HttpError(403, "only marketing or admin users may change the scoring model")


class VersionOut(Schema):
    id: UUID
    version: int
    name: str
    status: str
    note: str
    based_on: int | None
    created_by: UserRef | None
    created_at: datetime
    activated_by: UserRef | None
    activated_at: datetime | None


class VersionDetailOut(VersionOut):
    model: dict


class RunOut(Schema):
    id: UUID
    kind: str
    status: str
    model: ModelRef
    total: int
    done: int
    percent: int
    stats: dict
    created_at: datetime
    finished_at: datetime | None


def _version_out(m) -> dict:
    return {
        "id": m.uuid,
        "version": m.number,
        "name": m.name,
        "status": m.status,
        "note": m.note,
        "based_on": m.based_on.number if m.based_on_id else None,
        "created_by": user_ref(m.created_by),
        "created_at": m.created_at,
        "activated_by": user_ref(m.activated_by),
        "activated_at": m.activated_at,
    }


def _run_out(run) -> dict:
    return {
        "id": run.uuid,
        "kind": run.kind,
        "status": run.status,
        "model": {"id": run.model.uuid, "version": run.model.number, "name": run.model.name},
        "total": run.total,
        "done": run.done,
        "percent": run.percent,
        "stats": run.stats,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


def _version_or_404(version_id: UUID):
    m = scoring_model_get(uuid=version_id)
    if m is None:
        raise Http404("scoring model version not found")
    return m


@router.get("/scoring/models", response={200: list[VersionOut], **ERRORS}, summary="Versions")
def list_versions(request: HttpRequest):
    return [_version_out(m) for m in scoring_model_list()[:200]]


@router.get(
    "/scoring/models/{version_id}",
    response={200: VersionDetailOut, **ERRORS},
    summary="One version with its model",
)
def get_version(request: HttpRequest, version_id: UUID):
    m = _version_or_404(version_id)
    return {**_version_out(m), "model": m.config}


@router.get(
    "/scoring/models/{version_id}/export",
    response={200: dict, **ERRORS},
    summary="Export a version as a JSON document (what import takes)",
)
def export_version(request: HttpRequest, version_id: UUID):
    m = _version_or_404(version_id)
    response = HttpResponse(scoring_model_text(m), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="scoring-model-v{m.number}.json"'
    return response


class ImportQuery(Schema):
    note: str = Field("", max_length=2000, description="What changed and why")


@router.post(
    "/scoring/models",
    response={201: VersionDetailOut, 400: MessageOut, **ERRORS},
    summary="Import a model document as a new draft version",
    description="The body is a model document as export gives it. Every problem (unknown "
    "field, wrong type, bad regular expression, negative half-life, …) is named with its "
    "location; nothing is saved then.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def import_version(request: HttpRequest, query: Query[ImportQuery]):
    _require_configure(request)
    try:
        document = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"malformed JSON: {exc}") from None
    m = services.scoring_model_create(document=document, actor=request.user, note=query.note)
    return Status(201, {**_version_out(m), "model": m.config})


@router.post(
    "/scoring/models/{version_id}/preview",
    response={202: RunOut, **ERRORS},
    summary="Preview a version: what it would do to all leads (runs in the background)",
)
def preview_version(request: HttpRequest, version_id: UUID):
    _require_configure(request)
    m = _version_or_404(version_id)
    run = services.scoring_run_start(model=m, kind=RunKind.PREVIEW, actor=request.user)
    return Status(202, _run_out(run))


@router.post(
    "/scoring/models/{version_id}/activate",
    response={202: RunOut, **ERRORS},
    summary="Activate a version and rescore every lead with it (in the background)",
)
def activate_version(request: HttpRequest, version_id: UUID):
    _require_configure(request)
    m = _version_or_404(version_id)
    run = services.scoring_model_activate(model=m, actor=request.user)
    return Status(202, _run_out(run))


@router.get("/scoring/runs/{run_id}", response={200: RunOut, **ERRORS}, summary="A run's progress")
def get_run(request: HttpRequest, run_id: UUID):
    run = scoring_run_get(uuid=run_id)
    if run is None:
        raise Http404("run not found")
    return _run_out(run)
