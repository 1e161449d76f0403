"""Recognise list columns by their (German or English) headers and map rows to the intake
contract's fields."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from leadwerk.contacts.normalization import transliterate

# target -> (label, header spellings compared transliterated, without spaces, dashes, dots)
TARGETS: dict[str, tuple[object, list[str]]] = {
    "salutation": (_("Salutation"), ["anrede", "salutation", "geschlecht", "gender"]),
    "title": (_("Title"), ["titel", "title", "akademischer titel", "akad titel"]),
    "first_name": (
        _("First name"),
        ["vorname", "first name", "firstname", "given name", "forename", "vornamen"],
    ),
    "last_name": (
        _("Last name"),
        ["nachname", "last name", "lastname", "surname", "familienname", "family name"],
    ),
    "full_name": (
        _("Full name"),
        ["name", "full name", "vollständiger name", "ansprechpartner", "kontakt", "contact"],
    ),
    "email": (
        _("E-mail"),
        ["e-mail", "email", "mail", "e-mail-adresse", "email address", "e-mail adresse"],
    ),
    "phone": (
        _("Phone"),
        [
            "telefon",
            "tel",
            "phone",
            "telefonnummer",
            "phone number",
            "mobil",
            "mobile",
            "handy",
            "mobiltelefon",
            "telefon geschäftlich",
            "business phone",
        ],
    ),
    "job_title": (
        _("Job title"),
        ["position", "funktion", "job title", "jobtitle", "berufsbezeichnung", "rolle", "role"],
    ),
    "language": (_("Language"), ["sprache", "language", "korrespondenzsprache"]),
    "company.name": (
        _("Company"),
        [
            "firma",
            "unternehmen",
            "company",
            "firmenname",
            "company name",
            "organisation",
            "organization",
            "unternehmensname",
            "account",
            "account name",
        ],
    ),
    "company.legal_form": (_("Legal form"), ["rechtsform", "legal form"]),
    "company.website": (
        _("Website"),
        ["website", "webseite", "homepage", "url", "internet", "web", "internetseite"],
    ),
    "company.industry": (_("Industry"), ["branche", "industry", "sector", "sektor"]),
    "company.employees": (
        _("Employees"),
        ["mitarbeiter", "mitarbeiterzahl", "employees", "anzahl mitarbeiter", "company size"],
    ),
    "company.country": (_("Country"), ["land", "country", "staat", "land region"]),
    "company.postal_code": (
        _("Postal code"),
        ["plz", "postleitzahl", "postal code", "zip", "zip code", "postcode"],
    ),
    "company.city": (_("City"), ["ort", "stadt", "city", "town", "wohnort"]),
    "company.federal_state": (_("Federal state"), ["bundesland", "state", "federal state"]),
    "company.vat_id": (
        _("VAT ID"),
        ["ust-idnr", "ustid", "ust-id", "vat", "vat id", "umsatzsteuer-id", "ust id nr", "ustidnr"],
    ),
    "product_interest": (
        _("Product interest"),
        ["interesse", "produktinteresse", "product interest", "produkt", "interest"],
    ),
    "message": (
        _("Message"),
        ["nachricht", "bemerkung", "kommentar", "message", "notes", "notiz", "notizen", "comment"],
    ),
    "external_id": (
        _("External ID"),
        ["id", "externe id", "external id", "lead id", "kundennummer"],
    ),
}
# For older callers: target -> header spellings.
HEADERS: dict[str, list[str]] = {target: spellings for target, (_l, spellings) in TARGETS.items()}


def _key(header: str) -> str:
    return re.sub(r"[\s\-_./()]+", "", transliterate(header.strip()))


_LOOKUP = {_key(h): target for target, spellings in HEADERS.items() for h in spellings}


def target_choices() -> list[tuple[str, object]]:
    return [(target, label) for target, (label, _s) in TARGETS.items()]


def detect_columns(header: list[str]) -> dict[int, str]:
    """Column index -> target field, for the headers we recognise (first match wins).

    'Name' next to a 'Vorname' column is the last name; alone it is the full name.
    """
    mapping: dict[int, str] = {}
    for index, name in enumerate(header):
        target = _LOOKUP.get(_key(name or ""))
        if target and target not in mapping.values():
            mapping[index] = target
    targets = set(mapping.values())
    if "full_name" in targets and "first_name" in targets and "last_name" not in targets:
        for index, target in mapping.items():
            if target == "full_name":
                mapping[index] = "last_name"
    return mapping


def row_to_payload(
    header: list[str], row: list[str], mapping: dict[int, str], *, channel: str, campaign: str
) -> dict:
    """A raw intake payload from one row (values trimmed, empty ones left out)."""
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
