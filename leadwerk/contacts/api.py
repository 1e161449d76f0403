"""/api/v1/persons and /api/v1/companies (read-only)."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from leadwerk.leads.schemas import error_responses
from leadwerk.pagination import paginate

from .schemas import (
    CompanyDetailOut,
    CompanyPage,
    PersonDetailOut,
    PersonPage,
    company_out,
    person_out,
)
from .selectors import (
    company_get,
    company_list,
    company_related_uuids,
    contact_fields_limited,
    person_get,
    person_lead_uuids,
    person_list,
)

router = Router(tags=["contacts"])
LIST_ERRORS = error_responses(401, 422)
DETAIL_ERRORS = error_responses(401, 404, 422)


class ListQuery(Schema):
    q: str = Field("", max_length=200, description="Text search")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=100)


@router.get("/persons", response={200: PersonPage, **LIST_ERRORS}, summary="List persons")
def list_persons(request: HttpRequest, query: Query[ListQuery]):
    page = paginate(
        person_list(user=request.user, q=query.q),
        page=query.page,
        size=query.page_size,
        clamp=False,
    )
    return {
        "count": page.count,
        "page": page.number,
        "page_size": page.size,
        "results": [person_out(p) for p in page.items],
    }


@router.get(
    "/persons/{person_id}", response={200: PersonDetailOut, **DETAIL_ERRORS}, summary="One person"
)
def get_person(request: HttpRequest, person_id: UUID):
    person = person_get(user=request.user, uuid=person_id)
    if person is None:
        raise Http404("person not found")
    return {
        **person_out(person),
        "company": company_out(person.company, limited=contact_fields_limited(request.user))
        if person.company_id
        else None,
        "lead_ids": person_lead_uuids(user=request.user, person=person),
    }


@router.get("/companies", response={200: CompanyPage, **LIST_ERRORS}, summary="List companies")
def list_companies(request: HttpRequest, query: Query[ListQuery]):
    page = paginate(
        company_list(user=request.user, q=query.q),
        page=query.page,
        size=query.page_size,
        clamp=False,
    )
    return {
        "count": page.count,
        "page": page.number,
        "page_size": page.size,
        "results": [
            company_out(c, limited=contact_fields_limited(request.user)) for c in page.items
        ],
    }


@router.get(
    "/companies/{company_id}",
    response={200: CompanyDetailOut, **DETAIL_ERRORS},
    summary="One company",
)
def get_company(request: HttpRequest, company_id: UUID):
    company = company_get(user=request.user, uuid=company_id)
    if company is None:
        raise Http404("company not found")
    person_ids, lead_ids = company_related_uuids(user=request.user, company=company)
    limited = contact_fields_limited(request.user)
    return {
        **company_out(company, limited=limited),
        "person_ids": person_ids,
        "lead_ids": lead_ids,
    }
