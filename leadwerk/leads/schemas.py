"""API output shapes for leads."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field

from leadwerk.contacts.schemas import CompanyOut, PersonOut, company_out, person_out

from .intake import Line, Text


class UserRef(Schema):
    id: UUID
    name: str
    email: str


class LeadOut(Schema):
    id: UUID
    stage: str
    owner: UserRef | None
    person: PersonOut
    company: CompanyOut | None
    channel: str = Field(description="Channel slug")
    campaign: str | None = Field(description="Campaign slug")
    source: str
    product_interest: str
    message: str
    external_id: str
    created_at: datetime
    updated_at: datetime
    assigned_at: datetime | None
    first_response_at: datetime | None
    closed_at: datetime | None


class ActivityOut(Schema):
    id: UUID
    type: str
    occurred_at: datetime
    actor: UserRef | None
    subject: str
    payload: dict


class StageChangeOut(Schema):
    from_stage: str
    to_stage: str
    at: datetime
    by: UserRef | None
    reason: str


class LeadDetailOut(LeadOut):
    timeline: list[ActivityOut]
    stage_changes: list[StageChangeOut]


class LeadPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[LeadOut]


class LeadPatchIn(Schema):
    """Fields that may change. ``owner`` is a user id or null (unassign)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product_interest: Line | None = Field(None, max_length=200)
    message: Text | None = Field(None, max_length=10_000)
    external_id: Line | None = Field(None, max_length=100)
    campaign: Line | None = Field(None, max_length=80, description="Campaign slug or '' to clear")
    owner: UUID | None = None


class TransitionIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    to: Line = Field(..., max_length=20, description="Target stage")
    reason: Text = Field("", max_length=2000)


class ErrorItem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(Schema):
    detail: list[ErrorItem]


class MessageOut(Schema):
    """Every error other than 422: what went wrong in ``detail``; a 409 also carries a
    ``code`` and, by code, the ``allowed`` stages or the existing ``lead_id``."""

    detail: str
    code: str | None = None
    allowed: list[str] | None = None
    lead_id: UUID | None = None


def error_responses(*codes: int) -> dict[int, type[Schema]]:
    """The documented error answers of an endpoint: 422 has field errors, the rest a message."""
    return {code: ValidationErrorOut if code == 422 else MessageOut for code in codes}


def user_ref(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.uuid, "name": str(user), "email": user.email}


def lead_out(lead, *, limited: bool = False) -> dict:
    return {
        "id": lead.uuid,
        "stage": lead.stage,
        "owner": user_ref(lead.owner),
        "person": person_out(lead.person),
        "company": company_out(lead.company, limited=limited) if lead.company_id else None,
        "channel": lead.channel.slug,
        "campaign": lead.campaign.slug if lead.campaign_id else None,
        "source": lead.source,
        "product_interest": lead.product_interest,
        "message": lead.message,
        "external_id": lead.external_id,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "assigned_at": lead.assigned_at,
        "first_response_at": lead.first_response_at,
        "closed_at": lead.closed_at,
    }


def activity_out(activity) -> dict:
    return {
        "id": activity.uuid,
        "type": activity.type,
        "occurred_at": activity.occurred_at,
        "actor": user_ref(activity.actor),
        "subject": activity.subject,
        "payload": activity.payload,
    }


def stage_change_out(change) -> dict:
    return {
        "from_stage": change.from_stage,
        "to_stage": change.to_stage,
        "at": change.at,
        "by": user_ref(change.by),
        "reason": change.reason,
    }
