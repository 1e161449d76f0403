"""Writes for people and companies: matching at intake, creation, filling gaps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from leadwerk.dedup.services import company_intake_check, person_intake_check

from .models import Company, Person
from .normalization import (
    company_name_key,
    company_name_split,
    domain_from_website,
    email_key,
    federal_state_for,
)
from .phone import phone_normalize

PERSON_FIELDS = ("salutation", "title", "first_name", "last_name", "job_title", "language")
COMPANY_FIELDS = (
    "website",
    "industry",
    "employees",
    "employee_band",
    "country",
    "postal_code",
    "city",
    "vat_id",
    "legal_form",
)


@dataclass
class MatchResult:
    """What matching did: the record, whether it is new, which gaps it filled and which
    differing values it did not take over (kept for a human to decide, never lost)."""

    obj: Person | Company
    created: bool
    filled: dict[str, object] = field(default_factory=dict)
    differing: dict[str, dict[str, object]] = field(default_factory=dict)


def _merge_into(obj, values: dict[str, object]) -> tuple[dict, dict]:
    """Fill empty fields of ``obj`` from ``values``; report differing non-empty values."""
    filled, differing = {}, {}
    for name, new in values.items():
        if new in ("", None):
            continue
        old = getattr(obj, name)
        if old in ("", None):
            setattr(obj, name, new)
            filled[name] = new
        elif old != new:
            differing[name] = {"current": old, "submitted": new}
    return filled, differing


def _company_find(*, domain: str, key: str, country: str) -> Company | None:
    company = None
    if domain:
        company = Company.objects.filter(domain=domain).order_by("id").first()
    if company is None and key:
        candidates = Company.objects.filter(name_key=key)
        if country:
            candidates = candidates.filter(country__in=[country, ""])
        if domain:
            candidates = candidates.filter(domain="")
        company = candidates.order_by("id").first()
    return company


def _lock_keys(*keys: str) -> None:
    """PostgreSQL advisory locks on these keys until the transaction ends, always taken in
    the same order (so two transactions never wait for each other crosswise)."""
    ids = sorted(
        {
            int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big", signed=True)
            for k in keys
            if k.partition(":")[2]
        }
    )
    with connection.cursor() as cursor:
        for lock_id in ids:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def _federal_state(country: str, postal_code: str) -> str:
    """The German federal state from the postal code (routing rules use it), '' if the
    company is not in Germany or the code is unknown."""
    if (country or settings.LEADWERK_DEFAULT_COUNTRY) != "DE":
        return ""
    return federal_state_for(postal_code.strip())


def company_match_or_create(
    *,
    name: str,
    legal_form: str = "",
    website: str = "",
    industry: str = "",
    employees: int | None = None,
    employee_band: str = "",
    country: str = "",
    postal_code: str = "",
    city: str = "",
    vat_id: str = "",
) -> MatchResult:
    """Find the company by web domain, else by normalised name (and country), else create it.

    Call inside the caller's transaction.
    """
    base_name, split_form = company_name_split(name)
    legal_form = legal_form or split_form
    domain = domain_from_website(website)
    key = company_name_key(base_name)
    company = _company_find(domain=domain, key=key, country=country)
    if company is None and connection.vendor == "postgresql":
        # Two parallel intakes of the same new company would both miss it and both create
        # it: the first to lock its keys creates, the other waits and then finds it.
        # (SQLite takes its single write lock at BEGIN, so its intakes never overlap.)
        _lock_keys(f"company-domain:{domain}" if domain else "", f"company-name:{key}")
        company = _company_find(domain=domain, key=key, country=country)
    values = {
        "website": website,
        "industry": industry,
        "employees": employees,
        "employee_band": employee_band,
        "country": country,
        "postal_code": postal_code,
        "city": city,
        "vat_id": vat_id,
        "legal_form": legal_form,
        "federal_state": _federal_state(country, postal_code),
    }
    if company is None:
        company = Company.objects.create(name=base_name, name_key=key, domain=domain, **values)
        found = company_intake_check(company=company)
        if found.pk == company.pk:
            return MatchResult(company, True)
        return MatchResult(found, False)
    if domain and not company.domain:
        values["domain"] = domain
    filled, differing = _merge_into(company, values)
    if filled:
        company.save(update_fields=[*filled, "updated_at"])
    return MatchResult(company, False, filled, differing)


def _checked(person: Person) -> MatchResult:
    """Run the fast duplicate check on a person just created: a certain duplicate is merged
    into the existing record at once, a doubtful one is queued for review."""
    found = person_intake_check(person=person)
    if found.pk == person.pk:
        return MatchResult(person, True)
    return MatchResult(found, False)


def person_match_or_create(
    *,
    email: str = "",
    phone: str = "",
    company: Company | None = None,
    **values: str,
) -> MatchResult:
    """Find the person by normalised e-mail, else create them. Call inside a transaction.

    A person without e-mail cannot be matched safely and is always created; duplicate
    detection finds them later.
    """
    region = (company.country if company and company.country else "") or (
        settings.LEADWERK_DEFAULT_COUNTRY
    )
    phone_value, phone_valid = phone_normalize(phone, region=region)
    key = email_key(email) if email else ""
    fields = {k: values.get(k, "") for k in PERSON_FIELDS}
    if key:
        # ``exclude`` lets SQLite use the partial unique index on the key (its planner does not
        # see that a non-empty value satisfies the index's condition; without, it scans).
        person, created = Person.objects.exclude(email_normalized="").get_or_create(
            email_normalized=key,
            defaults={
                "email": email,
                "phone": phone_value,
                "phone_valid": phone_valid,
                "company": company,
                **fields,
            },
        )
        if created:
            return _checked(person)
    else:
        person = Person.objects.create(
            email="", phone=phone_value, phone_valid=phone_valid, company=company, **fields
        )
        return _checked(person)
    filled, differing = _merge_into(person, {**fields, "phone": phone_value})
    if "phone" in filled:
        person.phone_valid = phone_valid
        filled["phone_valid"] = phone_valid
    if company is not None:
        if person.company_id is None:
            person.company = company
            filled["company"] = str(company.uuid)
        elif person.company_id == company.id:
            person.company = company  # the same row: spares the caller a query to load it
        else:
            differing["company"] = {"current": str(person.company), "submitted": str(company)}
    if filled:
        person.save(update_fields=[*filled, "updated_at"])
    return MatchResult(person, False, filled, differing)
