"""Signed links in e-mails. They carry public ids only (never an e-mail address), so a link
cannot be redirected to another person by editing it: any change breaks the signature."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

_DOI = "leadwerk.consent.doi"
_UNSUBSCRIBE = "leadwerk.consent.unsubscribe"
_PREFERENCES = "leadwerk.consent.preferences"


class BadLink(Exception):  # noqa: N818
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


def _loads(token: str, *, salt: str, max_age: int | None) -> dict:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise BadLink("expired") from None
    except signing.BadSignature:
        raise BadLink("invalid") from None
    if not isinstance(data, dict):
        raise BadLink("invalid")
    return data


def doi_token(*, doi) -> str:
    return signing.dumps(
        {"d": str(doi.uuid), "p": str(doi.person.uuid), "u": doi.purpose, "c": doi.channel},
        salt=_DOI,
    )


def doi_token_read(token: str) -> dict:
    return _loads(token, salt=_DOI, max_age=settings.LEADWERK_DOI_MAX_AGE)


@dataclass(frozen=True)
class UnsubscribeLink:
    person_uuid: str
    purpose: str
    channel: str
    message_uuid: str


def unsubscribe_token(*, person, purpose: str, channel: str, message_uuid="") -> str:
    return signing.dumps(
        {"p": str(person.uuid), "u": purpose, "c": channel, "m": str(message_uuid)},
        salt=_UNSUBSCRIBE,
    )


def unsubscribe_token_read(token: str) -> UnsubscribeLink:
    # No expiry: RFC 8058 asks that an unsubscribe link keeps working.
    data = _loads(token, salt=_UNSUBSCRIBE, max_age=None)
    try:
        return UnsubscribeLink(data["p"], data["u"], data["c"], data.get("m", ""))
    except KeyError:
        raise BadLink("invalid") from None


def preferences_token(*, person) -> str:
    return signing.dumps({"p": str(person.uuid)}, salt=_PREFERENCES)


def preferences_token_read(token: str) -> str:
    data = _loads(token, salt=_PREFERENCES, max_age=settings.LEADWERK_PREFERENCES_MAX_AGE)
    if "p" not in data:
        raise BadLink("invalid")
    return data["p"]
