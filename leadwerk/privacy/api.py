"""/api/v1/persons/{id}/export and /erase: data-subject requests (admin tokens only)."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.errors import AuthorizationError

from leadwerk.accounts.choices import TokenScope
from leadwerk.contacts.selectors import person_get
from leadwerk.leads.schemas import MessageOut, ValidationErrorOut

from .selectors import user_may_handle_requests
from .services import person_erase, person_export_data

router = Router(tags=["privacy"])
ERRORS = {
    400: MessageOut,
    401: MessageOut,
    403: MessageOut,
    404: MessageOut,
    409: MessageOut,
    422: ValidationErrorOut,
}


class PersonExportOut(Schema):
    generated_at: str
    person_id: UUID
    sections: dict


class ErasureOut(Schema):
    id: UUID
    person_id: UUID
    performed_at: str
    rows: dict


def _person(request, person_id):
    token = getattr(request, "api_token", None)
    if token is None or token.scope != TokenScope.ADMIN:
        raise AuthorizationError(message="data-subject requests need a token with scope admin")
    if not user_may_handle_requests(request.user):
        raise AuthorizationError(message="data-subject requests are for admins")
    person = person_get(user=request.user, uuid=person_id)
    if person is None:
        raise Http404("person not found")
    return person


@router.get(
    "/persons/{person_id}/export",
    response={200: PersonExportOut, **ERRORS},
    summary="Everything stored about a person (Art. 15 GDPR)",
)
def export_person(request: HttpRequest, person_id: UUID):
    return person_export_data(person=_person(request, person_id), actor=request.user)


@router.post(
    "/persons/{person_id}/erase",
    response={200: ErasureOut, **ERRORS},
    summary="Anonymise a person everywhere (Art. 17 GDPR)",
)
def erase_person(request: HttpRequest, person_id: UUID):
    person = _person(request, person_id)
    erasure = person_erase(person=person, actor=request.user)
    return {
        "id": erasure.uuid,
        "person_id": person.uuid,
        "performed_at": erasure.performed_at.isoformat(),
        "rows": erasure.counts,
    }
