"""Helpers for consent tests: published texts and granted consents."""

from __future__ import annotations

from leadwerk.consent.choices import ConsentSource, ConsentState, LegalBasis
from leadwerk.consent.services import consent_record, consent_text_publish


def publish_text(*, purpose="newsletter", channel="email", language="de", actor=None, text=None):
    return consent_text_publish(
        purpose=purpose,
        channel=channel,
        language=language,
        text=text or f"Ja, ich möchte {purpose} per {channel} erhalten. Widerruf jederzeit.",
        actor=actor,
    )


def grant(person, *, purpose="newsletter", channel="email", actor=None):
    text = publish_text(purpose=purpose, channel=channel, actor=actor)
    return consent_record(
        person=person,
        purpose=purpose,
        channel=channel,
        state=ConsentState.GRANTED,
        legal_basis=LegalBasis.CONSENT,
        source=ConsentSource.CALL,
        text=text,
        actor=actor,
        evidence="Telefonat",
    )
