"""Bearer tokens for /api/v1: who gets in, who may write, and what is recorded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from leadwerk.accounts.choices import Role, TokenScope
from leadwerk.accounts.models import ApiToken
from leadwerk.accounts.services import api_token_create, api_token_revoke
from leadwerk.activities.models import Activity
from leadwerk.contacts.models import Company, Person
from leadwerk.leads.models import Lead, StageChange
from leadwerk.tests_support.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

LEADS = "/api/v1/leads"
BODY = {
    "person": {"last_name": "Mustermann", "email": "erika@beispiel.de"},
    "channel": "website",
}


def bearer(value: str) -> Client:
    return Client(headers={"Authorization": value})


def row_counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Person, Company, Lead, Activity, StageChange)}


def assert_401(response) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == 'Bearer realm="leadwerk"'
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "missing or invalid API token"}


@pytest.fixture
def lead(channel):
    return LeadFactory(channel=channel)


ENDPOINTS = [
    ("get", "/api/v1/leads"),
    ("post", "/api/v1/leads"),
    ("get", "/api/v1/leads/{lead}"),
    ("patch", "/api/v1/leads/{lead}"),
    ("post", "/api/v1/leads/{lead}/transition"),
    ("get", "/api/v1/persons"),
    ("get", "/api/v1/persons/{person}"),
    ("get", "/api/v1/companies"),
    ("get", "/api/v1/companies/{company}"),
    ("get", "/api/v1/channels"),
    ("get", "/api/v1/campaigns"),
]


def call(client: Client, method: str, path: str, lead: Lead, body: dict | None = None):
    url = path.format(lead=lead.uuid, person=lead.person.uuid, company=lead.company.uuid)
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_answers_401_without_a_token(lead, method, path):
    before = row_counts()

    response = call(Client(), method, path, lead, BODY)

    assert_401(response)
    assert row_counts() == before


def test_a_logged_in_browser_session_is_not_enough_for_the_api(client_admin, lead, channel):
    assert_401(client_admin.get(LEADS))
    assert_401(client_admin.post(LEADS, json.dumps(BODY), content_type="application/json"))
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer lw_",
        "Bearer lw_abc",
        "Bearer lw__secret",
        "Bearer lw_abcd1234_",
        "Bearer lw_deadbeef_not-a-known-token",
        "Bearer " + "x" * 5000,
        "Basic YWRtaW46bGVhZHdlcmstZGVtbw==",
        "Token lw_deadbeef_secret",
        "lw_deadbeef_secret",
    ],
)
def test_a_malformed_or_unknown_token_is_401(admin_user, channel, header):
    assert_401(bearer(header).get(LEADS))
    assert_401(bearer(header).post(LEADS, json.dumps(BODY), content_type="application/json"))
    assert Lead.objects.count() == 0


def test_a_token_with_the_right_prefix_but_a_wrong_secret_is_401(admin_user, channel):
    _token, raw = api_token_create(user=admin_user, name="ci")
    prefix, _, secret = raw.rpartition("_")
    tampered = f"{prefix}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"

    assert bearer(f"Bearer {raw}").get(LEADS).status_code == 200
    assert_401(bearer(f"Bearer {tampered}").get(LEADS))


def test_a_revoked_token_is_401(admin_user, channel):
    token, raw = api_token_create(user=admin_user, name="ci")
    client = bearer(f"Bearer {raw}")
    assert client.get(LEADS).status_code == 200

    api_token_revoke(token=token)

    assert_401(client.get(LEADS))
    assert_401(client.post(LEADS, json.dumps(BODY), content_type="application/json"))
    assert Lead.objects.count() == 0


def test_the_token_of_an_inactive_user_is_401(admin_user, channel):
    _token, raw = api_token_create(user=admin_user, name="ci")
    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])

    assert_401(bearer(f"Bearer {raw}").get(LEADS))


def test_a_read_token_can_read_but_not_write(admin_user, lead, campaign):
    _token, raw = api_token_create(user=admin_user, name="dashboard", scope=TokenScope.READ)
    client = bearer(f"Bearer {raw}")
    before = row_counts()

    assert client.get(LEADS).status_code == 200
    assert client.get(f"{LEADS}/{lead.uuid}").status_code == 200
    assert client.get("/api/v1/persons").status_code == 200
    refused = [
        call(client, "post", LEADS, lead, BODY),
        call(client, "patch", f"{LEADS}/{lead.uuid}", lead, {"message": "neu"}),
        call(client, "post", f"{LEADS}/{lead.uuid}/transition", lead, {"to": "mql"}),
    ]

    for response in refused:
        assert response.status_code == 403, response.content
        assert response.json() == {"detail": "this token may only read (scope: read)"}
    assert row_counts() == before
    lead.refresh_from_db()
    assert (lead.message, lead.stage) == ("", "new")


def test_a_read_token_is_refused_before_the_body_is_looked_at(admin_user, channel):
    _token, raw = api_token_create(user=admin_user, name="dashboard", scope=TokenScope.READ)

    response = bearer(f"Bearer {raw}").post(LEADS, "{kaputt", content_type="application/json")

    assert response.status_code == 403


def test_the_first_use_of_a_token_is_recorded(admin_user, channel):
    token, raw = api_token_create(user=admin_user, name="ci")
    assert token.last_used_at is None
    before = timezone.now()

    bearer(f"Bearer {raw}").get(LEADS)

    token.refresh_from_db()
    assert before <= token.last_used_at <= timezone.now()


def test_last_use_is_refreshed_when_it_is_older_than_a_minute(admin_user, channel):
    token, raw = api_token_create(user=admin_user, name="ci")
    long_ago = timezone.now() - timedelta(hours=3)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)

    bearer(f"Bearer {raw}").get(LEADS)

    token.refresh_from_db()
    assert token.last_used_at > long_ago + timedelta(hours=2)


def test_a_failed_login_attempt_records_no_use(admin_user, channel):
    token, raw = api_token_create(user=admin_user, name="ci")
    api_token_revoke(token=token)

    bearer(f"Bearer {raw}").get(LEADS)

    token.refresh_from_db()
    assert token.last_used_at is None


def test_the_api_acts_as_the_token_owner(channel):
    marketing = UserFactory(username="mkt", roles=[Role.MARKETING])
    _token, raw = api_token_create(user=marketing, name="website")

    response = bearer(f"Bearer {raw}").post(
        LEADS, json.dumps(BODY), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    lead = Lead.objects.get(uuid=response.json()["id"])
    assert lead.created_by == marketing
    intake = Activity.objects.get(lead=lead)
    assert intake.actor == marketing
    assert intake.payload["context"] == {"token": "website"}
