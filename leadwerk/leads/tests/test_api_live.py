"""The intake API over real HTTP: a live server in a thread, httpx as the client."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from leadwerk.accounts.choices import Role
from leadwerk.accounts.services import api_token_create
from leadwerk.activities.models import Activity
from leadwerk.contacts.models import Person
from leadwerk.leads.models import Lead
from leadwerk.tests_support.factories import CampaignFactory, ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


BODY = {
    "person": {
        "first_name": "Zoë",
        "last_name": "Weiß-Öztürk 🚀",
        "email": "zoe@beispiel.de",
        "job_title": "מנהלת רכש",
    },
    "company": {"name": "Beispiel GmbH", "website": "beispiel.de", "country": "DE"},
    "channel": "website",
    "campaign": "whitepaper",
    "message": "<script>alert(1)</script>\nBitte um Rückruf.",
}


@pytest.fixture
def server(live_server, transactional_db):
    ChannelFactory(slug="website", name="Website", kind="website", rank=5)
    CampaignFactory(slug="whitepaper", name="Whitepaper", channel__slug="website")
    user = UserFactory(username="integration", roles=[Role.MARKETING])
    _token, raw = api_token_create(user=user, name="crm")
    headers = {"Authorization": f"Bearer {raw}"}
    with httpx.Client(base_url=f"{live_server.url}/api/v1", headers=headers, timeout=30) as http:
        yield http


def send(http: httpx.Client, body: dict, **headers) -> httpx.Response:
    """POST as UTF-8 JSON, as a real client would (not \\u escapes)."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    return http.post("/leads", content=raw, headers={"Content-Type": "application/json", **headers})


def test_a_lead_created_over_http_can_be_read_back(server):
    created = send(server, BODY)

    assert created.status_code == 201, created.text
    lead_id = created.json()["id"]
    detail = server.get(f"/leads/{lead_id}")
    assert detail.status_code == 200
    data = detail.json()
    assert data["person"]["last_name"] == "Weiß-Öztürk 🚀"
    assert data["person"]["job_title"] == "מנהלת רכש"
    assert data["message"] == "<script>alert(1)</script>\nBitte um Rückruf."
    assert data["company"]["domain"] == "beispiel.de"
    assert [a["type"] for a in data["timeline"]] == ["api_intake"]
    listed = server.get("/leads", params={"q": "Öztürk"}).json()
    assert [r["id"] for r in listed["results"]] == [lead_id]


def test_a_bad_token_is_401_over_http(server):
    response = httpx.get(
        f"{server.base_url}leads", headers={"Authorization": "Bearer lw_deadbeef_nope"}
    )
    missing = httpx.post(f"{server.base_url}leads", json=BODY)

    for answer in (response, missing):
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="leadwerk"'
        assert answer.json() == {"detail": "missing or invalid API token"}
    assert Lead.objects.count() == 0


def test_a_retry_with_the_same_idempotency_key_returns_the_first_lead(server):
    first = send(server, BODY, **{"Idempotency-Key": "order-4711"})
    retry = send(server, BODY, **{"Idempotency-Key": "order-4711"})
    changed = send(server, {**BODY, "message": "anders"}, **{"Idempotency-Key": "order-4711"})

    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert changed.status_code == 409
    assert changed.json()["code"] == "idempotency_mismatch"
    assert Lead.objects.count() == 1
    assert Activity.objects.count() == 1


def concurrency() -> int:
    """How many requests may run at once. The server's request threads cannot write
    concurrently to SQLite's in-memory test database (shared-cache table locks fail at once,
    without waiting); on PostgreSQL and on a file database they race for real."""
    return 1 if connection.vendor == "sqlite" and connection.is_in_memory_db() else 4


def test_concurrent_retries_with_one_idempotency_key_create_one_lead(server):
    def attempt(_):
        return send(server, BODY, **{"Idempotency-Key": "burst-1"})

    with ThreadPoolExecutor(max_workers=concurrency()) as pool:
        answers = list(pool.map(attempt, range(8)))

    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert Lead.objects.count() == 1
    assert Person.objects.count() == 1


def test_concurrent_leads_with_one_external_id_create_one_and_name_it_to_the_others(server):
    def attempt(i):
        return send(server, {**BODY, "external_id": "crm-42"}, **{"Idempotency-Key": f"k-{i}"})

    with ThreadPoolExecutor(max_workers=concurrency()) as pool:
        answers = list(pool.map(attempt, range(6)))

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409, 409, 409], [a.text for a in answers]
    lead = Lead.objects.get()
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["lead_id"] == str(lead.uuid)


def test_malformed_json_and_oversized_bodies_are_refused_over_http(server):
    malformed = server.post(
        "/leads", content=b'{"person": ', headers={"Content-Type": "application/json"}
    )
    oversized = send(server, {**BODY, "message": "x" * 70_000})

    assert malformed.status_code == 400
    assert isinstance(malformed.json()["detail"], str)
    assert oversized.status_code == 413
    assert "65536" in oversized.json()["detail"]
    assert Lead.objects.count() == 0
