"""Duplicate detection at intake (fast, for the new record) and over the whole database."""

from __future__ import annotations

import pytest

from leadwerk.activities.models import Activity
from leadwerk.contacts.models import Company, Person
from leadwerk.dedup.choices import CandidateStatus, Entity, FoundBy
from leadwerk.dedup.models import DedupSettings, DuplicateCandidate, MatchKey, MergeRecord
from leadwerk.dedup.services import COMPANY, PERSON, candidates_for, dedup_run
from leadwerk.leads.choices import LeadSource
from leadwerk.leads.intake import LeadIn
from leadwerk.leads.models import Lead
from leadwerk.leads.services import lead_intake
from leadwerk.tests_support.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _intake(person: dict, company: dict | None = None, channel: str = "website"):
    data = LeadIn.model_validate(
        {"person": person, "company": company, "channel": channel}
        if company
        else {"person": person, "channel": channel}
    )
    return lead_intake(data=data, source=LeadSource.API).lead


def test_a_certain_duplicate_at_intake_is_merged_at_once(channel):
    first = _intake(
        {
            "first_name": "Jürgen",
            "last_name": "Müller",
            "email": "jm@weiss-bau.de",
            "phone": "089 1234567",
        },
        {"name": "Weiß Bau GmbH", "website": "weiss-bau.de"},
    )
    second = _intake(
        {
            "first_name": "Juergen",
            "last_name": "Mueller",
            "email": "juergen.mueller@weiss-bau.de",
            "phone": "+49 (0)89 1234567",
        },
        {"name": "Weiss Bau GmbH", "website": "https://www.weiss-bau.de"},
    )
    assert second.person_id == first.person_id
    assert Person.objects.count() == 1
    assert Lead.objects.filter(person=first.person).count() == 2
    record = MergeRecord.objects.get()
    assert record.how == "auto" and record.probability > 0.999
    merge_entry = Activity.objects.get(person=first.person, payload__kind="merge")
    assert "same phone number" in merge_entry.payload["reasons"]


def test_a_doubtful_duplicate_at_intake_goes_to_the_review_queue(channel):
    first = _intake(
        {"first_name": "Anna", "last_name": "Schulz", "email": "anna.schulz@example.de"},
        {"name": "Beispiel AG"},
    )
    second = _intake(
        {"first_name": "Anna", "last_name": "Schulz", "email": "a.s@beispiel-ag.de"},
        {"name": "Beispiel AG"},
    )
    assert first.person_id != second.person_id
    candidate = DuplicateCandidate.objects.get(entity=Entity.PERSON)
    assert {candidate.person_a_id, candidate.person_b_id} == {first.person_id, second.person_id}
    assert candidate.status == CandidateStatus.OPEN and candidate.found_by == FoundBy.INTAKE
    assert 0.6 <= candidate.probability < 0.999
    assert any(r["reason"] == "same first and last name" for r in candidate.reasons)


def test_people_who_only_share_a_name_are_left_alone(channel):
    _intake(
        {"first_name": "Thomas", "last_name": "Weber", "email": "t.weber@a.de"},
        {"name": "Alpha GmbH"},
    )
    _intake(
        {"first_name": "Thomas", "last_name": "Weber", "email": "t.weber@b.de"},
        {"name": "Beta GmbH"},
    )
    assert Person.objects.count() == 2
    assert not DuplicateCandidate.objects.exists()


def test_thresholds_are_configurable(channel):
    DedupSettings.objects.create(auto_merge_threshold=0.5, review_threshold=0.4)
    _intake(
        {"first_name": "Anna", "last_name": "Schulz", "email": "anna.schulz@example.de"},
        {"name": "Beispiel AG"},
    )
    _intake(
        {"first_name": "Anna", "last_name": "Schulz", "email": "a.s@beispiel-ag.de"},
        {"name": "Beispiel AG"},
    )
    assert Person.objects.count() == 1


def test_companies_are_checked_at_intake_too(channel):
    _intake(
        {"email": "a@x.de"},
        {"name": "Weiß Bau GmbH", "postal_code": "80331", "city": "München", "country": "DE"},
    )
    _intake(
        {"email": "b@y.de"},
        {"name": "Weis Bau GmbH", "postal_code": "80331", "city": "München", "country": "DE"},
    )
    assert Company.objects.count() == 2
    candidate = DuplicateCandidate.objects.get(entity=Entity.COMPANY)
    assert candidate.probability >= 0.6


def test_blocking_keys_follow_every_save_and_delete():
    person = PersonFactory(first_name="Jürgen", last_name="Müller")
    keys = set(MatchKey.objects.filter(entity="person", object_id=person.pk).values_list("key"))
    assert keys
    person.last_name = "Schmidt"
    person.save()
    assert keys != set(
        MatchKey.objects.filter(entity="person", object_id=person.pk).values_list("key")
    )
    pk = person.pk
    person.delete()
    assert not MatchKey.objects.filter(entity="person", object_id=pk).exists()


def test_full_run_finds_merges_and_queues_over_the_whole_database(admin_user):
    weiss = CompanyFactory(name="Weiß Bau", domain="weiss-bau.de")
    rows = [
        ("Jürgen", "Müller", "jm@weiss-bau.de", "+49891234567"),
        ("Juergen", "Mueller", "juergen.mueller@weiss-bau.de", "+49891234567"),
        ("J.", "Müller", "", "+49891234567"),
        ("Anna", "Schulz", "anna@weiss-bau.de", ""),
        ("Anna", "Schulz", "einkauf@weiss-bau.de", ""),
        ("Karl", "Otto", "k.otto@weiss-bau.de", ""),
    ]
    people = [
        Person.objects.bulk_create(
            [
                Person(
                    first_name=f,
                    last_name=la,
                    email=e,
                    email_normalized=e.lower(),
                    phone=p,
                    company=weiss,
                )
            ]
        )[0]
        for f, la, e, p in rows
    ]
    # bulk writes leave no keys yet
    assert not MatchKey.objects.filter(entity="person", object_id=people[0].pk).exists()
    stats = dedup_run(entity=Entity.PERSON, actor=admin_user)
    assert stats.records == 6
    assert stats.merged == 2
    survivor_ids = set(Person.objects.values_list("id", flat=True))
    assert people[0].pk in survivor_ids and people[1].pk not in survivor_ids
    assert Person.objects.get(pk=people[0].pk).leads.count() == 0
    queued = DuplicateCandidate.objects.get(status=CandidateStatus.OPEN)
    assert {queued.person_a_id, queued.person_b_id} == {people[3].pk, people[4].pk}
    assert queued.found_by == FoundBy.JOB
    # keys were built for every survivor, so the intake check finds them now
    found = candidates_for(
        PERSON, {"first_name": "Karl", "last_name": "Otto", "company_id": weiss.id}
    )
    assert found and found[0].other_id == people[5].pk
    # a second run queues nothing new and merges nothing; stale keys are cleaned up
    keys = set(MatchKey.objects.filter(entity="person").values_list("object_id", "key"))
    MatchKey.objects.create(entity="person", object_id=999_999, key=1)
    again = dedup_run(entity=Entity.PERSON, actor=admin_user)
    assert (again.queued, again.merged) == (0, 0)
    assert set(MatchKey.objects.filter(entity="person").values_list("object_id", "key")) == keys


def test_full_run_does_not_requeue_a_dismissed_pair(admin_user):
    a = PersonFactory(first_name="Anna", last_name="Schulz", email="anna@x.de")
    b = PersonFactory(
        first_name="Anna", last_name="Schulz", email="a.schulz@x.de", company=a.company
    )
    dedup_run(entity=Entity.PERSON, auto_merge=False)
    candidate = DuplicateCandidate.objects.get()
    candidate.status = CandidateStatus.DISMISSED
    candidate.save()
    stats = dedup_run(entity=Entity.PERSON, auto_merge=False)
    assert stats.queued == 0
    assert {a.pk, b.pk} <= set(Person.objects.values_list("id", flat=True))


def test_company_full_run(admin_user):
    CompanyFactory(name="Weiß Bau", postal_code="80331", city="München", vat_id="DE136695976")
    CompanyFactory(name="Weiss-Bau", postal_code="80331", city="München", vat_id="DE136695976")
    CompanyFactory(name="Anderes Haus", postal_code="10115", city="Berlin")
    stats = dedup_run(entity=Entity.COMPANY, actor=admin_user)
    assert stats.merged == 1 and Company.objects.count() == 2
    assert candidates_for(COMPANY, {"name": "Anderes Haus", "city": "Berlin"})
