"""Phone numbers to E.164 with the phonenumbers library."""

from __future__ import annotations

import phonenumbers


def phone_normalize(raw: str, *, region: str = "DE") -> tuple[str, bool]:
    """Return (value, valid): E.164 when the number parses as valid, else the trimmed input.

    Invalid numbers are kept as typed and flagged, never dropped.
    """
    raw = " ".join(raw.split())
    if not raw:
        return "", True
    candidate = raw.replace("(0)", "")
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    try:
        number = phonenumbers.parse(candidate, region or None)
    except phonenumbers.NumberParseException:
        return raw, False
    if not phonenumbers.is_valid_number(number):
        return raw, False
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True
