"""The product's matching schemes for people and companies: which features, which
comparisons, how much each outcome counts (hand-set m/u, documented below) and how records
are blocked. Features are computed from plain dicts so database rows and import rows go
through the same code.
"""

from __future__ import annotations

import re
from functools import lru_cache

from leadwerk.contacts.normalization import (
    company_name_key,
    domain_from_website,
    email_key,
    email_local_key,
    is_freemail,
    name_clean,
    title_split,
    transliterate,
)

from .engine import (
    BlockingRule,
    Company,
    Email,
    Exact,
    Features,
    Fuzzy,
    Level,
    PersonName,
    Phone,
    Scheme,
    cologne_phonetic,
)

PERSON_FEATURES = (
    "first",
    "last",
    "first_code",
    "last_code",
    "email",
    "email_local",
    "email_domain",
    "name_variants",
    "phone",
    "company_id",
    "company_key",
    "company_domain",
)
COMPANY_FEATURES = ("name_key", "name_code", "domain", "vat", "postal", "city", "legal_form")


_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=131072)
def _name_key(value: str) -> str:
    return " ".join(_NON_WORD.sub(" ", transliterate(value)).replace("_", " ").split())


@lru_cache(maxsize=131072)
def _clean_name(value: str) -> str:
    return _name_key(name_clean(title_split(value)[1]))


def person_features(row: dict) -> dict[str, str]:
    """Features of one person. ``row`` has first_name, last_name, email, phone (E.164 if
    valid), company_id, company_name, company_domain (all optional)."""
    first = _clean_name(row.get("first_name", "") or "")
    last = _clean_name(row.get("last_name", "") or "")
    email = email_key(row.get("email", "") or "")
    local, _, domain = email.rpartition("@")
    local_key = email_local_key(local) if email else ""
    f_compact, l_compact = first.replace(" ", ""), last.replace(" ", "")
    variants = set()
    if f_compact and l_compact:
        f0 = f_compact[0]
        variants = {
            f_compact + l_compact,
            l_compact + f_compact,
            f0 + l_compact,
            l_compact + f0,
            f_compact + l_compact[0],
            l_compact,
            f_compact,
        }
    phone = row.get("phone", "") or ""
    if phone and not phone.startswith("+"):
        phone = re.sub(r"\D", "", phone)
    company_domain = row.get("company_domain", "") or ""
    if not company_domain and domain and not is_freemail(domain):
        company_domain = domain
    first_token = first.split(" ")[0] if first else ""
    return {
        "first": first,
        "last": last,
        "first_code": cologne_phonetic(first_token),
        "last_code": cologne_phonetic(l_compact),
        "email": email,
        "email_local": local_key,
        "email_domain": domain,
        "name_variants": ("|" + "|".join(sorted(variants)) + "|") if variants else "",
        "phone": phone if len(re.sub(r"\D", "", phone)) >= 6 else "",
        "company_id": str(row.get("company_id") or ""),
        "company_key": company_name_key(row.get("company_name", "") or ""),
        "company_domain": company_domain,
    }


def company_features(row: dict) -> dict[str, str]:
    """Features of one company: name, website/domain, vat_id, postal_code, city, legal_form."""
    key = company_name_key(row.get("name", "") or "")
    tokens = key.split(" ")
    return {
        "name_key": key,
        "name_code": cologne_phonetic("".join(tokens[:2])) if key else "",
        "domain": row.get("domain", "") or domain_from_website(row.get("website", "") or ""),
        "vat": (row.get("vat_id", "") or "").upper(),
        "postal": (row.get("postal_code", "") or "").strip(),
        "city": _name_key(row.get("city", "") or ""),
        "legal_form": (row.get("legal_form", "") or "").casefold(),
    }


def _key(*names: str, min_len: int = 1):
    def key(f: Features, i: int) -> str:
        parts = [f[n][i] for n in names]
        if not all(parts) or any(len(p) < min_len for p in parts):
            return ""
        return ":".join(parts)

    return key


def _keys(*names: str, min_len: int = 1):
    def keys(f: Features) -> list[str]:
        columns = [f[n] for n in names]
        return [
            ":".join(parts) if all(len(p) >= min_len and p for p in parts) else ""
            for parts in zip(*columns, strict=True)
        ]

    return keys


def _rule(name: str, *names: str, min_len: int = 1, stored: bool = True) -> BlockingRule:
    return BlockingRule(name, _key(*names, min_len=min_len), _keys(*names, min_len=min_len), stored)


def _company_of(f: Features, i: int) -> str:
    return f["company_id"][i] or f["company_domain"][i] or f["company_key"][i]


def _companies(f: Features) -> list[str]:
    return [
        a or b or c
        for a, b, c in zip(f["company_id"], f["company_domain"], f["company_key"], strict=True)
    ]


def _with_company(code: str):
    def key(f: Features, i: int) -> str:
        company = _company_of(f, i)
        return f"{f[code][i]}:{company}" if company and f[code][i] else ""

    def keys(f: Features) -> list[str]:
        return [
            f"{c}:{company}" if company and c else ""
            for c, company in zip(f[code], _companies(f), strict=True)
        ]

    return key, keys


# Weights, as log2(m/u) (see engine.Level): an identical e-mail address is near proof
# (≈ +19), an identical name is strong (≈ +9.6), a shared phone number is good evidence
# (≈ +9, less than a name because colleagues share a switchboard), the same company
# supports (+6), a different company or e-mail speaks against. The prior (1 in 1,000
# blocked pairs) costs ≈ −10, so two independent strong signals are needed for a merge.
PERSON_SCHEME = Scheme(
    comparisons=[
        PersonName(
            "name",
            (
                Level("same first and last name", 0.80, 0.001),
                Level("same last name, first name abbreviated", 0.05, 0.0002),
                Level("similar first and last name", 0.10, 0.0005),
                Level("first and last name swapped", 0.01, 0.00001),
                Level("similar last name, other first name", 0.03, 0.01),
                Level("different name", 0.01, 0.9885),
            ),
        ),
        Email(
            "email",
            (
                Level("same e-mail address", 0.60, 0.000001),
                Level("same e-mail address written differently", 0.05, 0.00001),
                Level("e-mail address fits the name at the same domain", 0.10, 0.002),
                Level("same e-mail name at another domain", 0.02, 0.002),
                Level("different e-mail address", 0.20, 0.997489),
            ),
        ),
        Phone(
            "phone",
            (
                Level("same phone number", 0.50, 0.001),
                Level("phone numbers end alike", 0.05, 0.001),
                Level("different phone number", 0.45, 0.998),
            ),
        ),
        Company(
            "company",
            (
                Level("same company", 0.75, 0.01),
                Level("same company name", 0.10, 0.005),
                Level("similar company name", 0.05, 0.01),
                Level("different company", 0.10, 0.975),
            ),
        ),
    ],
    blocking=[
        _rule("e", "email", stored=False),  # exact e-mail matches are found by the e-mail key
        _rule("p", "phone", min_len=8),
        # A name alone blocks the full check; it is not stored for the check of one new
        # record: in a large database a name is shared by dozens of people, and a pair with
        # only the name in common stays below the review threshold anyway.
        _rule("n", "last_code", "first_code", stored=False),
        BlockingRule("c", *_with_company("last_code")),
        BlockingRule("f", *_with_company("first_code")),
        _rule("l", "email_local", min_len=6),
    ],
    prior=1e-3,
)

COMPANY_SCHEME = Scheme(
    comparisons=[
        Fuzzy(
            "name",
            (
                Level("same name", 0.85, 0.001),
                Level("very similar name", 0.08, 0.003),
                Level("similar name", 0.04, 0.01),
                Level("different name", 0.03, 0.986),
            ),
            field="name_key",
            thresholds=(0.93, 0.86),
        ),
        Exact(
            "domain",
            (Level("same web domain", 0.70, 0.0001), Level("different web domain", 0.30, 0.9999)),
            field="domain",
        ),
        Exact(
            "vat",
            (Level("same VAT ID", 0.95, 0.000001), Level("different VAT ID", 0.05, 0.999999)),
            field="vat",
        ),
        Exact(
            "postal_code",
            (Level("same postal code", 0.80, 0.01), Level("different postal code", 0.20, 0.99)),
            field="postal",
        ),
        Exact(
            "city",
            (Level("same city", 0.85, 0.02), Level("different city", 0.15, 0.98)),
            field="city",
        ),
        Exact(
            "legal_form",
            (Level("same legal form", 0.80, 0.30), Level("different legal form", 0.20, 0.70)),
            field="legal_form",
        ),
    ],
    blocking=[
        _rule("d", "domain"),
        _rule("v", "vat", min_len=6),
        _rule("k", "name_key"),
        _rule("n", "name_code", "postal"),
        _rule("c", "name_code", "city"),
    ],
    prior=1e-3,
)
