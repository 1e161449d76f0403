"""The routing API: set-up by a sales manager, the rule test, answers to a lead, the queue,
reports and the inbox; clear refusals of bad input and of users without the right."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import bearer_client
from leadwerk.accounts.choices import Role
from leadwerk.leads.choices import Stage
from leadwerk.routing import services
from leadwerk.routing.choices import Trigger
from leadwerk.routing.models import Notification
from leadwerk.tests_support.factories import ChannelFactory, UserFactory

from .conftest import company, make_mql, make_reps, new_lead

pytestmark = pytest.mark.django_db


def post(client, url, body, method="post"):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def boss(manager):
    return bearer_client(manager)


@pytest.fixture
def setup(boss, sales_team, always_open):
    """A pool of two reps and a default rule, created through the API."""
    reps = make_reps(sales_team, 2)
    ChannelFactory(slug="website")
    r = post(
        boss,
        "/api/v1/routing/pools",
        {"name": "Nord", "kind": "team", "team": str(sales_team.uuid)},
    )
    assert r.status_code == 201, r.content
    pool = r.json()
    for rep in reps:
        r = post(
            boss,
            f"/api/v1/routing/pools/{pool['id']}/members",
            {"user": str(rep.uuid), "capacity": 20},
        )
        assert r.status_code == 201, r.content
    r = post(
        boss,
        "/api/v1/routing/rules",
        {"name": "Rest", "target_type": "pool", "target_pool": pool["id"], "is_default": True},
    )
    assert r.status_code == 201, r.content
    return pool, reps


def test_a_manager_sets_up_pools_and_rules(boss, setup):
    pool, reps = setup
    r = boss.get(f"/api/v1/routing/pools/{pool['id']}")
    body = r.json()
    assert [m["user"]["id"] for m in body["members"]] == sorted(
        [str(u.uuid) for u in reps], key=lambda i: [str(u.uuid) for u in reps].index(i)
    ) or len(body["members"]) == 2
    assert {m["capacity"] for m in body["members"]} == {20}
    r = post(
        boss,
        "/api/v1/routing/rules",
        {
            "name": "Bayern",
            "conditions": {"postal_codes": ["80000-87999"], "countries": ["de"]},
            "target_type": "user",
            "target_user": str(reps[0].uuid),
        },
    )
    assert r.status_code == 201, r.content
    rule = r.json()
    assert rule["conditions"] == {"countries": ["DE"], "postal_codes": ["80000-87999"]}
    rules = boss.get("/api/v1/routing/rules").json()
    assert [x["name"] for x in rules] == ["Bayern", "Rest"]


def test_the_rule_test_shows_conditions_and_where_a_lead_would_go(boss, api, setup):
    pool, reps = setup
    rule = post(
        boss,
        "/api/v1/routing/rules",
        {
            "name": "Bayern",
            "conditions": {"postal_codes": ["80000-87999"]},
            "target_type": "user",
            "target_user": str(reps[0].uuid),
        },
    ).json()
    r = post(
        boss,
        f"/api/v1/routing/rules/{rule['id']}/test",
        {"lead": {"country": "DE", "postal_code": "80331", "channel": "website"}},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["matches"] is True
    assert body["conditions"] == [
        {"field": "postal_codes", "expected": ["80000-87999"], "actual": "80331", "ok": True}
    ]
    assert body["decision"]["rule"] == "Bayern"
    assert body["decision"]["assignee"]["id"] == str(reps[0].uuid)
    # A Berlin lead does not match and goes to the pool by the default rule.
    body = post(
        boss, f"/api/v1/routing/rules/{rule['id']}/test", {"lead": {"postal_code": "10115"}}
    ).json()
    assert body["matches"] is False
    assert body["decision"]["rule"] == "Rest" and body["decision"]["pool"] == "Nord"
    # An existing lead works too, and nothing is changed by testing.
    lead = new_lead(company=company(postal_code="86150"))
    body = post(api, "/api/v1/routing/test", {"lead_id": str(lead.uuid)}).json()
    assert body["decision"]["rule"] == "Bayern"
    lead.refresh_from_db()
    assert lead.owner is None


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        (
            {
                "name": "X",
                "conditions": {"gebiet": ["Süd"]},
                "target_type": "user",
                "target_user": "00000000-0000-0000-0000-000000000000",
            },
            ["body", "conditions", "gebiet"],
            "unknown condition",
        ),
        (
            {
                "name": "X",
                "conditions": {"gebiet": ["Süd"]},
                "target_type": "user",
                "target_user": "00000000-0000-0000-0000-000000000000",
            },
            ["body", "target_user"],
            "unknown user",
        ),
        (
            {
                "name": "X",
                "target_type": "user",
                "target_user": "00000000-0000-0000-0000-000000000000",
            },
            ["body", "target_user"],
            "unknown user",
        ),
        (
            {"name": "X", "conditions": {"channels": ["fax"]}, "target_type": "account_owner"},
            ["body", "conditions", "channels", 0],
            "unknown channel 'fax'",
        ),
        ({"name": "X", "target_type": "team"}, ["body", "target_type"], "Input should be"),
    ],
)
def test_bad_rules_are_refused_with_the_place_of_the_error(boss, setup, body, loc, message):
    r = post(boss, "/api/v1/routing/rules", body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert any(d["loc"] == loc and message in d["msg"] for d in detail), detail


def test_bad_members_absences_and_calendars_are_refused(boss, setup, manager):
    pool, reps = setup
    newcomer = UserFactory(username="neu", roles=[Role.SALES_REP], team=reps[0].team)
    r = post(
        boss,
        f"/api/v1/routing/pools/{pool['id']}/members",
        {"user": str(newcomer.uuid), "capacity": -3},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "capacity"]
    start = timezone.now() + timedelta(days=3)
    body = {
        "user": str(reps[0].uuid),
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=5)).isoformat(),
    }
    assert post(boss, "/api/v1/routing/absences", body).status_code == 201
    body["starts_at"] = (start + timedelta(days=1)).isoformat()
    r = post(boss, "/api/v1/routing/absences", body)
    assert r.status_code == 422
    assert "overlaps the absence" in r.json()["detail"][0]["msg"]
    r = post(
        boss,
        "/api/v1/routing/calendars",
        {
            "name": "Mars",
            "subdivision": "ZZ",
            "hours": [{"weekday": 0, "starts_at": "08:00", "ends_at": "17:00"}],
        },
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "subdivision"]
    assert "unknown region 'ZZ'" in r.json()["detail"][0]["msg"]


def test_calendars_holidays_and_deadlines(boss):
    r = post(
        boss,
        "/api/v1/routing/calendars",
        {
            "name": "München",
            "subdivision": "BY",
            "hours": [{"weekday": d, "starts_at": "08:00", "ends_at": "17:00"} for d in range(5)],
            "company_holidays": [{"date": "2026-12-24", "name": "Heiligabend"}],
        },
    )
    assert r.status_code == 201, r.content
    cal = r.json()
    days = boss.get(f"/api/v1/routing/calendars/{cal['id']}/holidays?year=2026").json()
    names = {d["date"]: d["name"] for d in days}
    assert names["2026-01-06"] == "Heilige Drei Könige"
    assert names["2026-12-24"] == "Heiligabend"
    r = boss.get(
        f"/api/v1/routing/calendars/{cal['id']}/due",
        {"start": "2026-01-05T10:00:00+01:00", "value": 1, "unit": "days"},
    )
    assert r.json()["due"] == "2026-01-07T09:00:00Z"  # 10:00 CET, after Epiphany


def test_reps_cannot_change_routing_but_can_record_their_own_absence(setup):
    pool, reps = setup
    rep_api = bearer_client(reps[0])
    assert rep_api.get("/api/v1/routing/rules").status_code == 403
    r = post(
        rep_api,
        "/api/v1/routing/rules",
        {"name": "Meins", "target_type": "user", "target_user": str(reps[0].uuid)},
    )
    assert r.status_code == 403
    start = timezone.now() + timedelta(days=1)
    mine = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(days=2)).isoformat()}
    assert post(rep_api, "/api/v1/routing/absences", mine).status_code == 201
    theirs = {**mine, "user": str(reps[1].uuid)}
    assert post(rep_api, "/api/v1/routing/absences", theirs).status_code == 403


def test_the_owner_accepts_or_rejects_through_the_api(setup, django_capture_on_commit_callbacks):
    lead = make_mql(django_capture_on_commit_callbacks)
    owner_api = bearer_client(lead.owner)
    r = owner_api.get(f"/api/v1/leads/{lead.uuid}/assignment")
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["due_at"]
    r = post(owner_api, f"/api/v1/leads/{lead.uuid}/reject", {"reason": "other"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "text"]
    r = post(
        owner_api,
        f"/api/v1/leads/{lead.uuid}/accept",
        {"contacted": True, "note": "Rückruf erledigt"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "accepted"
    lead.refresh_from_db()
    assert lead.stage == Stage.SAL and lead.first_response_at
    r = post(owner_api, f"/api/v1/leads/{lead.uuid}/accept", {})
    assert r.status_code == 409 and r.json()["code"] == "already_accepted"

    second = make_mql(django_capture_on_commit_callbacks)
    api = bearer_client(second.owner)
    r = post(api, f"/api/v1/leads/{second.uuid}/reject", {"reason": "no-need"})
    assert r.status_code == 204
    second.refresh_from_db()
    assert second.stage == Stage.RECYCLED and second.owner is None
    reasons = api.get("/api/v1/routing/rejection-reasons").json()
    assert [x["code"] for x in reasons][:3] == ["not-reachable", "no-budget", "no-need"]


def test_the_queue_and_reports(boss, setup, django_capture_on_commit_callbacks, sales_team):
    pool, reps = setup
    lead = make_mql(django_capture_on_commit_callbacks)
    services.lead_accept(lead=lead, actor=lead.owner, contacted=True)
    for rep in reps:
        now = timezone.now()
        services.absence_create(
            user=rep, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
        )
    stuck = make_mql(django_capture_on_commit_callbacks)
    queue = boss.get("/api/v1/routing/queue").json()
    assert [q["lead_id"] for q in queue] == [str(stuck.uuid)]
    assert "abwesend bis" in queue[0]["reasons"][0]["detail"]
    rows = boss.get("/api/v1/routing/reports/sla", {"by": "rep"}).json()
    [row] = rows
    assert (row["label"], row["clocks"], row["met"], row["met_percent"]) == (
        str(lead.owner),
        1,
        1,
        100.0,
    )
    assert row["median_response_minutes"] >= 0 and row["median_assignment_minutes"] >= 0
    r = boss.get("/api/v1/routing/reports/sla", {"by": "weekday"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "by"]
    fairness = boss.get(f"/api/v1/routing/pools/{pool['id']}/fairness").json()
    assert fairness["total_count"] == 1 and len(fairness["rows"]) == 2
    r = post(boss, f"/api/v1/leads/{stuck.uuid}/route", {})
    assert r.status_code == 200 and r.json()["queued"] is True


def test_the_inbox_lists_and_marks_notifications(setup, django_capture_on_commit_callbacks):
    lead = make_mql(django_capture_on_commit_callbacks)
    api = bearer_client(lead.owner)
    [item] = api.get("/api/v1/notifications", {"unread": True}).json()
    assert item["kind"] == "assigned" and item["lead_id"] == str(lead.uuid)
    assert item["emailed_at"] is not None
    assert api.post(f"/api/v1/notifications/{item['id']}/read").status_code == 204
    assert api.get("/api/v1/notifications", {"unread": True}).json() == []
    other = bearer_client(UserFactory(username="fremd"))
    assert other.post(f"/api/v1/notifications/{item['id']}/read").status_code == 404
    assert Notification.objects.get().read_at is not None


def test_the_openapi_schema_documents_routing(api):
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/routing/rules",
        "/api/v1/routing/rules/{rule_id}/test",
        "/api/v1/leads/{lead_id}/accept",
        "/api/v1/routing/reports/sla",
    ):
        assert path in paths


def test_routing_a_lead_by_hand(boss, setup, sales_team):
    lead = new_lead(team=sales_team)
    lead.stage = Stage.MQL
    lead.save(update_fields=["stage"])
    r = post(boss, f"/api/v1/leads/{lead.uuid}/route", {})
    assert r.status_code == 200
    assert r.json()["assigned_to"]["id"] in {str(u.uuid) for u in setup[1]}
    assert r.json()["trail"][0]["taken"] is True
    assert services.lead_route(lead_id=lead.pk, trigger=Trigger.RETRY).skipped


def test_a_manager_records_an_existing_customer_and_its_leads_go_to_the_account_owner(
    boss, api, setup, django_capture_on_commit_callbacks
):
    pool, reps = setup
    post(
        boss,
        "/api/v1/routing/rules",
        {
            "name": "Bestandskunden",
            "conditions": {"existing_customer": True},
            "target_type": "account_owner",
        },
    )
    customer = company(name="Stammkunde AG")
    r = post(
        api,
        f"/api/v1/routing/accounts/{customer.uuid}",
        {"owner": str(reps[1].uuid), "customer_since": "2019-04-01"},
        method="put",
    )
    assert r.status_code == 200, r.content
    assert r.json()["owner"]["id"] == str(reps[1].uuid)
    lead = make_mql(django_capture_on_commit_callbacks, company=customer)
    assert lead.owner == reps[1]
    r = post(
        api,
        f"/api/v1/routing/accounts/{customer.uuid}",
        {"owner": "00000000-0000-0000-0000-000000000000"},
        method="put",
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "owner"]


def test_dates_must_be_iso_8601_not_numbers(boss):
    r = boss.get("/api/v1/routing/reports/sla", {"start": "0"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "start"]
    r = boss.get("/api/v1/routing/reports/sla", {"start": "2026-01-01", "end": "2025-12-31"})
    assert r.status_code == 422 and r.json()["detail"][0]["msg"] == "end is before start"


def test_any_time_zone_offset_is_accepted_and_stored_in_utc(boss, setup):
    pool, reps = setup
    r = post(
        boss,
        "/api/v1/routing/absences",
        {
            "user": str(reps[0].uuid),
            "starts_at": "2027-08-19T15:23:56+23:29",
            "ends_at": "2027-08-20T08:00:00Z",
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["starts_at"] == "2027-08-18T15:54:56Z"
