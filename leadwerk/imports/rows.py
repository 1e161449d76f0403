"""One list row -> validated, normalised values, with every problem named.

The rules are the intake contract's (leads/intake.py: the same normalisers, the same length
limits, the same "a person needs an e-mail address or a phone number and a last name"), with
one difference that lists need: a value that is invalid but not essential (a VAT ID with a
wrong check digit, a phone number that does not parse, an unknown country) does not reject
the row. It is kept as it was given, flagged, and reported as a warning, never dropped in
silence. A row is rejected only when it cannot make a lead.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from annotated_types import MaxLen
from django.conf import settings
from django.utils.translation import gettext as _

from leadwerk.contacts.choices import EmployeeBand, FederalState, Language
from leadwerk.contacts.countries import country_code
from leadwerk.contacts.normalization import (
    InvalidEmail,
    cell_clean,
    company_name_key,
    company_name_split,
    domain_from_website,
    email_clean,
    email_key,
    federal_state_for,
    legal_form_clean,
    name_clean,
    postal_code_clean,
    title_clean,
    title_split,
    transliterate,
    vat_id_clean,
)
from leadwerk.contacts.phone import phone_normalize
from leadwerk.leads.intake import _SALUTATIONS, CompanyIn, LeadIn, PersonIn


def _limits(schema) -> dict[str, int]:
    out = {}
    for name, info in schema.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, MaxLen):
                out[name] = meta.max_length
    return out


PERSON_LIMITS = _limits(PersonIn)
COMPANY_LIMITS = _limits(CompanyIn)
LEAD_LIMITS = _limits(LeadIn)
_STATE_NAMES = {transliterate(label): code for code, label in FederalState.choices if code}
_STATE_NAMES.update({code.lower(): code for code in FederalState.values if code})
_STATE_NAMES.update(
    {
        "bavaria": "BY",
        "lower saxony": "NI",
        "north rhine-westphalia": "NW",
        "nrw": "NW",
        "rhineland-palatinate": "RP",
        "saxony": "SN",
        "saxony-anhalt": "ST",
        "thuringia": "TH",
        "hesse": "HE",
        "mecklenburg-western pomerania": "MV",
    }
)


@dataclass
class Issue:
    field: str
    message: str
    value: str = ""
    severity: str = "warning"  # "warning" or "error"


@dataclass
class PreparedRow:
    index: int
    line: int
    cells: list[str]
    person: dict = field(default_factory=dict)
    company: dict | None = None
    lead: dict = field(default_factory=dict)
    flags: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # entity, field, value, why
    issues: list[Issue] = field(default_factory=list)
    error: str = ""
    fingerprint: str = ""
    person_key: str = ""

    def warn(self, field_name: str, message: str, value: str = "") -> None:
        self.issues.append(Issue(field_name, message, value))

    def flag(self, entity: str, field_name: str, value: str, reason: str) -> None:
        self.flags.append((entity, field_name, value, reason))
        self.warn(f"{entity}.{field_name}" if entity == "company" else field_name, reason, value)

    def fail(self, field_name: str, message: str, value: str = "") -> None:
        self.issues.append(Issue(field_name, message, value, "error"))
        if not self.error:
            self.error = f"{field_name}: {message}" if field_name else message


_LINE_BREAKS = re.compile("[\r\n\t]")


def _one_line(value: str) -> str:
    return " ".join(value.split()) if _LINE_BREAKS.search(value) else value


def _split_full_name(value: str) -> tuple[str, str, str]:
    """'Dr. Jürgen Müller' -> ('Dr.', 'Jürgen', 'Müller'); 'Müller, Jürgen' -> ('', 'Jürgen',
    'Müller'); particles stay with the last name ('Ursula von der Leyen')."""
    if "," in value:
        last, _, first = value.partition(",")
        title, first = title_split(first.strip())
        return title, first.strip(), last.strip()
    title, rest = title_split(value)
    words = rest.split(" ")
    if len(words) == 1:
        return title, "", words[0]
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in ("von", "van", "de", "der", "den", "zu", "vom"):
        cut -= 1
    return title, " ".join(words[:cut]), " ".join(words[cut:])


def _employees(value: str) -> tuple[int | None, str] | None:
    compact = value.replace("–", "-").replace(" ", "").replace(".", "")
    if compact.isdigit():
        count = int(compact)
        if count <= 10_000_000:
            return count, EmployeeBand.for_count(count).value
        return None
    if compact in EmployeeBand.values and compact:
        return None, compact
    return None


def prepare_row(
    index: int,
    line: int,
    cells: list[str],
    mapping: dict[int, str],
    *,
    header_width: int,
    channel: str,
    campaign: str = "",
) -> PreparedRow | None:
    """Validate and normalise one row; None for an empty row."""
    row = PreparedRow(index, line, cells)
    values: dict[str, str] = {}
    for col, target in mapping.items():
        if col < len(cells):
            value = cell_clean(cells[col])
            if value:
                values[target] = value
    if not any(c.strip() for c in cells):
        return None
    extra = [c for c in cells[header_width:] if c.strip()]
    if extra:
        row.fail(
            "",
            _(
                "the row has %(n)s cells but the header only %(m)s: a separator inside an "
                "unquoted value?"
            )
            % {"n": len(cells), "m": header_width},
        )
        return row
    if not values:
        row.fail("", _("none of the mapped columns has a value"))
        return row
    for name, value in list(values.items()):
        if name != "message":
            values[name] = _one_line(value)
        limits = (
            COMPANY_LIMITS
            if name.startswith("company.")
            else (LEAD_LIMITS if name in LEAD_LIMITS else PERSON_LIMITS)
        )
        limit = limits.get(name.split(".", 1)[-1])
        if limit and len(values[name]) > limit and name not in ("company.country",):
            row.fail(
                name,
                _("longer than %(limit)s characters") % {"limit": limit},
                values[name][:80],
            )
    if row.error:
        return row
    _company(row, values)
    _person(row, values)
    row.lead = {
        "product_interest": values.get("product_interest", ""),
        "message": values.get("message", ""),
        "external_id": values.get("external_id", ""),
    }
    if not row.error:
        canonical = json.dumps(
            [channel, campaign, row.person, row.company, row.lead],
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        row.fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    return row


def _company(row: PreparedRow, values: dict[str, str]) -> None:
    name = values.get("company.name", "")
    details = [k for k in values if k.startswith("company.") and k != "company.name"]
    if not name:
        if details:
            row.warn(
                "company.name",
                _("company details without a company name are not stored with a company"),
            )
        return
    base, split_form = company_name_split(name)
    legal_form = legal_form_clean(values.get("company.legal_form", "")) or split_form
    company: dict = {
        "name": base,
        "legal_form": legal_form[:40],
        "website": values.get("company.website", ""),
        "domain": "",
        "industry": values.get("company.industry", ""),
        "employees": None,
        "employee_band": "",
        "country": "",
        "postal_code": "",
        "city": values.get("company.city", ""),
        "federal_state": "",
        "vat_id": "",
    }
    raw_country = values.get("company.country", "")
    if raw_country:
        code = country_code(raw_country)
        if code is None:
            row.flag("company", "country", raw_country, _("unknown country"))
        else:
            company["country"] = code
    if company["website"]:
        company["domain"] = domain_from_website(company["website"])
        if not company["domain"]:
            row.flag("company", "website", company["website"], _("not a web address"))
    if values.get("company.employees"):
        parsed = _employees(values["company.employees"])
        if parsed is None:
            row.flag(
                "company",
                "employees",
                values["company.employees"],
                _("not a number or an employee band such as 50-249"),
            )
        else:
            company["employees"], company["employee_band"] = parsed
    # Rules that depend on the country use the default country when the row names none.
    rules_country = company["country"] or ("" if raw_country else settings.LEADWERK_DEFAULT_COUNTRY)
    if values.get("company.postal_code"):
        postal = postal_code_clean(values["company.postal_code"], rules_country)
        company["postal_code"] = postal.value[:12]
        if not postal.valid:
            row.flag("company", "postal_code", postal.value, postal.note)
        elif postal.note:
            row.warn("company.postal_code", postal.note, values["company.postal_code"])
    raw_state = values.get("company.federal_state", "")
    if raw_state:
        state = _STATE_NAMES.get(transliterate(raw_state))
        if state is None:
            row.flag("company", "federal_state", raw_state, _("not a German federal state"))
        else:
            company["federal_state"] = state
    elif rules_country == "DE" and company["postal_code"]:
        company["federal_state"] = federal_state_for(company["postal_code"])
    if values.get("company.vat_id"):
        vat, ok = vat_id_clean(values["company.vat_id"])
        company["vat_id"] = vat[:20]
        if not ok:
            row.flag("company", "vat_id", vat, _("not a valid EU VAT ID (check digits)"))
    company["name_key"] = company_name_key(base)
    row.company = company


def _person(row: PreparedRow, values: dict[str, str]) -> None:
    title = title_clean(values.get("title", ""))
    first, last = values.get("first_name", ""), values.get("last_name", "")
    if values.get("full_name") and not (first or last):
        name_title, first, last = _split_full_name(values["full_name"])
        title = title or name_title
    if first:
        found, first = title_split(first)
        title = title or found
    if last:
        found, last = title_split(last)
        title = title or found
    person: dict = {
        "salutation": "",
        "title": title[:40],
        "first_name": name_clean(first),
        "last_name": name_clean(last),
        "email": "",
        "email_normalized": "",
        "phone": "",
        "phone_valid": True,
        "job_title": values.get("job_title", ""),
        "language": "",
    }
    if values.get("salutation"):
        salutation = _SALUTATIONS.get(values["salutation"].casefold().rstrip("."))
        if salutation is None:
            row.flag("person", "salutation", values["salutation"], _("use Herr, Frau or divers"))
        else:
            person["salutation"] = salutation.value
    if values.get("language"):
        code = values["language"].replace("_", "-").split("-", 1)[0].lower()
        if code in Language.values and code:
            person["language"] = code
        else:
            row.flag("person", "language", values["language"], _("unsupported language"))
    email_problem = ""
    if values.get("email"):
        try:
            person["email"] = email_clean(values["email"])
            person["email_normalized"] = email_key(person["email"])
        except InvalidEmail as exc:
            email_problem = str(exc)
            person["email"] = values["email"][:254]
    if values.get("phone"):
        region = (row.company or {}).get("country") or settings.LEADWERK_DEFAULT_COUNTRY
        phone, ok = phone_normalize(values["phone"], region=region)
        person["phone"], person["phone_valid"] = phone[:40], ok
        if not ok or not re.search(r"\d", phone):
            person["phone_valid"] = False
    reachable = bool(person["email_normalized"]) or bool(
        person["phone"] and person["phone_valid"] and person["last_name"]
    )
    if not reachable:
        if email_problem:
            row.fail(
                "email",
                _("not a valid e-mail address: %(why)s") % {"why": email_problem},
                values.get("email", ""),
            )
        elif not values.get("email") and not values.get("phone"):
            row.fail("", _("a person needs an e-mail address or a phone number"))
        elif not person["last_name"]:
            row.fail("last_name", _("a person without e-mail needs a last name"))
        else:
            row.fail("phone", _("not a valid phone number"), values.get("phone", ""))
        return
    if email_problem:
        row.flag("person", "email", person["email"], email_problem)
    if person["phone"] and not person["phone_valid"]:
        row.flag("person", "phone", person["phone"], _("not a valid phone number"))
    row.person = person
    company_key = (row.company or {}).get("name_key", "")
    row.person_key = person["email_normalized"] or "n:" + "|".join(
        transliterate(x) for x in (person["last_name"], person["first_name"], company_key)
    )
