"""Leads with a known fit and events at known times, for the scoring tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from leadwerk.activities.events import EventIn
from leadwerk.activities.ingest import events_record
from leadwerk.contacts.normalization import company_name_key, email_key
from leadwerk.leads.choices import Stage
from leadwerk.tests_support.factories import CompanyFactory, LeadFactory, PersonFactory

FIT = {
    # grade A: DACH 15 + Mittelstand 20 + Zielbranche 15 + Entscheider 20 = 70
    "A": {"employees": 200, "industry": "Maschinenbau", "job_title": "Geschäftsführerin"},
    # grade B: DACH 15 + Mittelstand 20 = 35
    "B": {"employees": 200, "industry": "Bauwesen", "job_title": "Einkäufer"},
    # grade C: DACH 15 = 15
    "C": {"employees": None, "industry": "Bauwesen", "job_title": "Einkäufer"},
}


def make_lead(*, grade: str = "A", stage: str = Stage.NEW, email: str | None = None, **kwargs):
    spec = FIT[grade]
    company = CompanyFactory(
        name="Muster Maschinen",
        name_key=company_name_key("Muster Maschinen"),
        country="DE",
        employees=spec["employees"],
        industry=spec["industry"],
    )
    person_kwargs = {"company": company, "job_title": spec["job_title"]}
    if email:
        person_kwargs.update(email=email, email_normalized=email_key(email))
    person = PersonFactory(**person_kwargs)
    return LeadFactory(
        person=person, company=company, stage=stage, created_at=timezone.now(), **kwargs
    )


def record(person, *events: tuple[str, datetime] | tuple[str, datetime, dict], now=None):
    """Record events (type, occurred_at[, properties]) for ``person`` like the API does."""
    items = [
        EventIn(
            person_id=person.uuid,
            type=e[0],
            occurred_at=e[1],
            properties=e[2] if len(e) > 2 else {},
        )
        for e in events
    ]
    return events_record(events=items, batch=True, now=now)


DEFAULT = Path(__file__).resolve().parents[1] / "defaults" / "b2b_standard.json"


def default_document() -> dict:
    return json.loads(DEFAULT.read_text(encoding="utf-8"))


def ago(**kwargs) -> datetime:
    return timezone.now() - timedelta(**kwargs)
