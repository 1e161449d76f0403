"""API output shapes for people and companies."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ninja import Schema


class CompanyOut(Schema):
    id: UUID
    name: str
    legal_form: str
    website: str
    domain: str
    industry: str
    employees: int | None
    employee_band: str
    country: str
    postal_code: str
    city: str
    federal_state: str
    vat_id: str
    created_at: datetime
    updated_at: datetime


class PersonOut(Schema):
    id: UUID
    salutation: str
    title: str
    first_name: str
    last_name: str
    email: str
    phone: str
    phone_valid: bool
    job_title: str
    language: str
    company_id: UUID | None
    created_at: datetime
    updated_at: datetime


class PersonDetailOut(PersonOut):
    company: CompanyOut | None
    lead_ids: list[UUID]


class CompanyDetailOut(CompanyOut):
    person_ids: list[UUID]
    lead_ids: list[UUID]


class PersonPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[PersonOut]


class CompanyPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[CompanyOut]


def company_out(company, *, limited: bool = False) -> dict:
    """``limited``: for partners, without internal qualification data (VAT ID, head count)."""
    data = {
        "id": company.uuid,
        **{
            f: getattr(company, f)
            for f in (
                "name",
                "legal_form",
                "website",
                "domain",
                "industry",
                "employees",
                "employee_band",
                "country",
                "postal_code",
                "city",
                "federal_state",
                "vat_id",
                "created_at",
                "updated_at",
            )
        },
    }
    if limited:
        data["vat_id"] = ""
        data["employees"] = None
    return data


def person_out(person) -> dict:
    return {
        "id": person.uuid,
        **{
            f: getattr(person, f)
            for f in (
                "salutation",
                "title",
                "first_name",
                "last_name",
                "email",
                "phone",
                "phone_valid",
                "job_title",
                "language",
                "created_at",
                "updated_at",
            )
        },
        "company_id": person.company.uuid if person.company_id else None,
    }
