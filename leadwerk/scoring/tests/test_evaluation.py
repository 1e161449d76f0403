"""The database and Python agree on when an event counts from, to the millisecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadwerk.activities.models import Activity
from leadwerk.scoring.engine import EventFact
from leadwerk.scoring.evaluation import events_by_person
from leadwerk.tests_support.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_event_times_read_by_the_database_equal_the_python_ones():
    person = PersonFactory()
    moments = [
        datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC),  # no fraction at all
        datetime(2026, 3, 1, 10, 0, 0, 124000, tzinfo=UTC),  # whole milliseconds
        datetime(2026, 3, 1, 10, 0, 0, 999999, tzinfo=UTC),
        datetime(2031, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        datetime(2020, 1, 1, tzinfo=UTC) - timedelta(microseconds=1),
    ]
    activities = Activity.objects.bulk_create(
        [
            Activity(
                person=person,
                type="download",
                occurred_at=m,
                created_at=m + timedelta(seconds=i - 2),
            )
            for i, m in enumerate(moments)
        ]
    )
    found = {e.id: e.at for e in events_by_person([person.pk], types=["download"])[person.pk]}
    expected = {
        a.pk: EventFact.of(
            id=a.pk, type=a.type, occurred_at=a.occurred_at, created_at=a.created_at
        ).at
        for a in activities
    }
    assert found == expected
