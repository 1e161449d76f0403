"""POST /api/v1/events: one event or a batch, all-or-nothing, with clear errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import bearer_client
from leadwerk.accounts.choices import TokenScope
from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity, EventSettings
from leadwerk.activities.tracking import event_settings_get
from leadwerk.contacts.models import Person
from leadwerk.leads.choices import Stage
from leadwerk.scoring.models import LeadScore
from leadwerk.scoring.tests.helpers import make_lead

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def post(client, body, **extra):
    return client.post(URL, json.dumps(body), content_type="application/json", **extra)


def iso(delta=timedelta()):
    return (timezone.now() + delta).isoformat()


@pytest.fixture
def lead(db):
    return make_lead(grade="A", email="ada@muster-maschinen.de")


def test_one_event_lands_on_the_timeline_and_scores_the_lead(api, lead):
    response = post(
        api,
        {
            "person": {"email": "  ADA@Muster-Maschinen.de "},
            "type": "download",
            "occurred_at": iso(timedelta(minutes=-5)),
            "subject": "Whitepaper Industrie 4.0",
            "properties": {"asset": "whitepaper-i40.pdf", "campaign": "whitepaper"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 1
    [event] = body["events"]
    assert event["person_id"] == str(lead.person.uuid)
    assert event["lead_id"] == str(lead.uuid)
    assert event["person_created"] is False
    activity = Activity.objects.get(uuid=event["id"])
    assert (activity.type, activity.subject, activity.lead_id) == (
        ActivityType.DOWNLOAD,
        "Whitepaper Industrie 4.0",
        lead.pk,
    )
    assert activity.payload == {"asset": "whitepaper-i40.pdf", "campaign": "whitepaper"}
    [scored] = body["leads"]
    assert scored["id"] == str(lead.uuid)
    assert scored["score"]["fit_grade"] == "A"
    assert 9.99 <= scored["score"]["engagement"] <= 10


def test_a_batch_that_crosses_the_threshold_reports_the_hand_off(api, lead):
    events = [
        {"person_id": str(lead.person.uuid), "type": "form_submit", "occurred_at": iso()},
        {"person_id": str(lead.person.uuid), "type": "download", "occurred_at": iso()},
        {
            "person_id": str(lead.person.uuid),
            "type": "web_visit",
            "properties": {"url": "https://www.muster.de/preise?x=1", "title": "Preise"},
        },
    ]
    response = post(api, {"events": events})
    assert response.status_code == 201, response.content
    [scored] = response.json()["leads"]
    assert scored["stage"] == Stage.MQL and scored["stage_changed"] is True
    assert scored["score"]["cell"] == "A2" and scored["score"]["label"] == "hot"
    visit = Activity.objects.get(type=ActivityType.WEB_VISIT)
    assert visit.payload["path"] == "/preise"  # derived from the URL for path rules


def test_a_batch_with_one_bad_event_writes_nothing_and_names_each_bad_one(api, lead):
    person = str(lead.person.uuid)
    events = [
        {"person_id": person, "type": "download"},
        {"person_id": person, "type": "tweet"},
        {"person_id": person, "type": "web_visit", "occurred_at": iso(timedelta(hours=2))},
        {"person_id": person, "type": "download", "properties": {"tags": {"a": 1}}},
        {"person_id": person, "type": "download", "occurred_at": "2026-01-01T10:00:00"},
        {"person": {"email": "nobody@example.org"}, "type": "download"},
        {"type": "download"},
    ]
    response = post(api, {"events": events})
    assert response.status_code == 422
    detail = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert "unknown event type 'tweet'" in detail[("body", "events", 1, "type")]
    assert "nested objects are not supported" in detail[("body", "events", 3, "properties")]
    assert "give a time zone" in detail[("body", "events", 4, "occurred_at")]
    assert "person.email or by person_id" in detail[("body", "events", 6)]
    assert Activity.objects.count() == 0
    # The checks that need the database come once the shape is right; still nothing written.
    response = post(api, {"events": [events[0], events[2], events[5]]})
    assert response.status_code == 422
    detail = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert "2.0 hours in the future" in detail[("body", "events", 1, "occurred_at")]
    assert "300 seconds are tolerated" in detail[("body", "events", 1, "occurred_at")]
    assert "switched off" in detail[("body", "events", 2, "person", "email")]
    assert Activity.objects.count() == 0
    assert not LeadScore.objects.exists()


def test_unknown_persons_become_anonymous_prospects_only_when_the_admin_allows_it(api, db):
    body = {"person": {"email": "neu@kunde.de"}, "type": "web_visit", "properties": {"path": "/"}}
    response = post(api, body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "person", "email"]
    assert not Person.objects.exists()

    EventSettings.objects.update_or_create(pk=1, defaults={"allow_anonymous_prospects": True})
    response = post(api, body)
    assert response.status_code == 201
    [event] = response.json()["events"]
    assert event["person_created"] is True and event["lead_id"] is None
    person = Person.objects.get()
    assert (person.email, person.last_name) == ("neu@kunde.de", "")
    assert person.activities.get().type == ActivityType.WEB_VISIT
    # The second event of the same address finds the prospect.
    assert post(api, body).json()["events"][0]["person_created"] is False


def test_the_future_tolerance_is_the_admins_setting(api, lead):
    settings = event_settings_get()
    settings.future_tolerance_seconds = 3600
    settings.save()
    body = {"person_id": str(lead.person.uuid), "type": "download"}
    assert post(api, {**body, "occurred_at": iso(timedelta(minutes=30))}).status_code == 201
    assert post(api, {**body, "occurred_at": iso(timedelta(minutes=90))}).status_code == 422


def test_an_event_in_the_future_within_tolerance_counts_from_when_it_arrived(api, lead):
    response = post(
        api,
        {
            "person_id": str(lead.person.uuid),
            "type": "form_submit",
            "occurred_at": iso(timedelta(minutes=4)),
        },
    )
    assert response.status_code == 201
    # Not 50.0003 (as if it counted from the future moment): at most the rule's points.
    assert response.json()["leads"][0]["score"]["engagement"] <= 50


def test_malformed_properties_are_refused_clearly(api, lead):
    person = str(lead.person.uuid)
    cases = {
        "a b": ("property name 'a b' must start with a letter"),
        "url": ("url: must be an absolute http(s) URL"),
        "path": ("path: must start with /"),
    }
    values = {"a b": 1, "url": "www.example.de/preise", "path": "preise"}
    for key, message in cases.items():
        response = post(
            api, {"person_id": person, "type": "web_visit", "properties": {key: values[key]}}
        )
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "properties"]
        assert message in error["msg"]
    response = post(
        api,
        {"person_id": person, "type": "download", "properties": {f"k{i}": i for i in range(51)}},
    )
    assert response.json()["detail"][0]["msg"] == "at most 50 properties"


def test_more_than_1000_events_are_refused_and_so_is_a_body_over_1_mb(api, lead):
    event = {"person_id": str(lead.person.uuid), "type": "web_visit"}
    response = post(api, {"events": [event] * 1001})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "at most 1000 events per request, got 1001"
    big = {"events": [{**event, "subject": "x" * 300, "properties": {"t": "y" * 1000}}] * 900}
    response = post(api, big)
    assert response.status_code == 413
    assert Activity.objects.count() == 0


def test_a_full_batch_of_1000_is_accepted(api, lead):
    event = {"person_id": str(lead.person.uuid), "type": "web_visit", "properties": {"path": "/"}}
    response = post(api, {"events": [event] * 1000})
    assert response.status_code == 201
    assert response.json()["count"] == 1000
    assert Activity.objects.filter(type=ActivityType.WEB_VISIT).count() == 1000
    # The page-view rule counts at most 30 of them.
    assert LeadScore.objects.get(lead=lead).counted == 30


def test_malformed_json_and_wrong_shapes_are_refused(api, db):
    response = api.post(URL, "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("malformed JSON")
    response = post(api, [{"type": "download"}])
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == 'send one event object or {"events": [...]}'
    response = post(api, {"events": []})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events"]


def test_who_may_post_events(lead, rep, marketing_user, admin_user):
    body = {"person_id": str(lead.person.uuid), "type": "download"}
    assert post(bearer_client(rep), body).status_code == 403
    assert post(bearer_client(admin_user, scope=TokenScope.READ), body).status_code == 403
    assert post(bearer_client(marketing_user), body).status_code == 201
    from django.test import Client

    assert post(Client(), body).status_code == 401


def test_an_unknown_person_id_is_named(api, db):
    response = post(api, {"person_id": "00000000-0000-4000-8000-000000000000", "type": "download"})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "person_id"], "msg": "no person with this id", "type": "unknown"}
    ]


def test_the_event_contract_is_in_the_openapi_document(api, db):
    schema = api.get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    single, batch = body["schema"]["oneOf"]
    assert "occurred_at" in single["properties"]
    assert batch["properties"]["events"]["maxItems"] == 1000
