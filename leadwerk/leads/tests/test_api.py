"""The leads API over /api/v1: intake, list, detail, edit and stage transitions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leadwerk.accounts.choices import Role, TokenScope
from leadwerk.accounts.services import api_token_create
from leadwerk.activities.models import Activity
from leadwerk.contacts.models import Company, Person
from leadwerk.leads.choices import TRANSITIONS, Stage
from leadwerk.leads.models import IdempotencyKey, Lead, StageChange
from leadwerk.leads.schemas import MessageOut, ValidationErrorOut
from leadwerk.tests_support.factories import (
    CampaignFactory,
    ChannelFactory,
    CompanyFactory,
    LeadFactory,
    PartnerCompanyFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LEADS = "/api/v1/leads"


# --- helpers -------------------------------------------------------------------------------


def token_client(user, scope=TokenScope.WRITE):
    _token, raw = api_token_create(user=user, name="test", scope=scope)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def lead_body(**overrides) -> dict:
    """A complete, valid intake body."""
    body = {
        "person": {
            "first_name": "Erika",
            "last_name": "Mustermann",
            "email": "erika.mustermann@beispiel.de",
            "phone": "+49 89 12345678",
            "job_title": "Leiterin Einkauf",
            "language": "de",
        },
        "company": {
            "name": "Beispiel GmbH",
            "website": "https://www.beispiel.de/kontakt",
            "industry": "Maschinenbau",
            "employees": 120,
            "country": "DE",
            "postal_code": "80331",
            "vat_id": "DE136695976",
        },
        "channel": "website",
        "campaign": "whitepaper",
        "product_interest": "Lead-Routing",
        "message": "Bitte rufen Sie mich an.",
        "external_id": "",
    }
    body.update(overrides)
    return body


def post(client, path: str, body, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data, content_type="application/json", headers=headers)


def patch(client, path: str, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Person, Company, Lead, Activity, StageChange, IdempotencyKey)
    }


def locs(response) -> list[list]:
    return [e["loc"] for e in response.json()["detail"]]


def error_for(response, loc: list) -> dict:
    for error in response.json()["detail"]:
        if error["loc"] == loc:
            return error
    raise AssertionError(f"no error at {loc}: {response.json()}")


def assert_validation_shape(response) -> None:
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert detail
    for error in detail:
        assert set(error) == {"loc", "msg", "type"}
        assert isinstance(error["loc"], list)
        assert error["msg"]
        assert not error["msg"].startswith("Value error")


def assert_message_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert isinstance(data["detail"], str)
    assert data["detail"]
    return data


@pytest.fixture
def existing(api, campaign):
    """A lead created through the API for a person who gave only their e-mail and name."""
    body = lead_body(
        person={"first_name": "Erika", "last_name": "Mustermann", "email": "erika@beispiel.de"},
        company={"name": "Beispiel GmbH"},
        external_id="crm-1",
    )
    response = post(api, LEADS, body)
    assert response.status_code == 201, response.content
    return Lead.objects.select_related("person", "company").get(uuid=response.json()["id"])


# --- POST /leads: the happy path ------------------------------------------------------------


def test_create_lead_answers_201_with_the_lead_person_company_channel_and_campaign(
    api, campaign, admin_user
):
    before = timezone.now()
    response = post(api, LEADS, lead_body())

    assert response.status_code == 201, response.content
    data = response.json()
    lead = Lead.objects.select_related("person", "company").get(uuid=data["id"])
    assert data["stage"] == "new"
    assert data["owner"] is None
    assert data["person"]["id"] == str(lead.person.uuid)
    assert data["person"]["email"] == "erika.mustermann@beispiel.de"
    assert data["person"]["first_name"] == "Erika"
    assert data["person"]["company_id"] == str(lead.company.uuid)
    assert data["company"]["id"] == str(lead.company.uuid)
    assert data["company"]["name"] == "Beispiel"
    assert data["company"]["legal_form"] == "GmbH"
    assert data["company"]["domain"] == "beispiel.de"
    assert data["company"]["employees"] == 120
    assert data["company"]["employee_band"] == "50-249"
    assert data["company"]["vat_id"] == "DE136695976"
    assert data["channel"] == "website"
    assert data["campaign"] == "whitepaper"
    assert data["source"] == "api"
    assert data["product_interest"] == "Lead-Routing"
    assert before <= parse_datetime(data["created_at"]) <= timezone.now()
    assert lead.stage == Stage.NEW
    assert lead.created_by == admin_user


def test_created_lead_has_the_api_intake_and_its_first_stage_on_the_timeline(
    api, campaign, admin_user
):
    lead_id = post(api, LEADS, lead_body()).json()["id"]

    detail = api.get(f"{LEADS}/{lead_id}").json()

    assert [a["type"] for a in detail["timeline"]] == ["api_intake"]
    intake = detail["timeline"][0]
    assert intake["actor"]["id"] == str(admin_user.uuid)
    assert intake["payload"]["channel"] == "website"
    assert intake["payload"]["campaign"] == "whitepaper"
    assert intake["payload"]["person_created"] is True
    assert [(c["from_stage"], c["to_stage"]) for c in detail["stage_changes"]] == [("", "new")]


def test_a_second_lead_with_the_same_email_in_other_case_and_whitespace_attaches_to_the_person(
    api, existing
):
    body = lead_body(
        person={"email": "  ERIKA@Beispiel.DE ", "phone": "089 1234567", "job_title": "CFO"},
        company=None,
        campaign="",
    )

    response = post(api, LEADS, body)

    assert response.status_code == 201, response.content
    assert response.json()["person"]["id"] == str(existing.person.uuid)
    assert Person.objects.count() == 1
    assert existing.person.leads.count() == 2
    person = Person.objects.get()
    # Gaps are filled from the new submission, nothing known is overwritten.
    assert (person.first_name, person.job_title) == ("Erika", "CFO")


def test_company_is_matched_by_the_domain_of_its_website(api, campaign):
    first = post(api, LEADS, lead_body()).json()
    second_body = lead_body(
        person={"last_name": "Schmidt", "email": "k.schmidt@beispiel.de"},
        company={"name": "Beispiel Maschinenbau AG", "website": "http://beispiel.de"},
    )

    second = post(api, LEADS, second_body).json()

    assert second["company"]["id"] == first["company"]["id"]
    assert Company.objects.count() == 1


@pytest.mark.parametrize(
    ("first_name", "second_name"),
    [
        ("Müller GmbH", "MUELLER GmbH"),
        ("Bäckerei Groß KG", "Baeckerei Gross"),
        ("Müller & Söhne GmbH & Co. KG", "Mueller und Soehne"),
        ("  Schulz   Logistik  AG ", "schulz logistik"),
    ],
)
def test_company_is_matched_by_its_normalised_name(api, channel, first_name, second_name):
    first = post(
        api,
        LEADS,
        lead_body(person={"email": "a@example.org"}, company={"name": first_name}, campaign=""),
    ).json()

    second = post(
        api,
        LEADS,
        lead_body(person={"email": "b@example.org"}, company={"name": second_name}, campaign=""),
    ).json()

    assert second["company"]["id"] == first["company"]["id"]
    assert Company.objects.count() == 1


def test_different_companies_with_the_same_name_in_different_countries_stay_apart(api, channel):
    at = post(
        api,
        LEADS,
        lead_body(
            person={"email": "a@example.org"},
            company={"name": "Müller GmbH", "country": "AT"},
            campaign="",
        ),
    ).json()
    de = post(
        api,
        LEADS,
        lead_body(
            person={"email": "b@example.org"},
            company={"name": "Müller GmbH", "country": "Deutschland"},
            campaign="",
        ),
    ).json()

    assert at["company"]["id"] != de["company"]["id"]
    assert (at["company"]["country"], de["company"]["country"]) == ("AT", "DE")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("DE 136 695 976", "DE136695976"),
        ("atu13585627", "ATU13585627"),
        ("EL094259216", "EL094259216"),
        # Outside the EU there is no check digit to test: kept as given.
        ("CHE-116.281.710 MWST", "CHE-116.281.710 MWST"),
        ("GB123456789", "GB123456789"),
    ],
)
def test_vat_ids_of_eu_countries_are_checked_and_others_kept(api, channel, given, stored):
    body = lead_body(company={"name": "Grenzgänger AG", "vat_id": given}, campaign="")

    response = post(api, LEADS, body)

    assert response.status_code == 201, response.content
    assert response.json()["company"]["vat_id"] == stored


# --- POST /leads: refusals -------------------------------------------------------------------


def test_unknown_channel_and_campaign_are_both_named(api, campaign):
    before = row_counts()

    response = post(api, LEADS, lead_body(channel="fax", campaign="sommer-2031"))

    assert_validation_shape(response)
    assert "'fax'" in error_for(response, ["body", "channel"])["msg"]
    assert "'sommer-2031'" in error_for(response, ["body", "campaign"])["msg"]
    assert row_counts() == before


def test_a_campaign_of_another_channel_is_refused(api, campaign, trade_fair):
    before = row_counts()

    response = post(api, LEADS, lead_body(channel="trade-fair", campaign="whitepaper"))

    assert_validation_shape(response)
    msg = error_for(response, ["body", "campaign"])["msg"]
    assert "website" in msg
    assert "trade-fair" in msg
    assert row_counts() == before


def test_an_inactive_channel_is_refused_like_an_unknown_one(api, campaign):
    ChannelFactory(slug="alt", name="Alt", is_active=False)

    response = post(api, LEADS, lead_body(channel="alt", campaign=""))

    assert_validation_shape(response)
    assert locs(response) == [["body", "channel"]]


def _set(path: str, value):
    """A change to the valid body: ``_set("person.email", "x")``."""

    def change(body: dict) -> dict:
        target = body
        *parents, last = path.split(".")
        for name in parents:
            target = target[name]
        target[last] = value
        return body

    return change


def _replace(name: str, value):
    def change(body: dict) -> dict:
        body[name] = value
        return body

    return change


BAD_FIELDS = [
    ("bad e-mail", _set("person.email", "erika@"), ["body", "person", "email"], "e-mail"),
    ("e-mail with space", _set("person.email", "eri ka@x.de"), ["body", "person", "email"], ""),
    (
        "person not reachable",
        _replace("person", {"first_name": "Erika", "last_name": "Mustermann"}),
        ["body", "person"],
        "e-mail address or a phone number",
    ),
    (
        "no e-mail and no last name",
        _replace("person", {"first_name": "Erika", "phone": "+49 89 1234567"}),
        ["body", "person"],
        "last name",
    ),
    ("phone without digits", _set("person.phone", "ruf an"), ["body", "person", "phone"], "digits"),
    ("unknown language", _set("person.language", "tlh"), ["body", "person", "language"], "tlh"),
    ("bad salutation", _set("person.salutation", "Exz."), ["body", "person", "salutation"], ""),
    ("unknown country", _set("company.country", "Atlantis"), ["body", "company", "country"], ""),
    (
        "German postal code with four digits",
        _set("company.postal_code", "8033"),
        ["body", "company", "postal_code"],
        "five digits",
    ),
    (
        "German postal code with letters",
        _set("company.postal_code", "D-80331"),
        ["body", "company", "postal_code"],
        "five digits",
    ),
    (
        "EU VAT id with a wrong check digit",
        _set("company.vat_id", "DE136695977"),
        ["body", "company", "vat_id"],
        "VAT",
    ),
    ("EU VAT id too short", _set("company.vat_id", "DE1234"), ["body", "company", "vat_id"], ""),
    (
        "negative employees",
        _set("company.employees", -5),
        ["body", "company", "employees"],
        "between 0",
    ),
    ("employees as boolean", _set("company.employees", True), ["body", "company", "employees"], ""),
    (
        "fractional employees",
        _set("company.employees", 12.5),
        ["body", "company", "employees"],
        "whole number",
    ),
    (
        "employees as a word",
        _set("company.employees", "viele"),
        ["body", "company", "employees"],
        "50-249",
    ),
    ("employees as a list", _set("company.employees", [5]), ["body", "company", "employees"], ""),
    ("unknown top-level field", _replace("stage", "won"), ["body", "stage"], "Extra inputs"),
    ("unknown person field", _set("person.fax", "089 1"), ["body", "person", "fax"], "Extra"),
    ("unknown company field", _set("company.ceo", "X"), ["body", "company", "ceo"], "Extra"),
    (
        "NUL byte",
        _set("person.last_name", "Muster\x00mann"),
        ["body", "person", "last_name"],
        "NUL",
    ),
    ("NUL byte in message", _replace("message", "a\x00b"), ["body", "message"], "NUL"),
    (
        "line break in a single-line field",
        _set("person.last_name", "Muster\nmann"),
        ["body", "person", "last_name"],
        "single line",
    ),
    (
        "too long first name",
        _set("person.first_name", "E" * 101),
        ["body", "person", "first_name"],
        "100",
    ),
    ("too long company name", _set("company.name", "F" * 201), ["body", "company", "name"], "200"),
    ("too long message", _replace("message", "m" * 10_001), ["body", "message"], "10000"),
    ("too long external id", _replace("external_id", "x" * 101), ["body", "external_id"], "100"),
    ("channel as number", _replace("channel", 5), ["body", "channel"], "string"),
    ("person as string", _replace("person", "Erika"), ["body", "person"], ""),
    ("company as list", _replace("company", ["Beispiel"]), ["body", "company"], ""),
    ("e-mail as number", _set("person.email", 42), ["body", "person", "email"], "string"),
    ("company name as object", _set("company.name", {"de": "X"}), ["body", "company", "name"], ""),
    (
        "missing channel",
        lambda b: {k: v for k, v in b.items() if k != "channel"},
        ["body", "channel"],
        "required",
    ),
    (
        "missing person",
        lambda b: {k: v for k, v in b.items() if k != "person"},
        ["body", "person"],
        "required",
    ),
    ("empty company name", _set("company.name", "  "), ["body", "company", "name"], ""),
    ("empty channel", _replace("channel", ""), ["body", "channel"], ""),
]


@pytest.mark.parametrize(
    ("change", "loc", "fragment"),
    [case[1:] for case in BAD_FIELDS],
    ids=[case[0] for case in BAD_FIELDS],
)
def test_each_kind_of_bad_field_is_refused_with_422_naming_it_and_nothing_is_written(
    api, existing, change, loc, fragment
):
    before = row_counts()
    person_before = Person.objects.values().get(pk=existing.person.pk)
    # The same person again: had it got through, it would have filled the person's gaps.
    body = change(lead_body(person={**lead_body()["person"], "email": "erika@beispiel.de"}))

    response = post(api, LEADS, body)

    assert_validation_shape(response)
    error = error_for(response, loc)
    assert fragment.casefold() in error["msg"].casefold()
    assert row_counts() == before
    assert Person.objects.values().get(pk=existing.person.pk) == person_before


def test_every_wrong_field_is_named_in_one_answer(api, campaign):
    body = lead_body()
    body["person"]["email"] = "nicht-gültig"
    body["company"]["country"] = "Mordor"
    body["company"]["employees"] = -1
    body["message"] = "a\x00"

    response = post(api, LEADS, body)

    assert_validation_shape(response)
    assert sorted(locs(response)) == sorted(
        [
            ["body", "person", "email"],
            ["body", "company", "country"],
            ["body", "company", "employees"],
            ["body", "message"],
        ]
    )


@pytest.mark.parametrize("raw", ["[]", '[{"channel": "website"}]', "42", '"lead"', "null"])
def test_a_body_that_is_not_a_json_object_is_refused_with_422(api, campaign, raw):
    before = row_counts()

    response = post(api, LEADS, raw)

    assert_validation_shape(response)
    assert locs(response) == [["body"]]
    assert row_counts() == before


@pytest.mark.parametrize(
    "raw", ['{"person": {"email": "a@b.de"', "{'channel': 'website'}", "channel=website", "\x00"]
)
def test_malformed_json_is_refused_with_400(api, campaign, raw):
    before = row_counts()

    response = post(api, LEADS, raw)

    data = assert_message_shape(response, 400)
    assert "parse" in data["detail"]
    assert row_counts() == before


def test_an_empty_body_is_refused_with_422_naming_the_body(api, campaign):
    response = post(api, LEADS, "")

    assert_validation_shape(response)
    assert locs(response) == [["body"]]


def test_a_body_over_64_kb_is_refused_with_413_and_nothing_is_written(api, campaign):
    before = row_counts()
    body = json.dumps(lead_body(message="ü" * 40_000))  # 80,000 bytes of UTF-8
    assert len(body.encode()) > 64 * 1024

    response = post(api, LEADS, body)

    data = assert_message_shape(response, 413)
    assert "65536" in data["detail"]
    assert row_counts() == before


def test_a_body_just_under_64_kb_is_read_and_validated(api, campaign):
    body = lead_body(message="m" * 10_000, product_interest="p" * 200)
    raw = json.dumps(body) + " " * (64 * 1024 - len(json.dumps(body)))
    assert len(raw.encode()) == 64 * 1024

    response = post(api, LEADS, raw)

    assert response.status_code == 201, response.content


def test_a_duplicate_external_id_in_the_same_channel_is_a_409_naming_the_existing_lead(
    api, existing, trade_fair
):
    before = row_counts()

    response = post(api, LEADS, lead_body(external_id="crm-1"))

    data = assert_message_shape(response, 409)
    assert data["code"] == "duplicate_external_id"
    assert data["lead_id"] == str(existing.uuid)
    assert "crm-1" in data["detail"]
    assert row_counts() == before
    # The same external id in another channel is another system's id: accepted.
    other = post(api, LEADS, lead_body(external_id="crm-1", channel="trade-fair", campaign=""))
    assert other.status_code == 201, other.content


# --- Idempotency-Key -------------------------------------------------------------------------


def test_the_same_idempotency_key_with_the_same_body_returns_the_first_lead(api, campaign):
    first = post(api, LEADS, lead_body(), **{"Idempotency-Key": "req-1"})
    after_first = row_counts()

    retry = post(api, LEADS, lead_body(), **{"Idempotency-Key": "req-1"})

    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["person"]["id"] == first.json()["person"]["id"]
    assert row_counts() == after_first
    assert after_first["Lead"] == 1
    assert after_first["Activity"] == 1


def test_the_same_idempotency_key_with_another_body_is_a_409(api, campaign):
    post(api, LEADS, lead_body(), **{"Idempotency-Key": "req-1"})
    before = row_counts()

    response = post(
        api, LEADS, lead_body(message="Ganz andere Anfrage"), **{"Idempotency-Key": "req-1"}
    )

    data = assert_message_shape(response, 409)
    assert data["code"] == "idempotency_mismatch"
    assert "Idempotency-Key" in data["detail"]
    assert row_counts() == before


def test_idempotency_keys_belong_to_one_user(api, campaign, marketing_user):
    first = post(api, LEADS, lead_body(), **{"Idempotency-Key": "req-1"})
    other_user = token_client(marketing_user)

    response = post(
        other_user,
        LEADS,
        lead_body(person={"email": "max@beispiel.de"}),
        **{"Idempotency-Key": "req-1"},
    )

    assert response.status_code == 201, response.content
    assert response.json()["id"] != first.json()["id"]
    assert Lead.objects.count() == 2


def test_a_refused_request_does_not_use_up_its_idempotency_key(api, campaign):
    bad = post(api, LEADS, lead_body(channel="fax"), **{"Idempotency-Key": "req-7"})
    assert bad.status_code == 422

    good = post(api, LEADS, lead_body(), **{"Idempotency-Key": "req-7"})

    assert good.status_code == 201, good.content
    assert IdempotencyKey.objects.get().lead.uuid.hex == good.json()["id"].replace("-", "")


def test_without_idempotency_key_a_repeated_body_creates_a_second_lead_for_the_same_person(
    api, campaign
):
    first = post(api, LEADS, lead_body()).json()
    second = post(api, LEADS, lead_body()).json()

    assert first["id"] != second["id"]
    assert first["person"]["id"] == second["person"]["id"]


def test_an_idempotency_key_over_255_characters_is_refused(api, campaign):
    response = post(api, LEADS, lead_body(), **{"Idempotency-Key": "k" * 256})

    assert_validation_shape(response)
    assert locs(response)[0][0] == "header"
    assert Lead.objects.count() == 0


# --- GET /leads --------------------------------------------------------------------------------


@pytest.fixture
def world(admin_user, channel, trade_fair):
    """Five leads with distinct stages, owners, channels, campaigns, names and dates."""
    ChannelFactory(slug="partner", name="Partner", kind="partner", rank=2)
    fair = CampaignFactory(slug="messe-2025", name="Messe 2025", channel=trade_fair)
    webinar = CampaignFactory(slug="webinar", name="Webinar", channel=channel)
    team = TeamFactory(name="Nord")
    anna = UserFactory(username="anna", first_name="Anna", last_name="Albers", team=team)
    ben = UserFactory(username="ben", first_name="Ben", last_name="Zander", team=team)
    t0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def make(name, company, email, stage, owner, chan, camp, days, interest=""):
        person = PersonFactory(
            last_name=name,
            first_name="Vorname",
            email=email,
            email_normalized=email.casefold(),
            company=CompanyFactory(name=company) if company else None,
        )
        return LeadFactory(
            person=person,
            company=person.company,
            stage=stage,
            owner=owner,
            channel=chan,
            campaign=camp,
            created_at=t0 + timedelta(days=days),
            product_interest=interest,
        )

    leads = {
        "ahrens": make(
            "Ahrens", "Quelle AG", "ahrens@quelle.de", Stage.NEW, None, channel, None, 0
        ),
        "böhm": make(
            "Böhm", "Orbit GmbH", "Boehm@Orbit.de", Stage.MQL, anna, channel, webinar, 1, "CRM"
        ),
        "claasen": make("Claasen", None, "c@claasen.de", Stage.SQL, ben, trade_fair, fair, 2),
        "dietz": make("Dietz", "Alpha KG", "dietz@alpha.de", Stage.WON, anna, trade_fair, fair, 3),
        "engel": make("Engel", "Zeta SE", "engel@zeta.de", Stage.NEW, admin_user, channel, None, 4),
    }
    # updated_at in reverse creation order, so "updated" differs from "created".
    for i, lead in enumerate(reversed(list(leads.values()))):
        Lead.objects.filter(pk=lead.pk).update(updated_at=t0 + timedelta(days=10 + i))
    return {"leads": leads, "anna": anna, "ben": ben, "t0": t0}


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["person"]["last_name"] for r in response.json()["results"]]


def test_list_answers_every_visible_lead_newest_first_with_the_total(api, world):
    response = api.get(LEADS)

    assert names(response) == ["Engel", "Dietz", "Claasen", "Böhm", "Ahrens"]
    data = response.json()
    assert (data["count"], data["page"], data["page_size"]) == (5, 1, 25)
    first = data["results"][0]
    assert first["owner"]["name"] == str(world["leads"]["engel"].owner)
    assert first["channel"] == "website"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=new", ["Engel", "Ahrens"]),
        ("stage=mql&stage=won", ["Dietz", "Böhm"]),
        ("stage=opportunity", []),
        ("owner=none", ["Ahrens"]),
        ("owner=me", ["Engel"]),
        ("channel=trade-fair", ["Dietz", "Claasen"]),
        ("channel=partner", []),
        ("channel=gibt-es-nicht", []),
        ("campaign=messe-2025", ["Dietz", "Claasen"]),
        ("campaign=webinar", ["Böhm"]),
        ("channel=website&stage=new", ["Engel", "Ahrens"]),
        ("q=claasen", ["Claasen"]),
        ("q=BOEHM%40orbit.DE", ["Böhm"]),
        ("q=orbit", ["Böhm"]),
        ("q=Alpha", ["Dietz"]),
        ("q=crm", ["Böhm"]),
        ("q=Vorname Engel", ["Engel"]),
        ("q=Vorname Niemand", []),
    ],
)
def test_list_filters(api, world, query, expected):
    assert names(api.get(f"{LEADS}?{query}")) == expected


def test_list_filters_by_owner_id(api, world):
    response = api.get(f"{LEADS}?owner={world['anna'].uuid}")

    assert names(response) == ["Dietz", "Böhm"]


def test_list_filters_by_creation_range_from_inclusive_to_exclusive(api, world):
    t0 = world["t0"]
    start = (t0 + timedelta(days=1)).isoformat()
    end = (t0 + timedelta(days=3)).isoformat()

    response = api.get(LEADS, {"created_from": start, "created_to": end})

    assert names(response) == ["Claasen", "Böhm"]
    assert names(api.get(LEADS, {"created_from": start})) == ["Engel", "Dietz", "Claasen", "Böhm"]
    assert names(api.get(LEADS, {"created_to": end})) == ["Claasen", "Böhm", "Ahrens"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("created", ["Ahrens", "Böhm", "Claasen", "Dietz", "Engel"]),
        ("-created", ["Engel", "Dietz", "Claasen", "Böhm", "Ahrens"]),
        ("updated", ["Engel", "Dietz", "Claasen", "Böhm", "Ahrens"]),
        ("-updated", ["Ahrens", "Böhm", "Claasen", "Dietz", "Engel"]),
        # Lifecycle order new < mql < sql < won; ties newest first.
        ("stage", ["Engel", "Ahrens", "Böhm", "Claasen", "Dietz"]),
        ("-stage", ["Dietz", "Claasen", "Böhm", "Engel", "Ahrens"]),
        ("name", ["Ahrens", "Böhm", "Claasen", "Dietz", "Engel"]),
        ("-name", ["Engel", "Dietz", "Claasen", "Böhm", "Ahrens"]),
        # Leads without a company come last either way.
        ("company", ["Dietz", "Böhm", "Ahrens", "Engel", "Claasen"]),
        ("-company", ["Engel", "Ahrens", "Böhm", "Dietz", "Claasen"]),
        # trade-fair (rank 4) before website (rank 5).
        ("channel", ["Dietz", "Claasen", "Engel", "Böhm", "Ahrens"]),
        ("-channel", ["Engel", "Böhm", "Ahrens", "Dietz", "Claasen"]),
        # Albers < User… (the admin) < Zander; unassigned last either way.
        ("owner", ["Dietz", "Böhm", "Engel", "Claasen", "Ahrens"]),
        ("-owner", ["Claasen", "Engel", "Dietz", "Böhm", "Ahrens"]),
    ],
)
def test_list_sorts_by_each_allowed_key(api, world, sort, expected):
    assert names(api.get(f"{LEADS}?sort={sort}")) == expected


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("sort=bogus", ["query", "sort"]),
        ("sort=", ["query", "sort"]),
        ("stage=new&stage=archived", ["query", "stage", 1]),
        ("owner=anna", ["query", "owner"]),
        ("owner=12", ["query", "owner"]),
        ("created_from=gestern", ["query", "created_from"]),
        ("page=0", ["query", "page"]),
        ("page=eins", ["query", "page"]),
        ("page_size=101", ["query", "page_size"]),
        ("page_size=0", ["query", "page_size"]),
        ("q=" + "x" * 201, ["query", "q"]),
    ],
)
def test_list_refuses_bad_query_parameters_with_422_naming_them(api, world, query, loc):
    response = api.get(f"{LEADS}?{query}")

    assert_validation_shape(response)
    assert loc in locs(response)


def test_list_paginates_with_count_page_and_page_size(api, world):
    page1 = api.get(f"{LEADS}?page_size=2").json()
    page3 = api.get(f"{LEADS}?page_size=2&page=3").json()
    beyond = api.get(f"{LEADS}?page_size=2&page=4").json()

    assert [r["person"]["last_name"] for r in page1["results"]] == ["Engel", "Dietz"]
    assert (page1["count"], page1["page"], page1["page_size"]) == (5, 1, 2)
    assert [r["person"]["last_name"] for r in page3["results"]] == ["Ahrens"]
    assert (beyond["count"], beyond["page"], beyond["results"]) == (5, 4, [])


def _list_queries(client, page_size: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"{LEADS}?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, Lead.objects.count())
    return len(ctx.captured_queries)


def test_list_needs_the_same_few_queries_for_any_page_size(
    api, world, django_assert_max_num_queries
):
    for _ in range(40):
        LeadFactory(channel=world["leads"]["ahrens"].channel, owner=world["anna"])
    api.get(LEADS)  # the token's first use records last_used_at once

    small = _list_queries(api, 2)
    large = _list_queries(api, 45)

    assert small == large
    # token + user, the user's roles, the count, the page.
    with django_assert_max_num_queries(4):
        api.get(f"{LEADS}?page_size=100&sort=owner")


# --- GET /leads/{id} -----------------------------------------------------------------------


def test_detail_shows_the_timeline_newest_first_and_the_stage_changes(api, campaign, rep):
    lead_id = post(api, LEADS, lead_body()).json()["id"]
    assert post(api, f"{LEADS}/{lead_id}/transition", {"to": "mql"}).status_code == 200
    assert patch(api, f"{LEADS}/{lead_id}", {"owner": str(rep.uuid)}).status_code == 200

    response = api.get(f"{LEADS}/{lead_id}")

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == lead_id
    assert data["stage"] == "mql"
    assert data["owner"]["id"] == str(rep.uuid)
    assert [a["type"] for a in data["timeline"]] == ["assignment", "stage_change", "api_intake"]
    times = [parse_datetime(a["occurred_at"]) for a in data["timeline"]]
    assert times == sorted(times, reverse=True)
    assert [(c["from_stage"], c["to_stage"]) for c in data["stage_changes"]] == [
        ("new", "mql"),
        ("", "new"),
    ]


def test_detail_of_an_unknown_lead_is_404(api, campaign):
    response = api.get(f"{LEADS}/0b9a4a8e-6d0f-4b43-9a53-0d0f3a5f6a11")

    data = assert_message_shape(response, 404)
    assert data["detail"] == "lead not found"


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("patch", ""), ("post", "/transition")]
)
@pytest.mark.parametrize("bad_id", ["42", "not-a-uuid", "0b9a4a8e-6d0f-4b43-9a53"])
def test_a_lead_id_that_is_not_a_uuid_is_422_naming_the_path(api, method, suffix, bad_id):
    path = f"{LEADS}/{bad_id}{suffix}"

    if method == "get":
        response = api.get(path)
    elif method == "patch":
        response = patch(api, path, {"message": "x"})
    else:
        response = post(api, path, {"to": "mql"})

    assert_validation_shape(response)
    assert locs(response) == [["path", "lead_id"]]


@pytest.fixture
def routed(channel):
    """Two teams and two partner companies, each with one lead."""
    south, north = TeamFactory(name="Süd"), TeamFactory(name="Nord")
    p1, p2 = PartnerCompanyFactory(), PartnerCompanyFactory()
    rep_s = UserFactory(username="rep_s", roles=[Role.SALES_REP], team=south)
    rep_n = UserFactory(username="rep_n", roles=[Role.SALES_REP], team=north)
    partner1 = UserFactory(username="partner1", roles=[Role.PARTNER], partner=p1)
    return {
        "rep_s": rep_s,
        "rep_n": rep_n,
        "partner1": partner1,
        "south": LeadFactory(channel=channel, team=south, owner=rep_s),
        "north": LeadFactory(channel=channel, team=north, owner=rep_n),
        "p1": LeadFactory(channel=channel, partner=p1),
        "p2": LeadFactory(channel=channel, partner=p2),
    }


@pytest.mark.parametrize(
    ("user", "visible", "hidden"),
    [
        ("rep_s", "south", "north"),
        ("rep_n", "north", "south"),
        ("partner1", "p1", "p2"),
    ],
)
def test_a_lead_the_user_may_not_see_is_404_for_read_edit_and_transition(
    routed, user, visible, hidden
):
    client = token_client(routed[user])
    hidden_id, visible_id = routed[hidden].uuid, routed[visible].uuid

    assert client.get(f"{LEADS}/{visible_id}").status_code == 200
    assert_message_shape(client.get(f"{LEADS}/{hidden_id}"), 404)
    assert_message_shape(patch(client, f"{LEADS}/{hidden_id}", {"message": "x"}), 404)
    assert_message_shape(post(client, f"{LEADS}/{hidden_id}/transition", {"to": "mql"}), 404)
    listed = [r["id"] for r in client.get(LEADS).json()["results"]]
    assert listed == [str(visible_id)]
    routed[hidden].refresh_from_db()
    assert (routed[hidden].message, routed[hidden].stage) == ("", Stage.NEW)


# --- PATCH /leads/{id} -----------------------------------------------------------------------


def test_patch_changes_fields_and_records_the_old_and_new_values(api, existing, admin_user):
    CampaignFactory(slug="webinar", name="Webinar", channel=existing.channel)

    response = patch(
        api,
        f"{LEADS}/{existing.uuid}",
        {
            "product_interest": "Scoring",
            "message": "Neue Nachricht",
            "external_id": "crm-99",
            "campaign": "webinar",
        },
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["product_interest"], data["message"], data["external_id"], data["campaign"]) == (
        "Scoring",
        "Neue Nachricht",
        "crm-99",
        "webinar",
    )
    update = data["timeline"][0]
    assert update["type"] == "update"
    assert update["actor"]["id"] == str(admin_user.uuid)
    assert update["payload"]["external_id"] == {"from": "crm-1", "to": "crm-99"}
    assert update["payload"]["campaign"] == {"from": "Whitepaper", "to": "Webinar"}
    existing.refresh_from_db()
    assert existing.campaign.slug == "webinar"


def test_patch_can_clear_the_campaign_and_text_fields(api, existing):
    response = patch(
        api, f"{LEADS}/{existing.uuid}", {"campaign": "", "message": None, "external_id": ""}
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["campaign"], data["message"], data["external_id"]) == (None, "", "")


def test_patch_owner_is_an_assignment_and_sets_assigned_at(api, existing, rep):
    response = patch(api, f"{LEADS}/{existing.uuid}", {"owner": str(rep.uuid)})

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["owner"] == {"id": str(rep.uuid), "name": str(rep), "email": rep.email}
    assert data["assigned_at"] is not None
    assignment = data["timeline"][0]
    assert assignment["type"] == "assignment"
    assert assignment["payload"] == {"from": None, "to": str(rep)}

    unassigned = patch(api, f"{LEADS}/{existing.uuid}", {"owner": None}).json()

    assert unassigned["owner"] is None
    assert unassigned["assigned_at"] is None
    assert [a["type"] for a in unassigned["timeline"][:2]] == ["assignment", "assignment"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"owner": "0b9a4a8e-6d0f-4b43-9a53-0d0f3a5f6a11"}, ["body", "owner"]),
        ({"owner": "anna"}, ["body", "owner"]),
        ({"campaign": "gibt-es-nicht"}, ["body", "campaign"]),
        ({"stage": "won"}, ["body", "stage"]),
        ({"person": {"email": "x@y.de"}}, ["body", "person"]),
        ({"message": "a\x00b"}, ["body", "message"]),
        ({"product_interest": "p" * 201}, ["body", "product_interest"]),
        ({"external_id": 5}, ["body", "external_id"]),
    ],
)
def test_patch_refuses_bad_fields_with_422_and_changes_nothing(api, existing, body, loc):
    before = row_counts()
    lead_before = Lead.objects.values().get(pk=existing.pk)

    response = patch(api, f"{LEADS}/{existing.uuid}", body)

    assert_validation_shape(response)
    assert loc in locs(response)
    assert row_counts() == before
    assert Lead.objects.values().get(pk=existing.pk) == lead_before


def test_patch_refuses_a_campaign_of_another_channel(api, existing, trade_fair):
    CampaignFactory(slug="messe", channel=trade_fair)

    response = patch(api, f"{LEADS}/{existing.uuid}", {"campaign": "messe"})

    assert_validation_shape(response)
    assert locs(response) == [["body", "campaign"]]


def test_patch_refuses_an_owner_the_user_may_not_assign(existing, routed):
    rep = token_client(routed["rep_s"])
    lead = routed["south"]

    response = patch(rep, f"{LEADS}/{lead.uuid}", {"owner": str(routed["rep_n"].uuid)})

    assert_validation_shape(response)
    assert locs(response) == [["body", "owner"]]


def test_patch_to_an_external_id_another_lead_has_is_a_409(api, existing):
    other = post(api, LEADS, lead_body(external_id="crm-2")).json()

    response = patch(api, f"{LEADS}/{other['id']}", {"external_id": "crm-1"})

    data = assert_message_shape(response, 409)
    assert data["code"] == "duplicate_external_id"


def test_patch_without_a_difference_writes_no_activity(api, existing):
    before = row_counts()
    updated_at = Lead.objects.get(pk=existing.pk).updated_at

    same = patch(
        api,
        f"{LEADS}/{existing.uuid}",
        {
            "external_id": "crm-1",
            "campaign": "whitepaper",
            "owner": None,
            "message": "Bitte rufen Sie mich an.",
        },
    )
    empty = patch(api, f"{LEADS}/{existing.uuid}", {})

    assert same.status_code == empty.status_code == 200
    assert row_counts() == before
    assert Lead.objects.get(pk=existing.pk).updated_at == updated_at


# --- POST /leads/{id}/transition ---------------------------------------------------------------


def test_an_allowed_transition_answers_200_with_the_new_stage_and_the_stage_change(
    api, existing, admin_user
):
    response = post(api, f"{LEADS}/{existing.uuid}/transition", {"to": "sal"})

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["stage"] == "sal"
    change = data["stage_changes"][0]
    assert (change["from_stage"], change["to_stage"], change["reason"]) == ("new", "sal", "")
    assert change["by"]["id"] == str(admin_user.uuid)
    assert data["timeline"][0]["type"] == "stage_change"
    assert data["closed_at"] is None


def test_a_transition_into_a_closed_stage_records_the_reason_and_closes_the_lead(api, existing):
    response = post(
        api,
        f"{LEADS}/{existing.uuid}/transition",
        {"to": "disqualified", "reason": "  Wettbewerber, kein Bedarf  "},
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["stage"] == "disqualified"
    assert data["stage_changes"][0]["reason"] == "Wettbewerber, kein Bedarf"
    assert data["closed_at"] is not None


def test_an_illegal_transition_is_a_409_listing_the_allowed_stages(api, existing):
    before = row_counts()

    response = post(api, f"{LEADS}/{existing.uuid}/transition", {"to": "won"})

    data = assert_message_shape(response, 409)
    assert data["code"] == "transition_not_allowed"
    assert data["allowed"] == sorted(TRANSITIONS[Stage.NEW])
    assert row_counts() == before
    assert Lead.objects.get(pk=existing.pk).stage == Stage.NEW


@pytest.mark.parametrize("to", ["disqualified", "recycled"])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_transition_that_needs_a_reason_is_422_without_one(api, existing, to, reason):
    before = row_counts()
    body = {"to": to} if reason is None else {"to": to, "reason": reason}

    response = post(api, f"{LEADS}/{existing.uuid}/transition", body)

    assert_validation_shape(response)
    assert locs(response) == [["body", "reason"]]
    assert row_counts() == before


def test_losing_an_opportunity_needs_a_reason(api, existing):
    for stage in ("sal", "sql", "opportunity"):
        assert post(api, f"{LEADS}/{existing.uuid}/transition", {"to": stage}).status_code == 200

    without = post(api, f"{LEADS}/{existing.uuid}/transition", {"to": "lost"})
    with_reason = post(
        api, f"{LEADS}/{existing.uuid}/transition", {"to": "lost", "reason": "Budget gestrichen"}
    )

    assert_validation_shape(without)
    assert with_reason.status_code == 200
    assert with_reason.json()["stage"] == "lost"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"to": "archived"}, ["body", "to"]),
        ({"to": "NEW"}, ["body", "to"]),
        ({"to": ""}, ["body", "to"]),
        ({}, ["body", "to"]),
        ({"to": 3}, ["body", "to"]),
        ({"to": "mql", "by": "someone"}, ["body", "by"]),
        ({"to": "lost", "reason": "r" * 2001}, ["body", "reason"]),
    ],
)
def test_a_bad_transition_request_is_422_naming_the_field(api, existing, body, loc):
    before = row_counts()

    response = post(api, f"{LEADS}/{existing.uuid}/transition", body)

    assert_validation_shape(response)
    assert loc in locs(response)
    assert row_counts() == before


# --- Unicode and HTML ------------------------------------------------------------------------

UNICODE_PERSON = {
    "title": "Prof. Dr.",
    "first_name": "Jürgen-Ñandú 🚀",
    "last_name": "Weiß-Öztürk",
    "email": "jürgen.weiß@müller-straße.de",
    "job_title": "מנהל מכירות / مدير المبيعات",
}
HOSTILE_TEXT = "<script>alert(1)</script> & \"quotes\" 'single' <img src=x onerror=alert(2)>"


def test_unicode_and_html_survive_the_round_trip_verbatim(api, campaign):
    body = lead_body(
        person=UNICODE_PERSON,
        company={"name": "<b>Bäckerei Groß</b> & Söhne 🥨", "city": "Köln"},
        product_interest="Straße 🧭 שלום",
        message=HOSTILE_TEXT + "\nمرحبا بالعالم\n😀👍🏽",
    )

    created = post(api, LEADS, body)

    assert created.status_code == 201, created.content
    lead_id = created.json()["id"]
    detail = api.get(f"{LEADS}/{lead_id}")
    assert detail["Content-Type"].startswith("application/json")
    data = detail.json()
    for key in ("title", "first_name", "last_name", "job_title"):
        assert data["person"][key] == UNICODE_PERSON[key]
    assert data["person"]["email"] == "jürgen.weiß@müller-straße.de"
    assert data["company"]["name"] == "<b>Bäckerei Groß</b> & Söhne 🥨"
    assert data["company"]["city"] == "Köln"
    assert data["product_interest"] == "Straße 🧭 שלום"
    assert data["message"] == HOSTILE_TEXT + "\nمرحبا بالعالم\n😀👍🏽"
    person = Person.objects.get()
    assert person.first_name == "Jürgen-Ñandú 🚀"
    assert person.job_title == UNICODE_PERSON["job_title"]
    assert Lead.objects.get().message == data["message"]
    # Found again by the same e-mail in other case.
    again = post(api, LEADS, lead_body(person={"email": "JÜRGEN.WEIß@MÜLLER-STRAßE.DE"}))
    assert again.json()["person"]["id"] == data["person"]["id"]


def test_html_in_names_is_not_interpreted_by_the_json_answer(api, campaign):
    body = lead_body(person={"first_name": "<script>alert(1)</script>", "email": "x@beispiel.de"})

    response = post(api, LEADS, body)

    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["person"]["first_name"] == "<script>alert(1)</script>"


def test_text_search_finds_names_with_umlauts(api, campaign):
    post(api, LEADS, lead_body(person={"last_name": "Größer", "email": "g@beispiel.de"}))

    assert names(api.get(LEADS, {"q": "Größer"})) == ["Größer"]
    assert names(api.get(LEADS, {"q": "öß"})) == ["Größer"]


# --- OpenAPI and error shapes ----------------------------------------------------------------


def test_openapi_schema_lists_every_path_and_documents_the_error_answers(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    assert set(paths) >= {
        "/api/v1/leads",
        "/api/v1/leads/{lead_id}",
        "/api/v1/leads/{lead_id}/transition",
        "/api/v1/persons",
        "/api/v1/persons/{person_id}",
        "/api/v1/companies",
        "/api/v1/companies/{company_id}",
        "/api/v1/channels",
        "/api/v1/campaigns",
    }
    create = paths["/api/v1/leads"]["post"]
    assert set(create["responses"]) == {"201", "400", "401", "403", "409", "413", "422"}
    ref = create["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ValidationErrorOut")
    msg_ref = create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert msg_ref.endswith("/MessageOut")
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert {"404", "409", "422"} <= set(
        paths["/api/v1/leads/{lead_id}/transition"]["post"]["responses"]
    )
    assert {"401", "404", "422"} <= set(paths["/api/v1/persons/{person_id}"]["get"]["responses"])
    assert "401" in paths["/api/v1/channels"]["get"]["responses"]
    lead_out = schema["components"]["schemas"]["LeadOut"]["properties"]
    assert {
        "id",
        "stage",
        "owner",
        "person",
        "company",
        "channel",
        "campaign",
        "created_at",
    } <= set(lead_out)
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_api_docs_page_answers_200(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_every_error_answer_has_the_shape_the_schema_documents(api, existing, marketing_user):
    read_only = token_client(marketing_user, scope=TokenScope.READ)
    lead = f"{LEADS}/{existing.uuid}"
    answers = {
        400: post(api, LEADS, "{kaputt"),
        401: post(Client(), LEADS, lead_body()),
        403: post(read_only, LEADS, lead_body()),
        404: api.get(f"{LEADS}/0b9a4a8e-6d0f-4b43-9a53-0d0f3a5f6a11"),
        409: post(api, f"{lead}/transition", {"to": "won"}),
        413: post(api, LEADS, lead_body(message="x" * 70_000)),
        422: post(api, LEADS, lead_body(channel="fax")),
    }

    for status, response in answers.items():
        assert response.status_code == status, (status, response.content)
        assert response["Content-Type"].startswith("application/json")
        if status == 422:
            ValidationErrorOut.model_validate(response.json())
            assert_validation_shape(response)
        else:
            MessageOut.model_validate(response.json())
            assert_message_shape(response, status)


def test_unknown_api_paths_and_methods_answer_in_json(api):
    unknown = api.get("/api/v1/gibt-es-nicht")
    trailing = api.get(f"{LEADS}/")
    wrong_method = api.put(LEADS, "{}", content_type="application/json")

    assert_message_shape(unknown, 404)
    assert_message_shape(trailing, 404)
    data = assert_message_shape(wrong_method, 405)
    assert data == {"detail": "method not allowed"}
    assert set(wrong_method["Allow"].split(", ")) == {"GET", "POST"}
