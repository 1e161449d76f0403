"""Signed tokens for public web forms: they replace session CSRF, so a form embedded on a
company website works, while a forged or replayed-old submission is refused."""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing

_SALT = "leadwerk.webform"


def form_token_issue(*, form_uuid) -> str:
    """A token for one rendering of the form: which form, and when it was rendered."""
    return signing.dumps({"f": str(form_uuid), "t": round(time.time(), 3)}, salt=_SALT)


class BadFormToken(Exception):  # noqa: N818
    """The token is forged, for another form, expired or used implausibly fast.

    ``reason`` is one of ``invalid``, ``other_form``, ``expired``, ``too_fast``.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def form_token_check(token: str, *, form_uuid) -> None:
    """Raise :class:`BadFormToken` unless ``token`` was issued for this form, is younger
    than LEADWERK_FORM_TOKEN_MAX_AGE and older than LEADWERK_FORM_MIN_FILL_SECONDS."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.LEADWERK_FORM_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise BadFormToken("expired") from None
    except signing.BadSignature:
        raise BadFormToken("invalid") from None
    if not isinstance(data, dict) or data.get("f") != str(form_uuid):
        raise BadFormToken("other_form")
    try:
        issued = float(data.get("t", 0))
    except (TypeError, ValueError):
        raise BadFormToken("invalid") from None
    if time.time() - issued < settings.LEADWERK_FORM_MIN_FILL_SECONDS:
        raise BadFormToken("too_fast")
