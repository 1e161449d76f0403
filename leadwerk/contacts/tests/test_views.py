"""Person and company pages and lists, and how every page renders what users typed in:
escaped when it is markup, verbatim when it is any other text."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from leadwerk.accounts.choices import Role
from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity
from leadwerk.leads.choices import LeadSource, Stage
from leadwerk.leads.intake import LeadIn
from leadwerk.leads.services import lead_intake
from leadwerk.tests_support.factories import (
    CompanyFactory,
    LeadFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PERSONS = "/persons/"
COMPANIES = "/companies/"


def browser(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def names_in(response) -> list[str]:
    return re.findall(r'class="strong"><bdi>([^<]*)</bdi>', response.content.decode())


# --- person and company pages ------------------------------------------------------------


def test_the_person_page_lists_all_leads_of_the_person_and_the_timeline(admin_user, channel):
    person = PersonFactory(
        salutation="mr", first_name="Jörg", last_name="Groß", email="joerg@gross.de"
    )
    leads = [
        LeadFactory(person=person, channel=channel, stage=stage, product_interest=interest)
        for stage, interest in ((Stage.NEW, "ERP"), (Stage.WON, "CRM"), (Stage.LOST, "BI"))
    ]
    LeadFactory(channel=channel, product_interest="Someone else's")
    Activity.objects.create(
        person=person, lead=leads[1], type=ActivityType.MEETING, subject="Vor-Ort-Termin",
        occurred_at=leads[1].created_at,
    )  # fmt: skip

    response = browser(admin_user).get(person.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert "Jörg Groß" in html and "joerg@gross.de" in html
    for lead in leads:
        assert lead.get_absolute_url() in html
    for text in ("ERP", "CRM", "BI", "Vor-Ort-Termin"):
        assert text in html
    assert "Someone else&#x27;s" not in html


def test_the_company_page_lists_its_persons_and_all_their_leads(admin_user, channel):
    company = CompanyFactory(name="Müller Maschinen", legal_form="GmbH", city="Köln")
    anna = PersonFactory(first_name="Anna", last_name="Arndt", company=company)
    ben = PersonFactory(first_name="Ben", last_name="Böhm", company=company)
    leads = [
        LeadFactory(person=anna, channel=channel),
        LeadFactory(person=anna, channel=channel),
        LeadFactory(person=ben, channel=channel),
    ]
    LeadFactory(channel=channel)  # another company

    html = browser(admin_user).get(company.get_absolute_url()).content.decode()

    assert "Müller Maschinen GmbH" in html and "Köln" in html
    assert anna.get_absolute_url() in html and ben.get_absolute_url() in html
    assert [lead.get_absolute_url() in html for lead in leads] == [True, True, True]
    assert html.count('<span class="badge stage-') == 3


def test_person_and_company_pages_of_a_person_the_user_may_not_see_are_404(rep, channel):
    hidden = LeadFactory(channel=channel, team=TeamFactory(name="Vertrieb Nord"))
    client = browser(rep)
    assert client.get(hidden.person.get_absolute_url()).status_code == 404
    assert client.get(hidden.company.get_absolute_url()).status_code == 404


def test_a_rep_sees_only_own_leads_on_a_shared_company_page(rep, channel):
    company = CompanyFactory(name="Geteilt AG")
    mine = LeadFactory(channel=channel, owner=rep, person=PersonFactory(company=company))
    other = LeadFactory(
        channel=channel, owner=UserFactory(roles=[Role.SALES_REP]),
        person=PersonFactory(company=company),
    )  # fmt: skip

    html = browser(rep).get(company.get_absolute_url()).content.decode()

    assert mine.get_absolute_url() in html
    assert other.get_absolute_url() not in html
    assert other.person.get_absolute_url() not in html


def test_detail_pages_query_counts_are_pinned(admin_user, channel, django_assert_max_num_queries):
    company = CompanyFactory()
    people = PersonFactory.create_batch(5, company=company)
    for person in people:
        for _ in range(4):
            lead = LeadFactory(person=person, channel=channel)
            Activity.objects.create(
                person=person, lead=lead, type=ActivityType.NOTE, occurred_at=lead.created_at
            )
    client = browser(admin_user)
    client.get(company.get_absolute_url())
    # session, user, roles, person, leads, timeline, consent states, consent texts,
    # erasure check
    with django_assert_max_num_queries(9):
        client.get(people[0].get_absolute_url())
    # session, user, roles, company, persons, leads
    with django_assert_max_num_queries(6):
        client.get(company.get_absolute_url())


# --- lists ---------------------------------------------------------------------------------


def test_the_person_list_searches_name_email_and_company(admin_user, channel):
    PersonFactory(first_name="Änne", last_name="Kühn", email="aenne@kuehn.de")
    PersonFactory(
        first_name="Bodo", last_name="Berg", email="b@x.de", company=CompanyFactory(name="Kühnel")
    )
    PersonFactory(first_name="Carl", last_name="Cohn", email="c@y.de")
    client = browser(admin_user)

    assert names_in(client.get(PERSONS)) == ["Bodo Berg", "Carl Cohn", "Änne Kühn"]
    assert names_in(client.get(PERSONS, {"q": "Kühn"})) == ["Bodo Berg", "Änne Kühn"]
    assert names_in(client.get(PERSONS, {"q": "AENNE@KUEHN"})) == ["Änne Kühn"]
    assert names_in(client.get(PERSONS, {"q": "carl cohn"})) == ["Carl Cohn"]
    empty = client.get(PERSONS, {"q": "<niemand>"}).content.decode()
    assert "No persons match “&lt;niemand&gt;”." in empty


def test_the_person_list_paginates_and_keeps_the_search(admin_user):
    PersonFactory.create_batch(30, first_name="Sam")
    PersonFactory.create_batch(3, first_name="Other")
    client = browser(admin_user)

    first = client.get(PERSONS, {"q": "sam"})
    second = client.get(PERSONS, {"q": "sam", "page": 2})
    big = client.get(PERSONS, {"q": "sam", "per_page": 50})

    assert len(names_in(first)) == 25 and len(names_in(second)) == 5 and len(names_in(big)) == 30
    assert 'href="?q=sam&amp;page=2"' in first.content.decode()
    assert "26–30 of 30" in second.content.decode()


def test_the_person_list_answers_htmx_with_the_table_only(admin_user):
    PersonFactory(first_name="Hanna", last_name="Htmx")
    response = browser(admin_user).get(
        PERSONS, {"q": "hanna"}, headers={"HX-Request": "true", "HX-Target": "list-table"}
    )
    html = response.content.decode()
    assert "<html" not in html and "<table" in html
    assert names_in(response) == ["Hanna Htmx"]
    assert "HX-Request" in response["Vary"]


def test_a_rep_lists_only_persons_and_companies_of_visible_leads(rep, channel):
    mine = LeadFactory(channel=channel, owner=rep)
    hidden = LeadFactory(channel=channel, owner=UserFactory(roles=[Role.SALES_REP]))
    client = browser(rep)

    persons = client.get(PERSONS).content.decode()
    companies = client.get(COMPANIES).content.decode()

    assert mine.person.get_absolute_url() in persons
    assert hidden.person.get_absolute_url() not in persons
    assert mine.company.get_absolute_url() in companies
    assert hidden.company.get_absolute_url() not in companies


def test_the_company_list_searches_and_paginates(admin_user):
    CompanyFactory(name="Zahnrad Werke", city="Jena")
    for i in range(27):
        CompanyFactory(name=f"Alpha {i:02d}")
    client = browser(admin_user)

    assert names_in(client.get(COMPANIES, {"q": "jena"})) == ["Zahnrad Werke"]
    first = client.get(COMPANIES)
    assert len(names_in(first)) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert names_in(client.get(COMPANIES, {"page": 2})) == ["Alpha 25", "Alpha 26", "Zahnrad Werke"]
    partial = client.get(COMPANIES, headers={"HX-Request": "true", "HX-Target": "list-table"})
    assert "<html" not in partial.content.decode()
    # The name as people write it, legal form included, finds the company.
    CompanyFactory(name="Öztürk Logistik", legal_form="GmbH & Co. KG")
    found = client.get(COMPANIES, {"q": "öztürk gmbh"})
    assert names_in(found) == ["Öztürk Logistik GmbH &amp; Co. KG"]


def test_list_query_counts_are_pinned_and_do_not_grow(
    admin_user, channel, django_assert_max_num_queries
):
    for _ in range(60):
        LeadFactory(channel=channel)
    client = browser(admin_user)
    client.get(PERSONS)
    # session, user, roles, count, page
    for per_page in (25, 50):
        with django_assert_max_num_queries(5):
            client.get(PERSONS, {"per_page": per_page})
        with django_assert_max_num_queries(5):
            client.get(COMPANIES, {"per_page": per_page})


# --- escaping and Unicode on every page that shows people -----------------------------------

HOSTILE_FIRST = "<script>alert(1)</script>"
HOSTILE_LAST = "<b>Kai</b>"
HOSTILE_COMPANY = 'Böse & <img src=x onerror="alert(2)"> GmbH'


@pytest.fixture
def hostile_lead(admin_user, channel):
    data = LeadIn.model_validate(
        {
            "person": {
                "first_name": HOSTILE_FIRST,
                "last_name": HOSTILE_LAST,
                "email": "kai@example.de",
                "job_title": "<i>Chef</i>",
            },
            "company": {"name": HOSTILE_COMPANY},
            "channel": "website",
            "product_interest": "<u>ERP</u>",
            "message": "</textarea><script>alert(3)</script>",
        }
    )
    return lead_intake(data=data, source=LeadSource.API, actor=admin_user).lead


def _pages(lead) -> dict[str, str]:
    return {
        "inbox": "/leads/",
        "detail": lead.get_absolute_url(),
        "person": lead.person.get_absolute_url(),
        "company": lead.company.get_absolute_url(),
        "persons": PERSONS,
        "companies": COMPANIES,
    }


@pytest.mark.parametrize("page", ["inbox", "detail", "person", "company", "persons", "companies"])
def test_markup_in_names_is_shown_as_text(admin_user, hostile_lead, page):
    html = browser(admin_user).get(_pages(hostile_lead)[page]).content.decode()

    for raw in (HOSTILE_FIRST, HOSTILE_LAST, "<img src=x", "<script>alert(3)", "<u>ERP", "<i>"):
        assert raw not in html, raw
    shown = {
        "inbox": ["&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;Kai&lt;/b&gt;"],
        "detail": ["&lt;b&gt;Kai&lt;/b&gt;", "&lt;/textarea&gt;&lt;script&gt;alert(3)"],
        "person": ["&lt;b&gt;Kai&lt;/b&gt;", "&lt;i&gt;Chef&lt;/i&gt;"],
        "company": ["&lt;b&gt;Kai&lt;/b&gt;", "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"],
        "persons": ["&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;Kai&lt;/b&gt;"],
        "companies": ["Böse &amp; &lt;img src=x onerror=&quot;alert(2)&quot;&gt; GmbH"],
    }[page]
    for text in shown:
        assert text in html, text


UNICODE_NAMES = [
    ("Jürgen", "Weißmüller", "Straßenbau Öztürk & Söhne"),
    ("Zoë 😀", "Łukasiewicz-Ñúñez", "Café Ünal 🚀 GmbH"),
    ("דוד", "בן־גוריון", "חברה בע״מ"),
]


@pytest.mark.parametrize(("first", "last", "company_name"), UNICODE_NAMES)
def test_unicode_renders_verbatim_on_every_page(admin_user, channel, first, last, company_name):
    data = LeadIn.model_validate(
        {
            "person": {"first_name": first, "last_name": last, "email": "u@example.de"},
            "company": {"name": company_name},
            "channel": "website",
        }
    )
    lead = lead_intake(data=data, source=LeadSource.API, actor=admin_user).lead
    client = browser(admin_user)

    for page, path in _pages(lead).items():
        html = client.get(path).content.decode()
        if page != "companies":
            assert f"{first} {last}" in html, page
        assert company_name.replace("&", "&amp;") in html, page


def test_right_to_left_names_are_isolated_from_the_surrounding_text(admin_user, channel):
    lead = LeadFactory(person=PersonFactory(first_name="דוד", last_name="כהן"), channel=channel)
    html = browser(admin_user).get("/leads/").content.decode()
    assert "<bdi>דוד כהן</bdi>" in html
    assert lead.get_absolute_url() in html


def test_email_check_escapes_the_person_it_found(admin_user):
    PersonFactory(first_name=HOSTILE_FIRST, last_name="X", email="hostile@example.de")
    html = (
        browser(admin_user)
        .get(reverse("contacts:email_check"), {"email": "HOSTILE@example.de"})
        .content.decode()
    )
    assert HOSTILE_FIRST not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; X" in html
