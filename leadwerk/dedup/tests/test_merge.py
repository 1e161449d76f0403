"""Merge and unmerge: every related row follows, survivorship rules pick the values, the
merge is on the timeline, and unmerge restores both records exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity
from leadwerk.activities.services import activity_record
from leadwerk.contacts.models import Company, Person
from leadwerk.dedup import registry
from leadwerk.dedup.choices import CandidateStatus, Entity, FoundBy, Survivorship
from leadwerk.dedup.models import DedupSettings, DuplicateCandidate, MatchKey, MergeRecord
from leadwerk.dedup.services import (
    candidate_decide,
    company_merge,
    merge_undo,
    person_merge,
)
from leadwerk.errors import Conflict
from leadwerk.leads.models import Lead, StageChange
from leadwerk.leads.services import lead_transition
from leadwerk.tests_support.factories import CompanyFactory, LeadFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _state(person: Person) -> dict:
    person.refresh_from_db()
    data = model_to_dict(person)
    data.update(uuid=person.uuid, created_at=person.created_at, updated_at=person.updated_at)
    return data


def _related(person_id: int) -> dict:
    return {
        "leads": sorted(Lead.objects.filter(person_id=person_id).values_list("id", flat=True)),
        "activities": sorted(
            Activity.objects.filter(person_id=person_id).values_list("id", flat=True)
        ),
    }


@pytest.fixture
def pair(admin_user):
    company = CompanyFactory(name="Weiß Bau", domain="weiss-bau.de")
    a = PersonFactory(
        first_name="Jürgen",
        last_name="Müller",
        email="j.mueller@weiss-bau.de",
        phone="",
        job_title="",
        company=company,
    )
    b = PersonFactory(
        first_name="Juergen",
        last_name="Mueller",
        email="juergen.mueller@weiss-bau.de",
        phone="+49891234567",
        job_title="Einkauf",
        company=company,
    )
    for person in (a, a, b):
        lead = LeadFactory(person=person)
        activity_record(person=person, lead=lead, type=ActivityType.NOTE, subject="Notiz")
    lead_transition(lead=Lead.objects.filter(person=b).first(), to_stage="mql", actor=admin_user)
    return a, b


def test_merge_moves_every_lead_and_activity_and_fills_gaps(pair, admin_user):
    a, b = pair
    before_a, before_b = _related(a.id), _related(b.id)
    record = person_merge(survivor=a, merged=b, actor=admin_user)
    assert not Person.objects.filter(pk=b.pk).exists()
    after = _related(a.id)
    assert set(before_a["leads"] + before_b["leads"]) == set(after["leads"])
    assert set(before_a["activities"] + before_b["activities"]) <= set(after["activities"])
    a.refresh_from_db()
    # survivor keeps its own values, empty ones are filled from the duplicate
    assert (a.first_name, a.email, a.phone, a.job_title) == (
        "Jürgen",
        "j.mueller@weiss-bau.de",
        "+49891234567",
        "Einkauf",
    )
    entry = Activity.objects.get(person=a, payload__kind="merge")
    assert entry.subject == "Merged with duplicate Juergen Mueller"
    assert entry.payload["values_not_taken"]["email"] == "juergen.mueller@weiss-bau.de"
    assert record.moves and {m["key"] for m in record.moves} >= {
        "leads.lead.person",
        "activities.activity.person",
    }


def test_unmerge_restores_both_records_and_all_related_rows_exactly(pair, admin_user):
    a, b = pair
    state_a, state_b = _state(a), _state(b)
    related_a, related_b = _related(a.id), _related(b.id)
    stage_changes = sorted(StageChange.objects.values_list("id", "lead_id"))
    record = person_merge(survivor=a, merged=b, actor=admin_user)
    survivor, restored = merge_undo(record=record, actor=admin_user)
    assert (survivor.pk, restored.pk) == (a.pk, b.pk)
    assert _state(survivor) == state_a
    assert _state(restored) == state_b
    # every row is back where it was; only the two timeline entries about the undo are new
    assert _related(a.id)["leads"] == related_a["leads"]
    assert _related(b.id)["leads"] == related_b["leads"]
    new_a = set(_related(a.id)["activities"]) - set(related_a["activities"])
    new_b = set(_related(b.id)["activities"]) - set(related_b["activities"])
    assert {x.payload["kind"] for x in Activity.objects.filter(id__in=new_a)} == {
        "merge",
        "unmerge",
    }
    assert {x.payload["kind"] for x in Activity.objects.filter(id__in=new_b)} == {"unmerge"}
    assert sorted(StageChange.objects.values_list("id", "lead_id")) == stage_changes
    record.refresh_from_db()
    assert record.undone_at is not None and record.undone_by == admin_user
    assert MatchKey.objects.filter(entity="person", object_id=b.pk).exists()
    with pytest.raises(Conflict):
        merge_undo(record=record, actor=admin_user)


def test_unmerge_keeps_a_value_edited_after_the_merge(pair, admin_user):
    a, b = pair
    record = person_merge(survivor=a, merged=b, actor=admin_user)
    a.refresh_from_db()
    a.job_title = "Leitung Einkauf"
    a.save()
    survivor, restored = merge_undo(record=record, actor=admin_user)
    assert survivor.job_title == "Leitung Einkauf"
    assert survivor.phone == ""  # taken over by the merge, not edited since: restored
    assert restored.job_title == "Einkauf"
    note = Activity.objects.filter(person=survivor, payload__kind="unmerge").get()
    assert note.payload["kept_values_changed_since"] == {"job_title": "Leitung Einkauf"}


def test_unmerge_is_refused_while_the_survivor_is_merged_into_a_third(pair, admin_user):
    a, b = pair
    first = person_merge(survivor=a, merged=b, actor=admin_user)
    c = PersonFactory(first_name="Jürgen", last_name="Müller", company=a.company)
    person_merge(survivor=c, merged=a, actor=admin_user)
    with pytest.raises(Conflict, match="undo that first"):
        merge_undo(record=first, actor=admin_user)


def test_survivorship_newest_non_empty_and_manual_choice(pair, admin_user):
    a, b = pair
    DedupSettings.objects.create(
        field_rules={"job_title": Survivorship.NEWEST, "email": Survivorship.NEWEST}
    )
    Person.objects.filter(pk=a.pk).update(
        job_title="Alt", updated_at=timezone.now() - timedelta(days=30)
    )
    person_merge(survivor=a, merged=b, actor=admin_user, choices={"first_name": "merged"})
    a.refresh_from_db()
    assert a.job_title == "Einkauf"  # b is newer
    assert a.email == "juergen.mueller@weiss-bau.de"
    assert a.email_normalized == "juergen.mueller@weiss-bau.de"
    assert a.first_name == "Juergen"  # the reviewer's choice


def test_survivorship_most_trusted_source(admin_user):
    DedupSettings.objects.create(
        default_rule=Survivorship.TRUSTED, source_trust=["manual", "form", "api", "import"]
    )
    imported = PersonFactory(first_name="Jurgen", last_name="Muller", job_title="Einkauf")
    typed = PersonFactory(first_name="Jürgen", last_name="Müller", job_title="CFO")
    LeadFactory(person=imported, source="import")
    LeadFactory(person=typed, source="manual")
    person_merge(survivor=imported, merged=typed, actor=admin_user)
    imported.refresh_from_db()
    assert (imported.first_name, imported.job_title) == ("Jürgen", "CFO")


def test_company_merge_moves_people_and_leads_and_unmerge_moves_them_back(admin_user):
    a = CompanyFactory(name="Weiß Bau", legal_form="GmbH", postal_code="80331")
    b = CompanyFactory(name="Weiss Bau", legal_form="", website="https://weiss-bau.de")
    people = [PersonFactory(company=b) for _ in range(3)]
    leads = [LeadFactory(person=p) for p in people]
    record = company_merge(survivor=a, merged=b, actor=admin_user)
    assert set(Person.objects.filter(company=a).values_list("id", flat=True)) == {
        p.id for p in people
    }
    assert set(Lead.objects.filter(company=a).values_list("id", flat=True)) == {x.id for x in leads}
    a.refresh_from_db()
    assert (a.website, a.domain) == ("https://weiss-bau.de", "weiss-bau.de")
    merge_undo(record=record, actor=admin_user)
    b = Company.objects.get(pk=b.pk)
    assert set(Person.objects.filter(company=b).values_list("id", flat=True)) == {
        p.id for p in people
    }
    a.refresh_from_db()
    assert a.website == "" and a.domain == ""


def test_review_decision_merge_with_field_choices_and_dismiss(pair, admin_user):
    a, b = pair
    candidate = DuplicateCandidate.objects.create(
        entity=Entity.PERSON,
        person_a=a,
        person_b=b,
        probability=0.9,
        reasons=[],
        found_by=FoundBy.JOB,
    )
    record = candidate_decide(
        candidate=candidate,
        actor=admin_user,
        merge=True,
        survivor_side="b",
        choices={"email": "a"},
    )
    survivor = Person.objects.get(pk=b.pk)
    assert record.survivor_id == b.pk and not Person.objects.filter(pk=a.pk).exists()
    assert survivor.email == "j.mueller@weiss-bau.de"
    c = PersonFactory()
    d = PersonFactory()
    other = DuplicateCandidate.objects.create(
        entity=Entity.PERSON, person_a=c, person_b=d, probability=0.7, found_by=FoundBy.JOB
    )
    assert candidate_decide(candidate=other, actor=admin_user, merge=False) is None
    other.refresh_from_db()
    assert other.status == CandidateStatus.DISMISSED and other.decided_by == admin_user
    with pytest.raises(Conflict):
        candidate_decide(candidate=other, actor=admin_user, merge=True)


def test_registered_handler_replaces_the_default_move(pair, admin_user):
    a, b = pair
    calls = []

    class KeepNotesOnTheirPerson:
        def move(self, *, source, target):
            calls.append(("move", source.pk, target.pk))
            ids = list(Activity.objects.filter(person=source).values_list("id", flat=True))
            Activity.objects.filter(id__in=ids).update(person=target)
            return {"ids": ids}

        def undo(self, *, source, target, info):
            calls.append(("undo", source.pk, target.pk))
            Activity.objects.filter(id__in=info["ids"]).update(person=source)

    key = ("activities.activity", "person")
    previous = registry._handlers.get(key)
    registry.register("activities.Activity", "person", KeepNotesOnTheirPerson())
    try:
        record = person_merge(survivor=a, merged=b, actor=admin_user)
        merge_undo(record=record, actor=admin_user)
    finally:
        if previous is None:
            registry._handlers.pop(key, None)
        else:
            registry._handlers[key] = previous
    assert calls == [("move", b.pk, a.pk), ("undo", b.pk, a.pk)]


def test_default_mover_keeps_rows_a_unique_constraint_refuses_and_restores_them(admin_user):
    a, b, c = PersonFactory(), PersonFactory(), PersonFactory()
    DuplicateCandidate.objects.create(
        entity=Entity.PERSON, person_a=c, person_b=a, probability=0.7, found_by=FoundBy.JOB
    )
    clash = DuplicateCandidate.objects.create(
        entity=Entity.PERSON, person_a=c, person_b=b, probability=0.8, found_by=FoundBy.JOB
    )
    mover = registry.MoveRows(DuplicateCandidate, "person_b")
    info = mover.move(source=b, target=a)
    assert info["moved"] == [] and len(info["removed"]) == 1
    assert not DuplicateCandidate.objects.filter(pk=clash.pk).exists()
    mover.undo(source=b, target=a, info=info)
    assert DuplicateCandidate.objects.get(pk=clash.pk).probability == 0.8


def test_merge_history_is_kept(pair, admin_user):
    a, b = pair
    person_merge(survivor=a, merged=b, actor=admin_user, probability=0.95, reasons=[])
    record = MergeRecord.objects.get()
    assert (record.survivor_uuid, record.merged_uuid) == (a.uuid, b.uuid)
    assert record.snapshot["merged"]["email"] == "juergen.mueller@weiss-bau.de"


def test_the_stricter_consent_state_wins_and_unmerge_restores_both(admin_user):
    from leadwerk.consent.choices import ConsentSource, ConsentState, LegalBasis
    from leadwerk.consent.models import ConsentRecord, ConsentStatus
    from leadwerk.consent.services import consent_record
    from leadwerk.tests_support.consent import grant

    a = PersonFactory(first_name="Anna", last_name="Schulz")
    b = PersonFactory(first_name="Anna", last_name="Schulz")
    grant(a, purpose="newsletter", channel="email")
    grant(b, purpose="newsletter", channel="email")
    consent_record(
        person=b,
        purpose="newsletter",
        channel="email",
        state=ConsentState.WITHDRAWN,
        legal_basis=LegalBasis.CONSENT,
        source=ConsentSource.UNSUBSCRIBE,
    )
    grant(b, purpose="product_marketing", channel="phone")

    def states(person):
        return {
            (s.purpose, s.channel): s.state for s in ConsentStatus.objects.filter(person=person)
        }

    before_a, before_b = states(a), states(b)
    records = {
        p.pk: set(ConsentRecord.objects.filter(person=p).values_list("id", flat=True))
        for p in (a, b)
    }
    record = person_merge(survivor=a, merged=b, actor=admin_user)
    assert states(a) == {
        ("newsletter", "email"): "withdrawn",  # b's withdrawal beats a's grant
        ("product_marketing", "phone"): "granted",
    }
    assert set(ConsentRecord.objects.filter(person=a).values_list("id", flat=True)) == (
        records[a.pk] | records[b.pk]
    )
    merge_undo(record=record, actor=admin_user)
    assert (states(a), states(b)) == (before_a, before_b)
    for person in (a, b):
        assert (
            set(ConsentRecord.objects.filter(person=person).values_list("id", flat=True))
            == records[person.pk]
        )


def test_merge_and_unmerge_are_in_the_audit_log(pair, admin_user):
    from leadwerk.audit.models import AuditEntry

    a, b = pair
    record = person_merge(survivor=a, merged=b, actor=admin_user)
    merges = AuditEntry.objects.filter(action="merge")
    assert {e.person_uuid for e in merges} == {a.uuid, b.uuid}
    assert all(e.actor == admin_user and e.after["merge"] == str(record.uuid) for e in merges)
    merge_undo(record=record, actor=admin_user)
    undone = AuditEntry.objects.filter(action="update", summary__contains="undone")
    assert {e.person_uuid for e in undone} == {a.uuid, b.uuid}
