"""Access control has one door: for every role, every page and endpoint shows exactly the
leads, persons and companies the role may see; others answer 404 (also for guessed ids),
lists, filters, search and exports never leak them, and writes to them fail."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from leadwerk.activities.models import Activity
from leadwerk.consent.models import ConsentRecord
from leadwerk.leads.choices import Stage
from leadwerk.leads.services import lead_log_activity
from leadwerk.tests_support.world import VISIBLE, build_world

pytestmark = pytest.mark.django_db

USERS = sorted(VISIBLE)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    return build_world()


def _persons_visible(world, name) -> set[str]:
    return {str(world.leads[k].person.uuid) for k in VISIBLE[name]}


def _companies_visible(world, name) -> set[str]:
    return {str(world.leads[k].company.uuid) for k in VISIBLE[name]}


@pytest.mark.parametrize("name", USERS)
def test_lead_pages_and_api_answer_404_for_leads_the_role_may_not_see(world, name):
    ui, api = world.client(name), world.api(name)
    for key, lead in world.leads.items():
        expected = 200 if key in VISIBLE[name] else 404
        assert ui.get(f"/leads/{lead.uuid}/").status_code == expected, (name, key)
        assert api.get(f"/api/v1/leads/{lead.uuid}").status_code == expected, (name, key)
    guessed = uuid.uuid4()
    assert ui.get(f"/leads/{guessed}/").status_code == 404
    assert api.get(f"/api/v1/leads/{guessed}").status_code == 404


@pytest.mark.parametrize("name", USERS)
def test_person_and_company_pages_and_api_follow_the_visible_leads(world, name):
    ui, api = world.client(name), world.api(name)
    persons, companies = _persons_visible(world, name), _companies_visible(world, name)
    for lead in world.leads.values():
        p, c = str(lead.person.uuid), str(lead.company.uuid)
        assert ui.get(f"/persons/{p}/").status_code == (200 if p in persons else 404)
        assert api.get(f"/api/v1/persons/{p}").status_code == (200 if p in persons else 404)
        assert ui.get(f"/companies/{c}/").status_code == (200 if c in companies else 404)
        assert api.get(f"/api/v1/companies/{c}").status_code == (200 if c in companies else 404)
        consents = api.get(f"/api/v1/persons/{p}/consents")
        assert consents.status_code == (200 if p in persons else 404)
    for path in ("/persons/{}/", "/companies/{}/"):
        assert ui.get(path.format(uuid.uuid4())).status_code == 404
    for path in ("/api/v1/persons/{}", "/api/v1/companies/{}", "/api/v1/persons/{}/consents"):
        assert api.get(path.format(uuid.uuid4())).status_code == 404


@pytest.mark.parametrize("name", USERS)
def test_lists_and_search_show_only_visible_records(world, name):
    api = world.api(name)
    leads = api.get("/api/v1/leads", {"page_size": 100}).json()["results"]
    assert {r["id"] for r in leads} == {str(world.leads[k].uuid) for k in VISIBLE[name]}
    persons = api.get("/api/v1/persons", {"page_size": 100}).json()["results"]
    assert {r["id"] for r in persons} == _persons_visible(world, name)
    companies = api.get("/api/v1/companies", {"page_size": 100}).json()["results"]
    assert {r["id"] for r in companies} == _companies_visible(world, name)
    ui = world.client(name)
    inbox = ui.get("/leads/", {"per_page": 100}).content.decode()
    for key, lead in world.leads.items():
        # Names are unique per lead key except p1/p1_other, which share a person.
        shown = lead.person.last_name in inbox
        assert shown == any(world.leads[k].person_id == lead.person_id for k in VISIBLE[name]), (
            name,
            key,
        )
        hits = api.get("/api/v1/leads", {"q": lead.person.last_name}).json()["count"]
        expected = sum(1 for k in VISIBLE[name] if world.leads[k].person_id == lead.person_id)
        assert hits == expected, (name, key)
        found = ui.get("/persons/check-email/", {"email": lead.person.email}).content.decode()
        assert (lead.person.last_name in found) == (
            str(lead.person.uuid) in _persons_visible(world, name)
        )


@pytest.mark.parametrize("name", USERS)
def test_list_filters_cannot_reach_other_owners_leads(world, name):
    api = world.api(name)
    for owner in ("rep1", "rep2"):
        owner_uuid = str(world.users[owner].uuid)
        got = {r["id"] for r in api.get("/api/v1/leads", {"owner": owner_uuid}).json()["results"]}
        expected = {
            str(world.leads[k].uuid)
            for k in VISIBLE[name]
            if world.leads[k].owner_id == world.users[owner].id
        }
        assert got == expected


@pytest.mark.parametrize("name", USERS)
def test_lead_export_contains_exactly_the_visible_leads(world, name):
    response = world.client(name).get("/export/leads.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["lead_id"] for r in rows} == {str(world.leads[k].uuid) for k in VISIBLE[name]}


@pytest.mark.parametrize("name", ["partner1", "rep2", "rep1b", "auditor"])
def test_writes_to_invisible_leads_and_persons_fail_and_change_nothing(world, name):
    ui, api = world.client(name), world.api(name)
    for key, lead in world.leads.items():
        if key in VISIBLE[name]:
            continue
        before = (lead.stage, lead.owner_id, Activity.objects.filter(lead=lead).count())
        assert ui.post(f"/leads/{lead.uuid}/transition/", {"to": "mql"}).status_code == 404
        assert (
            ui.post(f"/leads/{lead.uuid}/log/", {"type": "note", "subject": "x"}).status_code == 404
        )
        assert ui.post(f"/leads/{lead.uuid}/assign/", {"owner": ""}).status_code == 404
        r = api.post(
            f"/api/v1/leads/{lead.uuid}/transition", {"to": "mql"}, content_type="application/json"
        )
        assert r.status_code == 404
        r = api.patch(
            f"/api/v1/leads/{lead.uuid}", {"message": "hacked"}, content_type="application/json"
        )
        assert r.status_code == 404
        lead.refresh_from_db()
        assert (lead.stage, lead.owner_id, Activity.objects.filter(lead=lead).count()) == before
        assert lead.message != "hacked"
        person = lead.person
        if str(person.uuid) in _persons_visible(world, name):
            continue
        body = {"purpose": "newsletter", "channel": "email"}
        assert ui.post(f"/persons/{person.uuid}/consent/withdraw/", body).status_code == 404
        r = api.post(
            f"/api/v1/persons/{person.uuid}/consents",
            {**body, "state": "withdrawn"},
            content_type="application/json",
        )
        assert r.status_code == 404
        assert (
            ui.post(
                f"/persons/{person.uuid}/plan-call/", {"purpose": "product_marketing", "note": "x"}
            ).status_code
            == 404
        )
        assert not ConsentRecord.objects.filter(person=person).exists()


def test_partner_can_work_its_own_lead(world):
    ui = world.client("partner1")
    lead = world.leads["p1"]
    response = ui.post(f"/leads/{lead.uuid}/transition/", {"to": Stage.MQL})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_partner_cannot_create_leads_through_the_api_either(world):
    body = {"person": {"email": "neu@example.de"}, "channel": "website"}
    response = world.api("partner1").post("/api/v1/leads", body, content_type="application/json")
    assert response.status_code == 403
    assert "partners" in response.json()["detail"]
    assert world.client("partner1").get("/leads/new/").status_code == 403


def test_partner_sees_company_without_internal_fields(world):
    company = world.leads["p1"].company
    data = world.api("partner1").get(f"/api/v1/companies/{company.uuid}").json()
    assert (data["vat_id"], data["employees"], data["name"]) == ("", None, company.name)
    lead = world.api("partner1").get(f"/api/v1/leads/{world.leads['p1'].uuid}").json()
    assert (lead["company"]["vat_id"], lead["company"]["employees"]) == ("", None)
    page = world.client("partner1").get(f"/companies/{company.uuid}/").content.decode()
    assert "DE123456789" not in page
    full = world.api("marketing").get(f"/api/v1/companies/{company.uuid}").json()
    assert (full["vat_id"], full["employees"]) == ("DE123456789", 42)


def test_partner_does_not_see_the_persons_other_leads_or_their_timeline(world):
    person = world.leads["p1"].person
    page = world.client("partner1").get(f"/persons/{person.uuid}/").content.decode()
    assert "Anruf P2 geheim" not in page
    assert str(world.leads["p1_other"].uuid) not in page
    detail = world.api("partner1").get(f"/api/v1/persons/{person.uuid}").json()
    assert detail["lead_ids"] == [str(world.leads["p1"].uuid)]
    page2 = world.client("partner2").get(f"/persons/{person.uuid}/").content.decode()
    assert "Anruf P2 geheim" in page2


def test_restricted_note_is_hidden_from_marketing_and_other_reps(world):
    lead = world.leads["r1"]
    lead_log_activity(
        lead=lead,
        actor=world.users["rep1"],
        type="note",
        subject="Vertraulich: Budget 90k",
        restricted=True,
    )
    for name, sees in {
        "rep1": True,
        "manager1": True,
        "admin": True,
        "marketing": False,
        "inside": False,
    }.items():
        page = world.client(name).get(f"/leads/{lead.uuid}/").content.decode()
        assert ("Vertraulich: Budget 90k" in page) == sees, name
        api = world.api(name).get(f"/api/v1/leads/{lead.uuid}").json()
        subjects = [a["subject"] for a in api["timeline"]]
        assert ("Vertraulich: Budget 90k" in subjects) == sees, name
        person_page = world.client(name).get(f"/persons/{lead.person.uuid}/").content.decode()
        assert ("Vertraulich: Budget 90k" in person_page) == sees, name


def test_restricted_flag_is_set_from_the_lead_page_and_only_for_notes(world):
    ui = world.client("rep1")
    lead = world.leads["r1"]
    ui.post(f"/leads/{lead.uuid}/log/", {"type": "note", "subject": "Intern", "restricted": "on"})
    assert Activity.objects.get(lead=lead, subject="Intern").restricted is True
    response = ui.post(
        f"/leads/{lead.uuid}/log/",
        {"type": "call", "subject": "Anruf", "restricted": "on"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Only notes can be restricted" in response.content.decode()
    assert not Activity.objects.filter(lead=lead, subject="Anruf").exists()


@pytest.mark.parametrize("name", USERS)
def test_staff_pages_are_gated_by_role(world, name):
    from leadwerk.leads.models import WebForm

    form = WebForm.objects.create(name="Kontakt", channel=world.leads["p1"].channel)
    ui = world.client(name)
    manages_forms = name in ("admin", "marketing")
    for path in ("/forms/", "/forms/new/", f"/forms/{form.uuid}/", "/consent/texts/"):
        assert ui.get(path).status_code == (200 if manages_forms else 403), (name, path)
    changed = ui.post(f"/forms/{form.uuid}/", {"name": "Gekapert", "channel": "website"})
    form.refresh_from_db()
    assert (form.name == "Gekapert") == (changed.status_code == 302)
    if not manages_forms:
        assert changed.status_code == 403
    audits = name in ("admin", "auditor")
    assert ui.get("/audit/").status_code == (200 if audits else 403)
    assert ui.get("/privacy/retention/").status_code == (200 if name == "admin" else 403)
    enters = name not in ("partner1", "partner2")
    assert ui.get("/leads/new/").status_code == (200 if enters else 403)


def test_person_page_and_call_list_query_counts_are_pinned(world, django_assert_max_num_queries):
    from leadwerk.messaging.services import message_send
    from leadwerk.tests_support.consent import grant

    rep = world.users["rep1"]
    for key in ("r1", "pool1"):
        person = world.leads[key].person
        person.phone = "+49891234567"
        person.save()
        grant(person, purpose="product_marketing", channel="phone")
        for _ in range(5):
            message_send(
                purpose="product_marketing",
                channel="phone",
                person=person,
                subject="Anruf",
                body="Demo",
                assignee=rep,
            )
    ui = world.client("rep1")
    with django_assert_max_num_queries(4):
        assert ui.get("/calls/").status_code == 200
    with django_assert_max_num_queries(10):
        assert ui.get(f"/persons/{world.leads['r1'].person.uuid}/").status_code == 200


def test_partner_sees_consent_state_but_not_the_persons_addresses(world):
    from leadwerk.consent.choices import ConsentSource
    from leadwerk.consent.services import consent_record
    from leadwerk.tests_support.consent import publish_text

    person = world.leads["p1"].person
    consent_record(
        person=person,
        purpose="newsletter",
        channel="email",
        state="granted",
        legal_basis="consent",
        source=ConsentSource.DOUBLE_OPT_IN,
        text=publish_text(),
        ip="198.51.100.23",
        user_agent="PrivateBrowser/1",
    )
    history = world.api("partner1").get(f"/api/v1/persons/{person.uuid}/consents").json()
    assert history["history"][0]["state"] == "granted"
    assert (history["history"][0]["ip"], history["history"][0]["user_agent"]) == (None, "")
    assert (
        "198.51.100.23"
        not in world.client("partner1").get(f"/persons/{person.uuid}/").content.decode()
    )
    full = world.api("admin").get(f"/api/v1/persons/{person.uuid}/consents").json()
    assert full["history"][0]["ip"] == "198.51.100.23"
    assert "198.51.100.23" in world.client("admin").get(f"/persons/{person.uuid}/").content.decode()
