"""/api/v1/persons/{id}/consents: the consent state and history of a person, recording and
withdrawing consent, starting a double opt-in."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.errors import AuthorizationError
from ninja.responses import Status
from pydantic import ConfigDict, Field

from leadwerk.contacts.selectors import contact_fields_limited, person_get
from leadwerk.errors import DomainValidationError, FieldError
from leadwerk.leads.schemas import MessageOut, ValidationErrorOut

from . import services
from .choices import ConsentSource, ConsentState, ContactChannel, LegalBasis, Purpose
from .selectors import consent_history, consent_overview, consent_text_get
from .views import _may_grant

router = Router(tags=["consent"])
ERRORS = {
    400: MessageOut,
    401: MessageOut,
    403: MessageOut,
    404: MessageOut,
    409: MessageOut,
    422: ValidationErrorOut,
}

PurposeLit = Literal[tuple(Purpose.values)]  # type: ignore[valid-type]
ChannelLit = Literal[tuple(ContactChannel.values)]  # type: ignore[valid-type]


class ConsentStatusOut(Schema):
    purpose: str
    channel: str
    state: str | None = Field(description="granted, withdrawn, pending, or null: never asked")
    legal_basis: str | None
    since: datetime | None


class ConsentRecordOut(Schema):
    id: UUID
    purpose: str
    channel: str
    state: str
    legal_basis: str
    source: str
    text_version: int | None
    text_language: str | None
    recorded_at: datetime
    ip: str | None
    user_agent: str
    recorded_by: str | None
    evidence: str


class ConsentsOut(Schema):
    current: list[ConsentStatusOut]
    history: list[ConsentRecordOut]


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    purpose: PurposeLit
    channel: ChannelLit
    state: Literal["granted", "withdrawn"]
    legal_basis: Literal[tuple(LegalBasis.values)] = "consent"  # type: ignore[valid-type]
    source: Literal[tuple(ConsentSource.values[:5])] = "api"  # type: ignore[valid-type]
    text_version: int | None = Field(None, ge=1, le=1_000_000)
    text_language: Literal["de", "en"] = "de"
    evidence: str = Field("", max_length=300)


class DoubleOptInIn(Schema):
    model_config = ConfigDict(extra="forbid")

    purpose: PurposeLit
    channel: ChannelLit = "email"


class DoubleOptInOut(Schema):
    id: UUID
    purpose: str
    channel: str
    expires_at: datetime


def record_out(r, *, limited: bool = False) -> dict:
    """``limited`` (partners): without the person's address and user agent."""
    return {
        "id": r.uuid,
        "purpose": r.purpose,
        "channel": r.channel,
        "state": r.state,
        "legal_basis": r.legal_basis,
        "source": r.source,
        "text_version": r.text.version if r.text_id else None,
        "text_language": r.text.language if r.text_id else None,
        "recorded_at": r.recorded_at,
        "ip": None if limited else r.ip,
        "user_agent": "" if limited else r.user_agent,
        "recorded_by": str(r.recorded_by) if r.recorded_by_id else None,
        "evidence": r.evidence,
    }


def _person(request, person_id):
    person = person_get(user=request.user, uuid=person_id)
    if person is None:
        raise Http404("person not found")
    return person


def _consents(person, *, limited: bool) -> dict:
    return {
        "current": [
            {
                "purpose": row["purpose"],
                "channel": row["channel"],
                "state": row["status"].state if row["status"] else None,
                "legal_basis": row["status"].legal_basis if row["status"] else None,
                "since": row["status"].updated_at if row["status"] else None,
            }
            for row in consent_overview(person=person)
        ],
        "history": [record_out(r, limited=limited) for r in consent_history(person=person)[:500]],
    }


@router.get(
    "/persons/{person_id}/consents",
    response={200: ConsentsOut, **ERRORS},
    summary="Consent state and history of a person",
)
def get_consents(request: HttpRequest, person_id: UUID):
    return _consents(_person(request, person_id), limited=contact_fields_limited(request.user))


@router.post(
    "/persons/{person_id}/consents",
    response={201: ConsentRecordOut, **ERRORS},
    summary="Record a consent (or another legal basis) or a withdrawal",
    description="A withdrawal applies at once, to every message not yet sent. Consent as the "
    "legal basis needs `text_version`: the version of the consent text the person saw.",
)
def post_consent(request: HttpRequest, person_id: UUID, payload: ConsentIn):
    person = _person(request, person_id)
    if payload.state == ConsentState.WITHDRAWN:
        record = services.consent_withdraw(
            person=person,
            purpose=payload.purpose,
            channel=payload.channel,
            source=payload.source,
            actor=request.user,
            evidence=payload.evidence,
        )
        return Status(201, record_out(record, limited=contact_fields_limited(request.user)))
    if not _may_grant(request.user):
        raise AuthorizationError(message="your role may withdraw consent but not record it")
    text = None
    if payload.text_version is not None:
        text = consent_text_get(
            purpose=payload.purpose,
            channel=payload.channel,
            language=payload.text_language,
            version=payload.text_version,
        )
        if text is None:
            raise DomainValidationError(
                [FieldError(("text_version",), "there is no such text version", "unknown")]
            )
    record = services.consent_record(
        person=person,
        purpose=payload.purpose,
        channel=payload.channel,
        state=ConsentState.GRANTED,
        legal_basis=payload.legal_basis,
        source=payload.source,
        text=text,
        actor=request.user,
        evidence=payload.evidence,
    )
    return Status(201, record_out(record))


@router.post(
    "/persons/{person_id}/consents/double-opt-in",
    response={202: DoubleOptInOut, **ERRORS},
    summary="Ask the person to confirm a purpose by e-mail (double opt-in)",
)
def post_double_opt_in(request: HttpRequest, person_id: UUID, payload: DoubleOptInIn):
    person = _person(request, person_id)
    if not _may_grant(request.user):
        raise AuthorizationError(message="your role may not ask for consent")
    doi = services.consent_doi_start(
        person=person,
        purpose=payload.purpose,
        channel=payload.channel,
        source=ConsentSource.API,
        actor=request.user,
    )
    return Status(
        202,
        {
            "id": doi.uuid,
            "purpose": doi.purpose,
            "channel": doi.channel,
            "expires_at": doi.expires_at,
        },
    )
