"""/api/v1/events: behaviour events from websites, e-mail and webinar tools, shops, telephony."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from leadwerk.accounts.selectors import user_sees_everything
from leadwerk.errors import DomainValidationError, FieldError
from leadwerk.leads.schemas import MessageOut, ValidationErrorOut

from .events import MAX_BATCH, EventBatchIn, EventIn
from .ingest import events_record

router = Router(tags=["events"])


class ScoreBriefOut(BaseModel):
    engagement: float
    fit_points: int
    fit_grade: str
    cell: str
    label: str


class EventOut(BaseModel):
    id: UUID
    type: str
    occurred_at: datetime
    person_id: UUID
    person_created: bool
    lead_id: UUID | None


class LeadScoredOut(BaseModel):
    id: UUID
    stage: str
    stage_changed: bool
    score: ScoreBriefOut


class EventsOut(BaseModel):
    count: int
    events: list[EventOut]
    leads: list[LeadScoredOut]


def _inline(schema: dict) -> dict:
    """Pydantic's JSON schema with its $defs resolved in place (for the OpenAPI document)."""
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(dict(defs[ref.removeprefix("#/$defs/")]))
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


_BODY_SCHEMA = {
    "oneOf": [_inline(EventIn.model_json_schema()), _inline(EventBatchIn.model_json_schema())]
}


def _errors(exc: PydanticValidationError, prefix: tuple) -> list[FieldError]:
    return [
        FieldError((*prefix, *e["loc"]), e["msg"].removeprefix("Value error, "), e["type"])
        for e in exc.errors()
    ]


def _parse(body: bytes) -> tuple[list[EventIn], bool]:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"malformed JSON: {exc}") from None
    if isinstance(data, dict) and "events" in data:
        events = data.get("events")
        if isinstance(events, list) and len(events) > MAX_BATCH:
            raise DomainValidationError(
                [
                    FieldError(
                        ("events",),
                        f"at most {MAX_BATCH} events per request, got {len(events)}",
                        "too_long",
                    )
                ]
            )
        try:
            return EventBatchIn.model_validate(data).events, True
        except PydanticValidationError as exc:
            raise DomainValidationError(_errors(exc, ())) from None
    if not isinstance(data, dict):
        raise DomainValidationError(
            [FieldError((), 'send one event object or {"events": [...]}', "type_error")]
        )
    try:
        return [EventIn.model_validate(data)], False
    except PydanticValidationError as exc:
        raise DomainValidationError(_errors(exc, ())) from None


@router.post(
    "/events",
    response={
        201: EventsOut,
        400: MessageOut,
        401: MessageOut,
        403: MessageOut,
        413: MessageOut,
        422: ValidationErrorOut,
    },
    summary="Record behaviour events",
    description=(
        'One event, or `{"events": [...]}` with up to 1,000. **A batch is all-or-nothing:** '
        "every event is checked first; if any is wrong, the answer is 422 naming each wrong "
        'event by its index (`["body", "events", 7, "occurred_at"]`) and nothing is '
        "written. Otherwise all events land on the persons' timelines and their open leads "
        "are rescored in the same transaction; the answer lists the leads with their new "
        "score and whether their stage changed (hand-off to sales, recycling). Persons are "
        "found by e-mail or id; unknown e-mail addresses are refused unless an admin allows "
        "creating anonymous prospects. Timestamps need a time zone and may lie at most the "
        "configured tolerance (default 5 minutes) in the future."
    ),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}
    },
)
def post_events(request: HttpRequest):
    if not user_sees_everything(request.user):
        raise HttpError(403, "only marketing, inside sales or admin users may post events")
    events, batch = _parse(request.body)
    result = events_record(events=events, batch=batch)
    from leadwerk.leads.selectors import lead_scope
    from leadwerk.scoring.selectors import score_brief

    touched = {o.lead.pk: o for o in result.outcomes}
    # The events' leads are open leads of their persons, which scoring has just loaded;
    # only the others (no active model) are read.
    lead_uuids = {pk: o.lead.uuid for pk, o in touched.items()}
    missing = {r.activity.lead_id for r in result.events} - set(lead_uuids) - {None}
    if missing:
        leads = lead_scope(user=request.user).filter(pk__in=missing)
        lead_uuids.update(leads.values_list("pk", "uuid"))
    return Status(
        201,
        {
            "count": len(result.events),
            "events": [
                {
                    "id": r.activity.uuid,
                    "type": r.activity.type,
                    "occurred_at": r.activity.occurred_at,
                    "person_id": r.person.uuid,
                    "person_created": r.person_created,
                    "lead_id": lead_uuids.get(r.activity.lead_id),
                }
                for r in result.events
            ],
            "leads": [
                {
                    "id": o.lead.uuid,
                    "stage": o.lead.stage,
                    "stage_changed": bool(o.action),
                    "score": score_brief(o.score, now=o.score.computed_at),
                }
                for o in touched.values()
            ],
        },
    )
