"""Normalisers for people and companies: e-mail, web domain, company name and legal form,
personal names and titles, postal code and federal state, VAT ID.

Every normaliser is idempotent: normalising a normalised value changes nothing (property
tests in contacts/tests/test_normalization_properties.py). Normalisers never drop a value
they cannot make sense of: they return it as typed and say that it is invalid, so the caller
can keep it visible and flag it.
"""

from __future__ import annotations

import bisect
import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from stdnum.eu import vat as eu_vat

# --- company names and legal forms ------------------------------------------------------

# Canonical spellings. Matching ignores case, spaces and dots, so "GmbH & Co KG",
# "GmbH&Co.KG" and "gmbh & co. kg" all find "GmbH & Co. KG".
LEGAL_FORMS = [
    "GmbH & Co. KGaA",
    "GmbH & Co. KG",
    "GmbH & Co. OHG",
    "UG (haftungsbeschränkt) & Co. KG",
    "UG (haftungsbeschränkt)",
    "AG & Co. KGaA",
    "AG & Co. KG",
    "SE & Co. KGaA",
    "SE & Co. KG",
    "Stiftung & Co. KG",
    "Ltd. & Co. KG",
    "gGmbH",
    "GmbH",
    "mbH",
    "KGaA",
    "AG",
    "SE",
    "KG",
    "OHG",
    "GbR",
    "PartG mbB",
    "PartG",
    "UG",
    "e.K.",
    "e.Kfm.",
    "e.Kfr.",
    "e.V.",
    "eG",
    "VVaG",
    "Ges.m.b.H.",
    "Ltd.",
    "Limited",
    "Inc.",
    "LLC",
    "LLP",
    "Corp.",
    "S.A.",
    "S.à r.l.",
    "SARL",
    "SAS",
    "B.V.",
    "N.V.",
    "plc",
    "S.p.A.",
    "S.r.l.",
    "sp. z o.o.",
    "s.r.o.",
    "a.s.",
    "ApS",
    "A/S",
    "AB",
    "Oy",
]
_MAX_FORM_TOKENS = 6


def _form_key(value: str) -> str:
    return re.sub(r"[\s.,]+", "", value).casefold()


_FORM_BY_KEY = {_form_key(f): f for f in LEGAL_FORMS}
# Common spellings that differ from the canonical form by more than spaces, dots and case.
_ALIASES = {
    "Gesellschaft mit beschränkter Haftung": "GmbH",
    "Aktiengesellschaft": "AG",
    "Kommanditgesellschaft": "KG",
    "GmbH und Co. KG": "GmbH & Co. KG",
    "GmbH u. Co. KG": "GmbH & Co. KG",
    "GmbH + Co. KG": "GmbH & Co. KG",
    "UG haftungsbeschränkt": "UG (haftungsbeschränkt)",
    "UG (haftungsbeschraenkt)": "UG (haftungsbeschränkt)",
    "e.Kfm": "e.Kfm.",
    "eingetragener Kaufmann": "e.K.",
    "eingetragene Kauffrau": "e.K.",
    "eingetragener Verein": "e.V.",
    "Ltd": "Ltd.",
    "Inc": "Inc.",
    "Corp": "Corp.",
    "SA": "S.A.",
    "BV": "B.V.",
    "NV": "N.V.",
    "SpA": "S.p.A.",
    "Srl": "S.r.l.",
    "Sarl": "S.à r.l.",
}
_FORM_BY_KEY.update({_form_key(alias): form for alias, form in _ALIASES.items()})
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe"})


@lru_cache(maxsize=65536)
def transliterate(value: str) -> str:
    """Case-fold, map German umlauts to their two-letter forms and strip other accents."""
    value = value.casefold().translate(_TRANSLIT)
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _strip_one_form(name: str) -> tuple[str, str]:
    tokens = name.split(" ")
    for size in range(min(_MAX_FORM_TOKENS, len(tokens) - 1), 0, -1):
        form = _FORM_BY_KEY.get(_form_key("".join(tokens[-size:])))
        if form is not None:
            return " ".join(tokens[:-size]).rstrip(" ,-"), form
    # "MüllerGmbH", written without a space before the form
    match = re.fullmatch(r"(.*[a-zäöüß])(GmbH)", tokens[-1]) if tokens else None
    if match:
        return " ".join([*tokens[:-1], match.group(1)]), "GmbH"
    return name, ""


@lru_cache(maxsize=65536)
def company_name_split(value: str) -> tuple[str, str]:
    """Split trailing legal forms off a company name.

    'Müller GmbH' -> ('Müller', 'GmbH'); 'Weiß Bau GmbH & Co KG' -> ('Weiß Bau',
    'GmbH & Co. KG'); a name that is only a legal form stays a name: 'AG' -> ('AG', '').
    """
    name = " ".join(value.split()).strip(" ,")
    forms: list[str] = []
    while name:
        rest, form = _strip_one_form(name)
        if not form or not rest:
            break
        name, forms = rest, [form, *forms]
    return name, " ".join(forms)


@lru_cache(maxsize=65536)
def legal_form_clean(value: str) -> str:
    """The canonical spelling of a legal form ('gmbh & co kg' -> 'GmbH & Co. KG'), else the
    trimmed input."""
    value = " ".join(value.split())
    return _FORM_BY_KEY.get(_form_key(value), value)


def _key_tokens(value: str) -> list[str]:
    value = transliterate(value).replace("&", " und ").replace("+", " und ")
    return re.sub(r"[^\w]+", " ", value).replace("_", " ").split()


@cache
def _form_token_tuples() -> list[tuple[str, ...]]:
    forms = {tuple(_key_tokens(f)) for f in [*LEGAL_FORMS, *_ALIASES]}
    return sorted((f for f in forms if f), key=len, reverse=True)


@cache
def _form_last_tokens() -> frozenset[str]:
    return frozenset(f[-1] for f in _form_token_tuples())


def _company_key_once(value: str) -> str:
    tokens = _key_tokens(company_name_split(value)[0])
    last_tokens = _form_last_tokens()
    stripped = True
    while stripped and tokens and tokens[-1] in last_tokens:
        stripped = False
        for form in _form_token_tuples():
            if len(tokens) > len(form) and tuple(tokens[-len(form) :]) == form:
                tokens = tokens[: -len(form)]
                stripped = True
                break
    return " ".join(tokens)


@lru_cache(maxsize=65536)
def company_name_key(value: str) -> str:
    """Matching key for a company name: without legal forms, transliterated, only letters and
    digits: 'Müller & Söhne GmbH & Co. KG' -> 'mueller und soehne'."""
    key = _company_key_once(value)
    for _ in range(8):  # stripping only shortens the key: a fixed point comes quickly
        again = _company_key_once(key)
        if again == key:
            break
        key = again
    return key


# --- e-mail -----------------------------------------------------------------------------


class InvalidEmail(ValueError):
    """An e-mail address that is not syntactically valid."""


@cache
def _email_domain_ok(domain: str) -> str:
    """Validate (and IDNA-normalise) a domain once; lists repeat the same few domains."""
    return validate_email(f"x@{domain}", check_deliverability=False).domain


# An unquoted ASCII local part (RFC 5322 dot-atom): letters, digits and !#$%&'*+/=?^_`{|}~-
# in runs separated by single dots.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def email_clean(value: str) -> str:
    """Return the address with the domain lower-cased and IDNA-normalised; raise InvalidEmail.

    Syntax only: no DNS look-ups. The usual address (an ASCII dot-atom before the @) takes a
    fast path that validates the domain once per domain with email-validator and gives the
    same result as the full check; everything else goes through the full check.
    """
    value = value.strip().strip("<>").strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    local, at, domain = value.rpartition("@")
    if at and 0 < len(local) <= 64 and _DOT_ATOM.match(local) and domain.isascii():
        try:
            cleaned = f"{local}@{_email_domain_ok(domain)}"
        except EmailNotValidError as exc:
            raise InvalidEmail(str(exc)) from exc
        if len(cleaned) <= 254:
            return cleaned
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc


def email_key(value: str) -> str:
    """The matching key of an e-mail address: trimmed and case-folded."""
    return value.strip().casefold()


_FREEMAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "web.de",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "t-online.de",
        "outlook.com",
        "hotmail.com",
        "hotmail.de",
        "live.de",
        "yahoo.com",
        "yahoo.de",
        "icloud.com",
        "me.com",
        "aol.com",
        "freenet.de",
        "posteo.de",
        "mailbox.org",
        "arcor.de",
        "online.de",
        "protonmail.com",
        "proton.me",
    }
)


def is_freemail(domain: str) -> bool:
    """Whether the domain is a public mail provider (its users are not one company)."""
    return domain.casefold() in _FREEMAIL


def email_local_key(value: str) -> str:
    """The local part reduced to what tells people apart: case-folded, '+tag' removed,
    umlauts transliterated, dots, dashes and underscores removed.

    'Juergen.Mueller+messe@x.de' and 'jürgen_müller@x.de' both give 'juergenmueller'.
    """
    local = value.partition("@")[0]
    local = local.split("+", 1)[0]
    return re.sub(r"[._\-']+", "", transliterate(local))


# --- web domain -------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def domain_from_website(value: str) -> str:
    """'https://www.Example.de/kontakt' -> 'example.de'; '' when there is no host."""
    value = value.strip().lower()
    if not value:
        return ""
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    value = value.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    while value.startswith("www."):
        value = value[4:]
    if "." not in value or not re.fullmatch(r"[a-z0-9.\-\u00c0-\uffff]+", value):
        return ""
    return value


# --- personal names ---------------------------------------------------------------------

# Name particles stay lower-case inside a name ("Ursula von der Leyen", "Vincent van Gogh").
NAME_PARTICLES = frozenset(
    {
        "von",
        "vom",
        "zu",
        "zum",
        "zur",
        "van",
        "der",
        "den",
        "de",
        "des",
        "di",
        "da",
        "del",
        "della",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "ten",
        "ter",
        "und",
        "y",
        "e",
    }
)

# Academic and professional titles, as commonly written (longest first when matching).
TITLES = [
    "Prof. Dr. Dr.",
    "Prof. Dr.-Ing.",
    "Prof. Dr. med.",
    "Prof. Dr.",
    "Prof.",
    "Dr. Dr.",
    "Dr.-Ing.",
    "Dr. med. dent.",
    "Dr. med.",
    "Dr. rer. nat.",
    "Dr. jur.",
    "Dr. phil.",
    "Dr.",
    "Dipl.-Ing.",
    "Dipl.-Kfm.",
    "Dipl.-Kffr.",
    "Dipl.-Inf.",
    "Dipl.-Betriebsw.",
    "Mag.",
    "Ing.",
    "PD Dr.",
]
_TITLE_BY_KEY = {re.sub(r"[\s.]+", "", t).casefold(): t for t in TITLES}
_TITLE_TOKEN = re.compile(
    r"^(prof|dr|dipl|mag|ing|pd|med|dent|rer|nat|jur|phil)\b[\w.\-]*$", re.IGNORECASE
)


def _cap_word(word: str) -> str:
    """Capitalise one word of a name written all upper or all lower case."""
    lower = word.lower()
    if lower in NAME_PARTICLES:
        return lower
    parts = re.split(r"(['’\-])", lower)
    out = []
    for part in parts:
        if part in ("'", "’", "-") or not part:
            out.append(part)
        elif part.startswith("mc") and len(part) > 2:
            out.append("Mc" + part[2:].capitalize())
        else:
            out.append(part[:1].upper() + part[1:])
    return "".join(out)


def _name_case_once(value: str) -> str:
    value = " ".join(value.split())
    letters = [c for c in value if c.isalpha()]
    if len(letters) < 2:
        return value
    all_upper = value == value.upper() and value != value.lower()
    all_lower = value == value.lower() and value != value.upper()
    if not (all_upper or all_lower):
        return value  # mixed case was typed on purpose: McDonald, van Gogh, DiCaprio
    words = value.split(" ")
    cased = [_cap_word(w) for w in words]
    # A name made only of particles ("VAN") is still a name: capitalise it.
    if all(w.lower() in NAME_PARTICLES for w in words):
        cased = [w[:1].upper() + w[1:].lower() for w in words]
    return " ".join(cased)


@lru_cache(maxsize=65536)
def name_clean(value: str) -> str:
    """Trim and collapse spaces; a name typed all in capitals or all in lower case gets
    sensible capitals ('MÜLLER-LÜDENSCHEIDT' -> 'Müller-Lüdenscheidt', 'von der leyen' ->
    'von der Leyen', 'MCDONALD' -> 'McDonald', "O'BRIEN" -> "O'Brien"). Names in mixed case
    are kept as typed.
    """
    once = _name_case_once(value)
    # Guarantee idempotence even for exotic Unicode case mappings.
    return once if _name_case_once(once) == once else " ".join(value.split())


@lru_cache(maxsize=65536)
def title_split(name: str) -> tuple[str, str]:
    """Split leading academic titles off a name: 'Dr. Jürgen' -> ('Dr.', 'Jürgen')."""
    tokens = " ".join(name.split()).split(" ")
    taken = 0
    while taken < len(tokens) - 1 and _TITLE_TOKEN.match(tokens[taken]):
        taken += 1
    if not taken:
        return "", " ".join(tokens)
    return title_clean(" ".join(tokens[:taken])), " ".join(tokens[taken:])


@lru_cache(maxsize=65536)
def title_clean(value: str) -> str:
    """The usual spelling of a title ('prof dr' -> 'Prof. Dr.'), else the trimmed input."""
    value = " ".join(value.split())
    return _TITLE_BY_KEY.get(re.sub(r"[\s.]+", "", value).casefold(), value)


# --- postal code and federal state -------------------------------------------------------

_POSTAL_PATTERNS = {
    "DE": r"\d{5}",
    "AT": r"\d{4}",
    "CH": r"\d{4}",
    "LI": r"\d{4}",
    "NL": r"\d{4} ?[A-Z]{2}",
    "BE": r"\d{4}",
    "LU": r"\d{4}",
    "DK": r"\d{4}",
    "FR": r"\d{5}",
    "IT": r"\d{5}",
    "ES": r"\d{5}",
    "PL": r"\d{2}-\d{3}",
    "CZ": r"\d{3} ?\d{2}",
}


@dataclass(frozen=True)
class PostalCode:
    value: str
    valid: bool
    note: str = ""


@lru_cache(maxsize=65536)
def postal_code_clean(value: str, country: str = "") -> PostalCode:
    """Trim a postal code and check it against the country's format.

    A German postal code with four digits lost its leading zero in a spreadsheet: it gets
    it back (and a note says so). Invalid codes are returned as typed with valid=False.
    """
    value = " ".join(value.split()).upper()
    # Country prefixes ("D-80331"); all of them, so that cleaning twice changes nothing.
    while value.startswith(("D-", "A-", "CH-")) and country in ("DE", "AT", "CH", ""):
        value = value.split("-", 1)[1].strip()
    if not value:
        return PostalCode("", True)
    pattern = _POSTAL_PATTERNS.get(country)
    if pattern is None:
        return PostalCode(value, True)
    if country == "DE" and re.fullmatch(r"\d{4}", value):
        return PostalCode("0" + value, True, "leading zero restored")
    if re.fullmatch(pattern, value):
        return PostalCode(value, True)
    if country == "DE":
        return PostalCode(value, False, "a German postal code has five digits")
    return PostalCode(value, False, f"not a postal code of the format used in {country}")


@cache
def _plz_ranges() -> tuple[list[int], list[tuple[int, int, str]]]:
    path = Path(__file__).with_name("data") / "plz_bundesland.csv"
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in csv.reader(fh):
            if not line or line[0].startswith("#"):
                continue
            rows.append((int(line[0]), int(line[1]), line[2].strip()))
    rows.sort()
    return [r[0] for r in rows], rows


@lru_cache(maxsize=65536)
def federal_state_for(postal_code: str) -> str:
    """The German federal state (e.g. 'BY') of a five-digit postal code, '' if unknown."""
    if not re.fullmatch(r"\d{5}", postal_code or ""):
        return ""
    code = int(postal_code)
    starts, rows = _plz_ranges()
    index = bisect.bisect_right(starts, code) - 1
    if index >= 0 and rows[index][0] <= code <= rows[index][1]:
        return rows[index][2]
    return ""


# --- VAT ID -----------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def vat_id_clean(value: str) -> tuple[str, bool]:
    """('DE 136 695 976' -> 'DE136695976', True). EU VAT IDs are checked with their check
    digits (python-stdnum); other values are compacted and accepted as typed."""
    value = value.strip()
    if not value:
        return "", True
    compact = re.sub(r"[\s.\-/:]+", "", value).upper()
    if compact[:2].lower() in eu_vat.MEMBER_STATES or compact[:2] == "EL":
        return compact, bool(eu_vat.is_valid(compact))
    return compact, True


# --- spreadsheet quirks -----------------------------------------------------------------


_CELL_ODD = re.compile("[\u00a0\u200b\ufeff]")


def cell_clean(value: str) -> str:
    """Undo what spreadsheets do to text cells: ="0815" formulas, a leading apostrophe,
    non-breaking and zero-width spaces, surrounding whitespace."""
    if (
        value
        and value[0] not in "='"
        and not value[0].isspace()
        and not value[-1].isspace()
        and not _CELL_ODD.search(value)
    ):
        return value  # nothing to undo (the usual case)
    while True:  # every change shortens the value, so this ends
        before = value
        value = value.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "").strip()
        match = re.fullmatch(r'="(.*)"', value, re.DOTALL)
        if match:
            value = match.group(1).strip()
        if value.startswith("'") and len(value) > 1 and value.count("'") == 1:
            value = value[1:].strip()
        if value == before:
            break
    return value
