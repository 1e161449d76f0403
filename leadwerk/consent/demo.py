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
}


def demo_consents(*, persons, seed: int = 2026) -> int:
    """Publish the texts; about a third of the persons confirmed the newsletter, some of
    them withdrew later. Returns the number of consent records written."""
    rng = random.Random(seed)
    texts = {
        key: ConsentText.objects.get_or_create(
            purpose=key[0], channel=key[1], language=key[2], version=1, defaults={"text": text}
        )[0]
        for key, text in TEXTS.items()
    }
    newsletter = texts[("newsletter", "email", "de")]
    records, finals = [], []
    for person in persons:
        if not person.email or rng.random() > 0.33:
            continue
        asked = person.created_at + timedelta(minutes=rng.randint(1, 30))
        confirmed = asked + timedelta(minutes=rng.randint(2, 600))
        chain = [
            (ConsentState.PENDING, ConsentSource.FORM, asked),
            (ConsentState.GRANTED, ConsentSource.DOUBLE_OPT_IN, confirmed),
        ]
        if rng.random() < 0.12:
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
                purpose="newsletter",
                channel="email",
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
