"""Who sees which leads: the one door for reads."""

import pytest

from leadwerk.accounts.choices import Role
from leadwerk.contacts.selectors import company_scope, person_scope
from leadwerk.leads.selectors import LeadFilters, lead_get, lead_list, lead_scope
from leadwerk.tests_support.factories import (
    LeadFactory,
    PartnerCompanyFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    south, north = TeamFactory(name="Süd"), TeamFactory(name="Nord")
    manager = UserFactory(username="mgr", roles=[Role.SALES_MANAGER])
    south.manager = manager
    south.save()
    rep_s = UserFactory(username="rep_s", roles=[Role.SALES_REP], team=south)
    rep_n = UserFactory(username="rep_n", roles=[Role.SALES_REP], team=north)
    p1, p2 = PartnerCompanyFactory(), PartnerCompanyFactory()
    partner1 = UserFactory(username="p1", roles=[Role.PARTNER], partner=p1)
    leads = {
        "own_s": LeadFactory(owner=rep_s, team=south),
        "pool_s": LeadFactory(team=south),
        "own_n": LeadFactory(owner=rep_n, team=north),
        "partner1": LeadFactory(partner=p1),
        "partner2": LeadFactory(partner=p2),
        "free": LeadFactory(),
    }
    users = {
        "manager": manager,
        "rep_s": rep_s,
        "rep_n": rep_n,
        "partner1": partner1,
        "marketing": UserFactory(username="mk", roles=[Role.MARKETING]),
        "nobody": UserFactory(username="nobody"),
    }
    return users, leads


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("marketing", {"own_s", "pool_s", "own_n", "partner1", "partner2", "free"}),
        ("manager", {"own_s", "pool_s"}),
        ("rep_s", {"own_s", "pool_s"}),
        ("rep_n", {"own_n"}),
        ("partner1", {"partner1"}),
        ("nobody", set()),
    ],
)
def test_each_role_sees_exactly_its_leads(world, who, visible):
    users, leads = world
    user = users[who]
    seen = set(lead_scope(user=user).values_list("pk", flat=True))
    assert seen == {leads[name].pk for name in visible}
    for name, lead in leads.items():
        assert (lead_get(user=user, uuid=lead.uuid) is not None) == (name in visible)
    persons = set(person_scope(user=user).values_list("pk", flat=True))
    assert persons == {leads[name].person_id for name in visible}
    companies = set(company_scope(user=user).values_list("pk", flat=True))
    assert companies == {leads[name].company_id for name in visible}


def test_filters_cannot_widen_the_scope(world):
    users, leads = world
    partner = users["partner1"]
    other_owner = leads["own_s"].owner
    found = lead_list(user=partner, filters=LeadFilters(owner=str(other_owner.uuid)))
    assert list(found) == []


def test_inactive_user_sees_nothing(world):
    users, _ = world
    user = users["marketing"]
    user.is_active = False
    user.save()
    assert not lead_scope(user=user).exists()


def test_person_and_company_lead_counts_only_count_visible_leads(world):
    from leadwerk.contacts.selectors import company_list, person_list

    users, leads = world
    partner = users["partner1"]
    person = leads["partner1"].person
    # The same person also has a lead the partner must not know about.
    LeadFactory(person=person, company=person.company)
    row = person_list(user=partner).get(pk=person.pk)
    assert row.lead_count == 1
    company_row = company_list(user=partner).get(pk=person.company_id)
    assert (company_row.lead_count, company_row.person_count) == (1, 1)
    assert person_list(user=users["marketing"]).get(pk=person.pk).lead_count == 2
