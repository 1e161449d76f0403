"""Recognise list columns by their (German or English) headers and map rows to the intake
contract."""

from __future__ import annotations

import re

from leadwerk.contacts.normalization import transliterate

# target -> header spellings (compared transliterated, without spaces, dashes, dots)
HEADERS: dict[str, list[str]] = {
    "salutation": ["anrede", "salutation"],
    "title": ["titel", "title", "akademischer titel"],
    "first_name": ["vorname", "first name", "firstname", "given name"],
    "last_name": ["nachname", "name", "last name", "lastname", "surname", "familienname"],
    "email": ["e-mail", "email", "mail", "e-mail-adresse", "email address"],
    "phone": ["telefon", "tel", "phone", "telefonnummer", "phone number", "mobil", "mobile"],
    "job_title": ["position", "funktion", "job title", "jobtitle", "berufsbezeichnung"],
    "language": ["sprache", "language"],
    "company.name": [
        "firma",
        "unternehmen",
        "company",
        "firmenname",
        "company name",
        "organisation",
    ],
    "company.website": ["website", "webseite", "homepage", "url", "internet"],
    "company.industry": ["branche", "industry"],
    "company.employees": ["mitarbeiter", "mitarbeiterzahl", "employees", "anzahl mitarbeiter"],
    "company.country": ["land", "country"],
    "company.postal_code": ["plz", "postleitzahl", "postal code", "zip", "zip code", "postcode"],
    "company.city": ["ort", "stadt", "city", "town"],
    "company.vat_id": ["ust-idnr", "ustid", "ust-id", "vat", "vat id", "umsatzsteuer-id"],
    "product_interest": ["interesse", "produktinteresse", "product interest", "produkt"],
    "message": ["nachricht", "bemerkung", "kommentar", "message", "notes", "notiz"],
    "external_id": ["id", "externe id", "external id", "lead id"],
}


def _key(header: str) -> str:
    return re.sub(r"[\s\-_.]+", "", transliterate(header.strip()))


_LOOKUP = {_key(h): target for target, spellings in HEADERS.items() for h in spellings}


def detect_columns(header: list[str]) -> dict[int, str]:
    """Column index -> target field, for the headers we recognise (first match wins)."""
    mapping: dict[int, str] = {}
    for index, name in enumerate(header):
        target = _LOOKUP.get(_key(name))
        if target and target not in mapping.values():
            mapping[index] = target
    return mapping


def row_to_payload(
    header: list[str], row: list[str], mapping: dict[int, str], *, channel: str, campaign: str
) -> dict:
    person: dict[str, str] = {}
    company: dict[str, str] = {}
    lead: dict[str, object] = {"channel": channel, "campaign": campaign}
    for index, target in mapping.items():
        value = row[index].strip() if index < len(row) else ""
        if not value:
            continue
        if target.startswith("company."):
            company[target.split(".", 1)[1]] = value
        elif target in ("product_interest", "message", "external_id"):
            lead[target] = value
        else:
            person[target] = value
    lead["person"] = person
    if company.get("name"):
        lead["company"] = company
    return lead
