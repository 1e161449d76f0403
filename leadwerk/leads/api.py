"""/api/v1/leads: intake, list, detail, edit, stage transitions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Header, Query, Router, Schema
from ninja.errors import AuthorizationError
from ninja.responses import Status
from pydantic import AwareDatetime, BeforeValidator, Field

from leadwerk.accounts.selectors import user_assignable_list
from leadwerk.activities.selectors import activity_timeline
from leadwerk.campaigns.selectors import campaign_by_slug
from leadwerk.contacts.selectors import contact_fields_limited
from leadwerk.errors import DomainValidationError, FieldError
from leadwerk.pagination import paginate

from . import services
from .choices import LeadSource, Stage
from .intake import LeadIn
from .schemas import (
    LeadDetailOut,
    LeadOut,
    LeadPage,
    LeadPatchIn,
    TransitionIn,
    activity_out,
    error_responses,
    lead_out,
    stage_change_out,
)
from .selectors import SORTS, LeadFilters, lead_get, lead_list, user_may_create_leads

router = Router(tags=["leads"])

# What each kind of endpoint can answer besides success (documented in the OpenAPI schema).
# 400: malformed JSON, 401: no or bad token, 403: read-only token, 413: body over 64 KB.
READ_ERRORS = error_responses(401, 422)
DETAIL_ERRORS = error_responses(401, 404, 422)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


@router.post(
    "/leads",
    response={201: LeadOut, **error_responses(400, 401, 403, 409, 413, 422)},
    summary="Create a lead",
    description=(
        "Creates a lead in stage `new`. The person is matched by normalised e-mail and the "
        "company by web domain or normalised name, so a second lead of the same person "
        "attaches to the same person. Send an `Idempotency-Key` header to make retries safe."
    ),
)
def create_lead(
    request: HttpRequest,
    payload: LeadIn,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=255),
):
    if not user_may_create_leads(request.user):
        raise AuthorizationError(message="partners receive leads; they cannot create them")
    result = services.lead_intake(
        data=payload,
        source=LeadSource.API,
        actor=request.user,
        idempotency_key=idempotency_key.strip(),
        context={"token": request.api_token.name},
    )
    # The service returns the lead with its relations in memory: no second read.
    return Status(201, lead_out(result.lead))


def _iso_only(value: object) -> object:
    """Refuse numbers: pydantic would read '0.5' as a Unix time, the schema says ISO 8601."""
    if not isinstance(value, str | datetime) or re.fullmatch(r"\s*[-+]?[\d.eE+-]+\s*", str(value)):
        raise ValueError("an ISO 8601 date-time with time zone, e.g. 2026-01-31T08:00:00+01:00")
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]


class LeadListQuery(Schema):
    stage: list[Literal[tuple(Stage.values)]] | None = Field(  # type: ignore[valid-type]
        None, description="One or more stages"
    )
    owner: str = Field("", max_length=40, description="A user id, 'me' or 'none'")
    channel: str = Field("", max_length=50)
    campaign: str = Field("", max_length=80)
    created_from: IsoDateTime | None = Field(None, description="ISO 8601 with time zone")
    created_to: IsoDateTime | None = Field(None, description="ISO 8601 with time zone")
    q: str = Field("", max_length=200, description="Text search: name, e-mail, company")
    sort: Literal[tuple(SORTS)] = "-created"  # type: ignore[valid-type]
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=100)


@router.get("/leads", response={200: LeadPage, **READ_ERRORS}, summary="List leads")
def list_leads(request: HttpRequest, query: Query[LeadListQuery]):
    if query.owner not in ("", "me", "none"):
        try:
            UUID(query.owner)
        except ValueError:
            raise DomainValidationError(
                [FieldError(("query", "owner"), "a user id, 'me' or 'none'")]
            ) from None
    filters = LeadFilters(
        stages=query.stage,
        owner=query.owner,
        channel=query.channel,
        campaign=query.campaign,
        created_from=query.created_from,
        created_to=query.created_to,
        q=query.q,
        sort=query.sort,
    )
    page = paginate(
        lead_list(user=request.user, filters=filters),
        page=query.page,
        size=query.page_size,
        clamp=False,
    )
    return {
        "count": page.count,
        "page": page.number,
        "page_size": page.size,
        "results": [
            lead_out(lead, limited=contact_fields_limited(request.user)) for lead in page.items
        ],
    }


def _get_or_404(request: HttpRequest, lead_id: UUID):
    lead = lead_get(user=request.user, uuid=lead_id)
    if lead is None:
        raise Http404("lead not found")
    return lead


def _detail(request: HttpRequest, lead) -> dict:
    return {
        **lead_out(lead, limited=contact_fields_limited(request.user)),
        "timeline": [activity_out(a) for a in activity_timeline(user=request.user, lead=lead)],
        "stage_changes": [
            stage_change_out(c) for c in lead.stage_changes.select_related("by").all()
        ],
    }


@router.get("/leads/{lead_id}", response={200: LeadDetailOut, **DETAIL_ERRORS}, summary="One lead")
def get_lead(request: HttpRequest, lead_id: UUID):
    return _detail(request, _get_or_404(request, lead_id))


@router.patch(
    "/leads/{lead_id}", response={200: LeadDetailOut, **WRITE_ERRORS}, summary="Edit a lead"
)
def patch_lead(request: HttpRequest, lead_id: UUID, payload: LeadPatchIn):
    lead = _get_or_404(request, lead_id)
    changes: dict = {}
    data = payload.model_dump(exclude_unset=True)
    errors: list[FieldError] = []
    for name in ("product_interest", "message", "external_id"):
        if name in data:
            changes[name] = data[name] or ""
    if "campaign" in data:
        if data["campaign"]:
            campaign = campaign_by_slug(data["campaign"])
            if campaign is None:
                errors.append(FieldError(("campaign",), f"unknown campaign '{data['campaign']}'"))
            changes["campaign"] = campaign
        else:
            changes["campaign"] = None
    if "owner" in data:
        if data["owner"] is None:
            changes["owner"] = None
        else:
            owner = user_assignable_list(user=request.user).filter(uuid=data["owner"]).first()
            if owner is None:
                errors.append(FieldError(("owner",), "unknown user, or not one you may assign"))
            changes["owner"] = owner
    if errors:
        raise DomainValidationError(errors)
    services.lead_update(lead=lead, actor=request.user, changes=changes)
    return _detail(request, _get_or_404(request, lead_id))


@router.post(
    "/leads/{lead_id}/transition",
    response={200: LeadDetailOut, **WRITE_ERRORS},
    summary="Move a lead to another stage",
    description="Refused with 409 when the lifecycle does not allow the move; the answer "
    "lists the allowed stages. Moves to lost, recycled and disqualified need a reason.",
)
def transition_lead(request: HttpRequest, lead_id: UUID, payload: TransitionIn):
    lead = _get_or_404(request, lead_id)
    services.lead_transition(
        lead=lead, to_stage=payload.to, actor=request.user, reason=payload.reason
    )
    return _detail(request, _get_or_404(request, lead_id))
