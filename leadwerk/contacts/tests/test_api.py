"""/api/v1/persons and /api/v1/companies: lists, details and who may see what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadwerk.accounts.choices import Role
from leadwerk.accounts.services import api_token_create
from leadwerk.tests_support.factories import (
    CompanyFactory,
    LeadFactory,
    PartnerCompanyFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PERSONS = "/api/v1/persons"
COMPANIES = "/api/v1/companies"


def token_client(user) -> Client:
    _token, raw = api_token_create(user=user, name="test")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def person(last_name: str, email: str, company=None, first_name: str = "Erika"):
    return PersonFactory(
        first_name=first_name,
        last_name=last_name,
        email=email,
        email_normalized=email.casefold(),
        company=company,
    )


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def last_names(response) -> list[str]:
    return [p["last_name"] for p in ok(response)["results"]]


def company_names(response) -> list[str]:
    return [c["name"] for c in ok(response)["results"]]


def assert_404(response, detail: str) -> None:
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": detail}


@pytest.fixture
def contacts(channel):
    """Three companies and four persons, each with a lead."""
    orbit = CompanyFactory(
        name="Orbit", legal_form="GmbH", domain="orbit.de", city="München", employees=80
    )
    quelle = CompanyFactory(name="Quelle", legal_form="AG", domain="quelle.de", city="Fürth")
    zeta = CompanyFactory(name="Zeta", city="Köln")
    people = {
        "böhm": person("Böhm", "boehm@orbit.de", orbit, first_name="Jürgen"),
        "arndt": person("Arndt", "arndt@orbit.de", orbit),
        "claasen": person("Claasen", "c@quelle.de", quelle),
        "dietz": person("Dietz", "dietz@privat.de", None),
    }
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    leads = {
        key: LeadFactory(
            person=p, company=p.company, channel=channel, created_at=t0 + timedelta(days=i)
        )
        for i, (key, p) in enumerate(people.items())
    }
    return {"orbit": orbit, "quelle": quelle, "zeta": zeta, "people": people, "leads": leads}


# --- persons ---------------------------------------------------------------------------------


def test_persons_list_is_sorted_by_name_with_the_total(api, contacts):
    response = api.get(PERSONS)

    assert last_names(response) == ["Arndt", "Böhm", "Claasen", "Dietz"]
    data = response.json()
    assert (data["count"], data["page"], data["page_size"]) == (4, 1, 25)
    boehm = data["results"][1]
    assert boehm["id"] == str(contacts["people"]["böhm"].uuid)
    assert boehm["email"] == "boehm@orbit.de"
    assert boehm["company_id"] == str(contacts["orbit"].uuid)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("böhm", ["Böhm"]),
        ("Jürgen", ["Böhm"]),
        ("ORBIT.de", ["Arndt", "Böhm"]),
        ("Quelle", ["Claasen"]),
        ("@privat.de", ["Dietz"]),
        ("Erika orbit", ["Arndt"]),
        ("niemand", []),
    ],
)
def test_persons_list_searches_name_email_and_company(api, contacts, q, expected):
    assert last_names(api.get(PERSONS, {"q": q})) == expected


def test_persons_list_paginates_and_a_page_beyond_the_end_is_empty(api, contacts):
    page2 = ok(api.get(PERSONS, {"page": 2, "page_size": 3}))
    beyond = ok(api.get(PERSONS, {"page": 9, "page_size": 3}))

    assert [p["last_name"] for p in page2["results"]] == ["Dietz"]
    assert (page2["count"], page2["page"], page2["page_size"]) == (4, 2, 3)
    assert (beyond["count"], beyond["results"]) == (4, [])


@pytest.mark.parametrize("path", [PERSONS, COMPANIES])
@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ({"page_size": 101}, ["query", "page_size"]),
        ({"page": 0}, ["query", "page"]),
        ({"page": "zwei"}, ["query", "page"]),
        ({"q": "x" * 201}, ["query", "q"]),
    ],
)
def test_contact_lists_refuse_bad_query_parameters_with_422(api, contacts, path, query, loc):
    response = api.get(path, query)

    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [loc]


def test_person_detail_has_the_company_and_the_lead_ids_newest_first(api, contacts, channel):
    boehm = contacts["people"]["böhm"]
    newer = LeadFactory(
        person=boehm,
        company=boehm.company,
        channel=channel,
        created_at=datetime(2025, 6, 1, tzinfo=UTC),
    )

    data = ok(api.get(f"{PERSONS}/{boehm.uuid}"))

    assert data["id"] == str(boehm.uuid)
    assert (data["first_name"], data["last_name"]) == ("Jürgen", "Böhm")
    assert data["company"]["id"] == str(contacts["orbit"].uuid)
    assert data["company"]["name"] == "Orbit"
    assert data["lead_ids"] == [str(newer.uuid), str(contacts["leads"]["böhm"].uuid)]


def test_person_without_company_has_none(api, contacts):
    data = ok(api.get(f"{PERSONS}/{contacts['people']['dietz'].uuid}"))

    assert data["company"] is None
    assert data["company_id"] is None


def test_unknown_person_is_404(api, contacts):
    assert_404(api.get(f"{PERSONS}/0b9a4a8e-6d0f-4b43-9a53-0d0f3a5f6a11"), "person not found")


@pytest.mark.parametrize("path", [PERSONS, COMPANIES])
def test_a_contact_id_that_is_not_a_uuid_is_422_naming_the_path(api, path):
    response = api.get(f"{path}/Müller")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][0] == "path"
    assert error["loc"][1] in ("person_id", "company_id")


# --- companies -------------------------------------------------------------------------------


def test_companies_list_is_sorted_by_name(api, contacts):
    response = api.get(COMPANIES)

    assert company_names(response) == ["Orbit", "Quelle", "Zeta"]
    orbit = response.json()["results"][0]
    assert (orbit["legal_form"], orbit["domain"], orbit["city"], orbit["employees"]) == (
        "GmbH",
        "orbit.de",
        "München",
        80,
    )


@pytest.mark.parametrize(
    ("q", "expected"),
    [("orbit", ["Orbit"]), ("quelle.de", ["Quelle"]), ("Fürth", ["Quelle"]), ("xyz", [])],
)
def test_companies_list_searches_name_domain_and_city(api, contacts, q, expected):
    assert company_names(api.get(COMPANIES, {"q": q})) == expected


def test_companies_list_paginates(api, contacts):
    data = ok(api.get(COMPANIES, {"page": 2, "page_size": 2}))

    assert [c["name"] for c in data["results"]] == ["Zeta"]
    assert (data["count"], data["page"], data["page_size"]) == (3, 2, 2)


def test_company_detail_lists_its_persons_and_leads(api, contacts):
    orbit = contacts["orbit"]

    data = ok(api.get(f"{COMPANIES}/{orbit.uuid}"))

    assert data["id"] == str(orbit.uuid)
    people, leads = contacts["people"], contacts["leads"]
    assert data["person_ids"] == [str(people["arndt"].uuid), str(people["böhm"].uuid)]
    assert data["lead_ids"] == [str(leads["arndt"].uuid), str(leads["böhm"].uuid)]


def test_unknown_company_is_404(api, contacts):
    assert_404(api.get(f"{COMPANIES}/0b9a4a8e-6d0f-4b43-9a53-0d0f3a5f6a11"), "company not found")


# --- who sees what -----------------------------------------------------------------------------


@pytest.fixture
def partners(contacts, channel):
    """Böhm's lead is routed to partner 1; Claasen's to partner 2. Böhm has a second lead
    that is not routed to anyone."""
    p1, p2 = PartnerCompanyFactory(), PartnerCompanyFactory()
    leads = contacts["leads"]
    leads["böhm"].partner = p1
    leads["böhm"].save(update_fields=["partner"])
    leads["claasen"].partner = p2
    leads["claasen"].save(update_fields=["partner"])
    boehm = contacts["people"]["böhm"]
    unrouted = LeadFactory(person=boehm, company=boehm.company, channel=channel)
    user = UserFactory(username="partner1", roles=[Role.PARTNER], partner=p1)
    return {"client": token_client(user), "unrouted": unrouted}


def test_a_partner_lists_only_persons_and_companies_of_leads_routed_to_them(contacts, partners):
    client = partners["client"]

    assert last_names(client.get(PERSONS)) == ["Böhm"]
    assert company_names(client.get(COMPANIES)) == ["Orbit"]


def test_a_partner_sees_only_the_routed_leads_of_a_person_and_company(contacts, partners):
    client = partners["client"]
    boehm, orbit = contacts["people"]["böhm"], contacts["orbit"]

    person = ok(client.get(f"{PERSONS}/{boehm.uuid}"))
    company = ok(client.get(f"{COMPANIES}/{orbit.uuid}"))

    routed = str(contacts["leads"]["böhm"].uuid)
    assert person["lead_ids"] == [routed]
    assert company["lead_ids"] == [routed]
    # Arndt works at Orbit too, but none of his leads is the partner's.
    assert company["person_ids"] == [str(boehm.uuid)]


def test_persons_and_companies_of_other_partners_are_404_for_a_partner(contacts, partners):
    client = partners["client"]

    assert_404(client.get(f"{PERSONS}/{contacts['people']['claasen'].uuid}"), "person not found")
    assert_404(client.get(f"{PERSONS}/{contacts['people']['arndt'].uuid}"), "person not found")
    assert_404(client.get(f"{COMPANIES}/{contacts['quelle'].uuid}"), "company not found")
    assert_404(client.get(f"{COMPANIES}/{contacts['zeta'].uuid}"), "company not found")


def test_a_sales_rep_sees_only_contacts_of_their_own_or_team_pool_leads(contacts):
    south, north = TeamFactory(name="Süd"), TeamFactory(name="Nord")
    rep = UserFactory(username="rep_s", roles=[Role.SALES_REP], team=south)
    leads = contacts["leads"]
    leads["arndt"].owner = rep
    leads["arndt"].save(update_fields=["owner"])
    leads["claasen"].team = south
    leads["claasen"].save(update_fields=["team"])
    leads["dietz"].team = north
    leads["dietz"].save(update_fields=["team"])
    client = token_client(rep)

    assert last_names(client.get(PERSONS)) == ["Arndt", "Claasen"]
    assert company_names(client.get(COMPANIES)) == ["Orbit", "Quelle"]
    assert_404(client.get(f"{PERSONS}/{contacts['people']['dietz'].uuid}"), "person not found")


# --- query counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PERSONS, COMPANIES])
def test_contact_lists_need_the_same_few_queries_for_any_page_size(
    api, channel, path, django_assert_max_num_queries
):
    for i in range(30):
        company = CompanyFactory(name=f"Firma {i:02}")
        p = person(f"Name{i:02}", f"p{i}@firma{i}.de", company)
        LeadFactory(person=p, company=company, channel=channel)
    api.get(path)  # the token's first use records last_used_at once

    counts = []
    for size in (2, 30):
        with CaptureQueriesContext(connection) as ctx:
            data = ok(api.get(path, {"page_size": size}))
        assert len(data["results"]) == size
        counts.append(len(ctx.captured_queries))

    assert counts[0] == counts[1]
    # token + user, the user's roles, the count, the page.
    with django_assert_max_num_queries(4):
        api.get(path, {"page_size": 100})
