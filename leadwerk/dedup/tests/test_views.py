"""The review queue: side by side, field by field; the merge history with undo."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from leadwerk.accounts.choices import Role
from leadwerk.contacts.models import Person
from leadwerk.dataquality.models import CarePoints
from leadwerk.dedup.choices import CandidateStatus, Entity, FoundBy
from leadwerk.dedup.models import DuplicateCandidate, MergeRecord
from leadwerk.tests_support.factories import CompanyFactory, LeadFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(marketing_user):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(marketing_user)
    return client


@pytest.fixture
def candidate():
    company = CompanyFactory(name="Weiß Bau")
    a = PersonFactory(
        first_name="Jürgen",
        last_name="Müller",
        email="jm@weiss-bau.de",
        job_title="",
        company=company,
    )
    b = PersonFactory(
        first_name="Juergen",
        last_name="Mueller",
        email="juergen@weiss-bau.de",
        job_title="Einkauf <Leitung>",
        company=company,
    )
    LeadFactory(person=a)
    LeadFactory(person=b)
    return DuplicateCandidate.objects.create(
        entity=Entity.PERSON,
        person_a=a,
        person_b=b,
        probability=0.93,
        reasons=[{"field": "name", "reason": "same first and last name", "weight": 9.6}],
        found_by=FoundBy.IMPORT,
    )


def test_queue_lists_pairs_with_reasons(reviewer, candidate, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = reviewer.get(reverse("dedup:queue"))
    html = response.content.decode()
    assert "93.0 %" in html and "same first and last name" in html
    assert reverse("dedup:review", args=[candidate.uuid]) in html


def test_side_by_side_review_and_merge_with_a_field_choice(reviewer, candidate, marketing_user):
    page = reviewer.get(reverse("dedup:review", args=[candidate.uuid])).content.decode()
    assert "Einkauf &lt;Leitung&gt;" in page and 'name="pick_first_name"' in page
    response = reviewer.post(
        reverse("dedup:review", args=[candidate.uuid]),
        {
            "decision": "merge",
            "survivor": "a",
            "pick_first_name": "b",
            "pick_email": "a",
            "pick_job_title": "b",
        },
    )
    assert response.status_code == 302
    survivor = Person.objects.get(pk=candidate.person_a_id)
    assert (survivor.first_name, survivor.email, survivor.job_title) == (
        "Juergen",
        "jm@weiss-bau.de",
        "Einkauf <Leitung>",
    )
    assert survivor.leads.count() == 2
    assert CarePoints.objects.get(user=marketing_user).action == "merge"


def test_not_a_duplicate(reviewer, candidate, marketing_user):
    reviewer.post(reverse("dedup:review", args=[candidate.uuid]), {"decision": "dismiss"})
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DISMISSED
    assert Person.objects.count() == 2
    assert CarePoints.objects.get(user=marketing_user).action == "dismiss"


def test_undo_from_the_history_takes_the_points_back(reviewer, candidate, marketing_user):
    reviewer.post(reverse("dedup:review", args=[candidate.uuid]), {"decision": "merge"})
    record = MergeRecord.objects.get()
    history = reviewer.get(reverse("dedup:merges")).content.decode()
    assert reverse("dedup:undo", args=[record.uuid]) in history
    reviewer.post(reverse("dedup:undo", args=[record.uuid]))
    assert Person.objects.count() == 2
    assert sum(CarePoints.objects.filter(user=marketing_user).values_list("points", flat=True)) == 0


def test_reps_cannot_review_or_undo(client, candidate):
    client.force_login(UserFactory(username="rep9", roles=[Role.SALES_REP]))
    assert client.get(reverse("dedup:queue")).status_code == 403
    assert client.get(reverse("dedup:review", args=[candidate.uuid])).status_code == 403
