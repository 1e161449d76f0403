"""Parallel intakes of the same new company create it once.

Each thread is its own request with its own database connection and transaction, started
together. PostgreSQL lets both read "no such company" unless the intake locks the
company's keys; SQLite takes its write lock at BEGIN, so its intakes queue anyway."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from leadwerk.contacts.models import Company, Person
from leadwerk.leads.choices import LeadSource
from leadwerk.leads.intake import LeadIn
from leadwerk.leads.models import Lead
from leadwerk.leads.services import lead_intake

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # SQLite's test database is in memory with a shared cache, whose table locks do not
    # wait; SQLite's serialisation of writers is covered by routing's concurrency test.
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]

THREADS = 8


def test_parallel_intakes_of_one_new_company_create_it_once(channel):
    start = threading.Barrier(THREADS)

    def intake(i: int) -> int:
        try:
            data = LeadIn.model_validate(
                {
                    "person": {"email": f"person{i}@neue-firma.de", "last_name": f"Person {i}"},
                    # the same company, spelt as people type it: by domain and by name
                    "company": {
                        "name": "Neue Firma GmbH" if i % 2 else "neue firma",
                        "website": "https://www.neue-firma.de" if i % 2 else "",
                        "country": "DE",
                    },
                    "channel": channel.slug,
                }
            )
            start.wait(timeout=30)
            return lead_intake(data=data, source=LeadSource.API).lead.company_id
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        company_ids = set(pool.map(intake, range(THREADS)))

    assert Lead.objects.count() == Person.objects.count() == THREADS
    assert Company.objects.count() == 1
    assert company_ids == {Company.objects.get().pk}
