"""Phone numbers to E.164 with the phonenumbers library."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_TRUNK_IN_BRACKETS = re.compile(r"\(\s*0\s*\)")
_EXTENSION = re.compile(r"(?i)\b(durchwahl|dw|ext|extension|app|nst)\.?\s*[:\-]?\s*")


@lru_cache(maxsize=65536)
def phone_normalize(raw: str, *, region: str = "DE") -> tuple[str, bool]:
    """Return (value, valid): E.164 when the number parses as valid, else the trimmed input.

    Understands the usual German ways of writing a number ('0049 (0)89/123-45',
    '+49 (0) 89 12345', '089 / 123 45-0', '(089) 12345'), a number that a spreadsheet turned
    into a formula (="089…") and extensions ('… Durchwahl 12', '… ext. 12', dropped from the
    E.164 form). ``region`` (ISO 3166 alpha-2) is used for numbers without a country code;
    give the company's country. Invalid numbers are kept as typed and flagged, never dropped.
    """
    raw = " ".join(raw.split())
    if raw.startswith('="') and raw.endswith('"'):
        raw = raw[2:-1].strip()
    if not raw:
        return "", True
    candidate = _TRUNK_IN_BRACKETS.sub(" ", raw)
    candidate = _EXTENSION.sub(" ext. ", candidate)
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    elif candidate.startswith("+00"):
        candidate = "+" + candidate[3:]
    try:
        number = phonenumbers.parse(candidate, (region or "DE").upper())
    except phonenumbers.NumberParseException:
        return raw, False
    if not phonenumbers.is_valid_number(number):
        return raw, False
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True
