"""/api/v1/persons/{id}/bounce: a mail system reports an undeliverable address."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from pydantic import Field

from leadwerk.contacts.selectors import person_get
from leadwerk.errors import Conflict
from leadwerk.leads.schemas import error_responses

from .services import email_mark_bounced

router = Router(tags=["data quality"])


class BounceIn(Schema):
    email: str = Field(
        "", max_length=254, description="The address that bounced (must be the person's)"
    )
    reason: str = Field("", max_length=300, description="e.g. the SMTP answer")
    source: str = Field("", max_length=100, description="The reporting system")


class BounceOut(Schema):
    flagged: bool = Field(description="False if the address was flagged already")


@router.post(
    "/persons/{person_id}/bounce",
    response={200: BounceOut, **error_responses(400, 401, 403, 404, 409, 413, 422)},
    summary="Report a bounced e-mail address",
)
def report_bounce(request: HttpRequest, person_id: UUID, payload: BounceIn):
    """Flags the person's e-mail address as bounced (shown on the person, counted on the
    data-quality dashboard, listed in the owner's data-care tasks)."""
    person = person_get(user=request.user, uuid=person_id)
    if person is None:
        raise Http404("person not found")
    if payload.email and payload.email.strip().casefold() != person.email.casefold():
        raise Conflict(
            "the address does not match the person's current e-mail address",
            code="email_mismatch",
        )
    flagged = email_mark_bounced(
        person=person, reason=payload.reason, actor=request.user, source=payload.source
    )
    return {"flagged": flagged}
