"""Accept (SAL), reject with a reason from the list, and a partner's return."""

from __future__ import annotations

import pytest

from leadwerk.accounts.choices import Role
from leadwerk.activities.models import Activity
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.leads.choices import Stage
from leadwerk.routing import services
from leadwerk.routing.choices import AssignmentStatus, PoolKind, Trigger
from leadwerk.routing.models import Assignment, LeadRejection, LedgerEntry, SlaTimer
from leadwerk.routing.selectors import rejection_list
from leadwerk.tests_support.factories import PartnerCompanyFactory, UserFactory

from .conftest import default_rule_to, make_mql, make_pool, make_reps

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(sales_team, always_open, django_capture_on_commit_callbacks):
    reps = make_reps(sales_team, 2)
    default_rule_to(make_pool("Nord", reps, team=sales_team))
    return make_mql(django_capture_on_commit_callbacks)


def test_the_owner_accepts_a_lead_which_becomes_sal(routed):
    lead = services.lead_accept(lead=routed, actor=routed.owner)
    assert lead.stage == Stage.SAL
    assignment = Assignment.objects.get(lead=lead)
    assert assignment.status == AssignmentStatus.ACCEPTED and assignment.accepted_at
    change = lead.stage_changes.first()
    assert (change.to_stage, change.by) == (Stage.SAL, routed.owner)
    # Accepting without contact does not stop the response-time clock.
    assert SlaTimer.objects.get(lead=lead).state == "running"
    assert lead.first_response_at is None


def test_accepting_with_contact_is_the_first_response(routed):
    lead = services.lead_accept(
        lead=routed, actor=routed.owner, contacted=True, note="Telefonat, Termin vereinbart"
    )
    assert lead.first_response_at is not None
    call = Activity.objects.get(lead=lead, type="call")
    assert call.subject == "Telefonat, Termin vereinbart"
    assert SlaTimer.objects.get(lead=lead).state == "responded"


def test_only_the_owner_may_answer_and_only_once(routed):
    other = next(
        m.user for m in routed.assignments.get().pool.members.all() if m.user != routed.owner
    )
    with pytest.raises(Conflict) as exc:
        services.lead_accept(lead=routed, actor=other)
    assert exc.value.code == "not_owner"
    services.lead_accept(lead=routed, actor=routed.owner)
    with pytest.raises(Conflict) as exc:
        services.lead_reject(lead=routed, actor=routed.owner, reason="no-budget")
    assert exc.value.code == "already_accepted"


def test_a_rejection_goes_back_to_marketing_with_its_reason(routed):
    owner = routed.owner
    rejection = services.lead_reject(lead=routed, actor=owner, reason="no-budget", text="Q3")
    routed.refresh_from_db()
    assert routed.stage == Stage.RECYCLED and routed.owner is None
    assert routed.stage_changes.first().reason == "Vom Vertrieb abgelehnt: Kein Budget – Q3"
    assert Assignment.objects.get(lead=routed).status == AssignmentStatus.REJECTED
    assert SlaTimer.objects.get(lead=routed).state == "cancelled"
    assert rejection.facts["channel"] == "website" and rejection.facts["quality"] > 0
    # The scoring feedback report reads rejections with their reasons.
    [row] = rejection_list()
    assert (row.reason.code, row.text, row.by, row.kind) == ("no-budget", "Q3", owner, "rejected")
    # The rejected lead stays in the owner's ledger: rejecting does not buy a better lead.
    assert sum(e.count for e in LedgerEntry.objects.filter(user=owner)) == 1


def test_some_reasons_disqualify_the_lead(routed):
    services.lead_reject(lead=routed, actor=routed.owner, reason="student-job-seeker")
    routed.refresh_from_db()
    assert routed.stage == Stage.DISQUALIFIED and routed.closed_at is not None


def test_a_rejection_needs_a_known_reason_and_other_needs_a_text(routed):
    with pytest.raises(DomainValidationError) as exc:
        services.lead_reject(lead=routed, actor=routed.owner, reason="keine-lust")
    error = exc.value.errors[0]
    assert error.loc == ("reason",) and "unknown reason 'keine-lust'" in error.msg
    assert "no-budget" in error.msg
    with pytest.raises(DomainValidationError) as exc:
        services.lead_reject(lead=routed, actor=routed.owner, reason="other", text="  ")
    assert exc.value.errors[0].loc == ("text",)
    routed.refresh_from_db()
    assert routed.stage == Stage.MQL and routed.owner is not None
    assert not LeadRejection.objects.exists()


def test_the_reason_list_is_configurable(routed):
    services.rejection_reason_save(
        code="insolvent", label_de="Insolvent", label_en="Insolvent", outcome="disqualified"
    )
    services.lead_reject(lead=routed, actor=routed.owner, reason="insolvent")
    routed.refresh_from_db()
    assert routed.stage == Stage.DISQUALIFIED


@pytest.fixture
def partners(always_open):
    weber = PartnerCompanyFactory(name="Systemhaus Weber GmbH", tier="gold")
    data = PartnerCompanyFactory(name="DataConsult Partner AG", tier="silver")
    users = [
        UserFactory(username="weber1", roles=[Role.PARTNER], partner=weber, email="1@weber.de"),
        UserFactory(username="weber2", roles=[Role.PARTNER], partner=weber, email="2@weber.de"),
        UserFactory(username="data1", roles=[Role.PARTNER], partner=data, email="1@data.de"),
    ]
    pool = make_pool("Partnerpool", users, kind=PoolKind.PARTNER)
    default_rule_to(pool)
    return pool, users


def test_a_partner_returns_a_lead_and_it_goes_to_another_partner_company(
    partners, django_capture_on_commit_callbacks
):
    pool, users = partners
    lead = make_mql(django_capture_on_commit_callbacks)
    first = lead.owner
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_return(
            lead=lead, actor=first, reason="wrong-contact", text="Nicht unser Gebiet"
        )
    lead.refresh_from_db()
    assert lead.owner is not None
    assert lead.owner.partner != first.partner
    returned, again = Assignment.objects.filter(lead=lead).order_by("assigned_at", "id")
    assert (returned.status, again.trigger) == (AssignmentStatus.RETURNED, Trigger.PARTNER_RETURN)
    # The returned lead left the partner's ledger.
    assert sum(e.count for e in LedgerEntry.objects.filter(user=first)) == 0
    entry = Activity.objects.filter(lead=lead, type="assignment").order_by("occurred_at", "id")[1]
    assert (
        "Vom Partner Systemhaus Weber GmbH zurückgegeben" in entry.subject
        and entry.payload["text"] == "Nicht unser Gebiet"
    )
    assert LeadRejection.objects.get(lead=lead).kind == "returned"


def test_only_partners_return_and_they_must_say_why(
    partners, sales_team, django_capture_on_commit_callbacks
):
    lead = make_mql(django_capture_on_commit_callbacks)
    with pytest.raises(DomainValidationError) as exc:
        services.lead_return(lead=lead, actor=lead.owner, reason="no-need", text="")
    assert exc.value.errors[0].loc == ("text",)
    (rep,) = make_reps(sales_team, 1, prefix="direct")
    with pytest.raises(Conflict) as exc:
        services.lead_return(lead=lead, actor=rep, reason="no-need", text="x")
    assert exc.value.code == "not_partner"
