"""Demo consent data: the consent texts and a realistic share of persons who confirmed the
newsletter (double opt-in) or later withdrew, bulk-written for speed."""

from __future__ import annotations

import random
from datetime import timedelta

from .choices import ConsentSource, ConsentState, LegalBasis
from .models import ConsentRecord, ConsentStatus, ConsentText

TEXTS = {
    ("newsletter", "email", "de"): "Ja, ich möchte den Newsletter der Nordlicht Software GmbH "
    "per E-Mail erhalten (etwa monatlich). Ich kann meine Einwilligung jederzeit mit Wirkung "
    "für die Zukunft widerrufen, z. B. über den Abmeldelink in jeder E-Mail.",
    ("newsletter", "email", "en"): "Yes, I would like to receive the Nordlicht Software GmbH "
    "newsletter by e-mail (about monthly). I can withdraw my consent at any time, e.g. with "
    "the unsubscribe link in every e-mail.",
    ("product_marketing", "email", "de"): "Ja, Nordlicht Software darf mich per E-Mail über "
    "Produkte und Veranstaltungen informieren. Widerruf jederzeit möglich.",
    ("product_marketing", "phone", "de"): "Ja, Nordlicht Software darf mich telefonisch zu "
    "Produkten und Angeboten kontaktieren. Widerruf jederzeit möglich.",
    ("product_marketing", "email", "en"): "Yes, Nordlicht Software may inform me by e-mail "
    "about products and events. I can withdraw my consent at any time.",
    ("product_marketing", "phone", "en"): "Yes, Nordlicht Software may call me about products "
    "and offers. I can withdraw my consent at any time.",
    ("profiling", "web", "de"): "Ja, Nordlicht Software darf meine Besuche auf der Website "
    "auswerten, um mir passende Inhalte und Angebote zu zeigen. Widerruf jederzeit möglich.",
    ("profiling", "web", "en"): "Yes, Nordlicht Software may analyse my visits to the website "
    "to show me relevant content and offers. I can withdraw my consent at any time.",
}


def demo_consents(*, persons, seed: int = 2026) -> int:
    """Publish the texts (German and English); about a third of the persons confirmed the
    newsletter, some of them withdrew later, a few never clicked the confirmation link
    (pending); some agreed to calls on the phone. Returns the number of consent records
    written."""
    rng = random.Random(seed)
    texts = {
        key: ConsentText.objects.get_or_create(
            purpose=key[0], channel=key[1], language=key[2], version=1, defaults={"text": text}
        )[0]
        for key, text in TEXTS.items()
    }
    records, finals = [], []
    for person in persons:
        english = person.language == "en"
        if person.phone and rng.random() < 0.08:
            _phone_consent(rng, person, texts, records, finals, english=english)
        draw = rng.random()
        if not person.email or draw > 0.36:
            continue
        newsletter = texts[("newsletter", "email", "en" if english else "de")]
        asked = person.created_at + timedelta(minutes=rng.randint(1, 30))
        confirmed = asked + timedelta(minutes=rng.randint(2, 600))
        chain = [(ConsentState.PENDING, ConsentSource.FORM, asked)]
        if draw <= 0.33:
            chain.append((ConsentState.GRANTED, ConsentSource.DOUBLE_OPT_IN, confirmed))
        if draw <= 0.33 and rng.random() < 0.12:
            chain.append(
                (
                    ConsentState.WITHDRAWN,
                    ConsentSource.UNSUBSCRIBE,
                    confirmed + timedelta(days=rng.randint(10, 400)),
                )
            )
        for state, source, at in chain:
            records.append(
                ConsentRecord(
                    person=person,
                    purpose="newsletter",
                    channel="email",
                    state=state,
                    legal_basis=LegalBasis.CONSENT,
                    source=source,
                    recorded_at=at,
                    text=newsletter if state != ConsentState.WITHDRAWN else None,
                )
            )
        finals.append(len(records) - 1)
    ConsentRecord.objects.bulk_create(records, batch_size=2000)
    ConsentStatus.objects.bulk_create(
        [
            ConsentStatus(
                person=records[i].person,
                purpose=records[i].purpose,
                channel=records[i].channel,
                state=records[i].state,
                legal_basis=LegalBasis.CONSENT,
                record=records[i],
                updated_at=records[i].recorded_at,
            )
            for i in finals
        ],
        batch_size=2000,
    )
    return len(records)


def _phone_consent(rng, person, texts, records, finals, *, english: bool) -> None:
    """Agreed on the phone to calls about products (noted by telesales); some said no later."""
    text = texts[("product_marketing", "phone", "en" if english else "de")]
    at = person.created_at + timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 500))
    records.append(
        ConsentRecord(
            person=person,
            purpose="product_marketing",
            channel="phone",
            state=ConsentState.GRANTED,
            legal_basis=LegalBasis.CONSENT,
            source=ConsentSource.CALL,
            recorded_at=at,
            text=text,
            evidence="Telefonat mit dem Inside Sales",
        )
    )
    if rng.random() < 0.15:
        records.append(
            ConsentRecord(
                person=person,
                purpose="product_marketing",
                channel="phone",
                state=ConsentState.WITHDRAWN,
                legal_basis=LegalBasis.CONSENT,
                source=ConsentSource.CALL,
                recorded_at=at + timedelta(days=rng.randint(5, 200)),
                evidence="Bitte keine Anrufe mehr",
            )
        )
    finals.append(len(records) - 1)
