"""Normalisers for matching keys: e-mail, web domain and company name.

Each function is idempotent: normalising a normalised value changes nothing.
"""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

# Longest first, so "GmbH & Co. KG" wins over "KG".
LEGAL_FORMS = [
    "GmbH & Co. KGaA",
    "GmbH & Co. KG",
    "GmbH & Co KG",
    "UG (haftungsbeschränkt) & Co. KG",
    "UG (haftungsbeschränkt)",
    "AG & Co. KG",
    "SE & Co. KG",
    "gGmbH",
    "GmbH",
    "mbH",
    "KGaA",
    "AG",
    "SE",
    "KG",
    "OHG",
    "oHG",
    "GbR",
    "PartG mbB",
    "PartG",
    "UG",
    "e.K.",
    "e.Kfm.",
    "e.Kfr.",
    "e.V.",
    "eG",
    "Ltd.",
    "Ltd",
    "Limited",
    "Inc.",
    "Inc",
    "LLC",
    "Corp.",
    "S.A.",
    "SA",
    "S.à r.l.",
    "SARL",
    "B.V.",
    "BV",
    "N.V.",
    "plc",
    "S.p.A.",
    "S.r.l.",
    "sp. z o.o.",
    "Ges.m.b.H.",
]
_LEGAL_FORM_RE = re.compile(
    r"(?:^|[\s,])("
    + "|".join(re.escape(f) for f in sorted(LEGAL_FORMS, key=len, reverse=True))
    + r")\s*$",
    re.IGNORECASE,
)
_CANONICAL_FORM = {f.casefold(): f for f in LEGAL_FORMS}
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe"})


class InvalidEmail(ValueError):
    """An e-mail address that is not syntactically valid."""


def email_clean(value: str) -> str:
    """Return the address with the domain lower-cased and IDNA-normalised; raise InvalidEmail."""
    value = value.strip()
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc


def email_key(value: str) -> str:
    """The matching key of an e-mail address: trimmed and case-folded."""
    return value.strip().casefold()


def domain_from_website(value: str) -> str:
    """'https://www.Example.de/kontakt' -> 'example.de'; '' when there is no host."""
    value = value.strip().lower()
    if not value:
        return ""
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    value = value.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    if value.startswith("www."):
        value = value[4:]
    if "." not in value or not re.fullmatch(r"[a-z0-9.\-\u00c0-\uffff]+", value):
        return ""
    return value


def company_name_split(value: str) -> tuple[str, str]:
    """Split a trailing legal form off a company name: 'Müller GmbH' -> ('Müller', 'GmbH')."""
    name = " ".join(value.split()).strip(" ,")
    match = _LEGAL_FORM_RE.search(name)
    if not match or match.start(1) == 0:
        return name, ""
    form = _CANONICAL_FORM.get(match.group(1).casefold(), match.group(1))
    return name[: match.start(1)].rstrip(" ,"), form


def transliterate(value: str) -> str:
    """Case-fold, map German umlauts to their two-letter forms and strip other accents."""
    value = value.casefold().translate(_TRANSLIT)
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def company_name_key(value: str) -> str:
    """Matching key for a company name: no legal form, transliterated, only letters and digits."""
    name, _ = company_name_split(value)
    name = transliterate(name).replace("&", " und ")
    return " ".join(re.sub(r"[^\w]+", " ", name).split())
