"""The routing pages as a sales manager, a rep and a partner see them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from leadwerk.accounts.choices import Role
from leadwerk.leads.choices import Stage
from leadwerk.routing import services
from leadwerk.routing.choices import TargetType
from leadwerk.routing.models import Notification, RoutingRule
from leadwerk.tests_support.factories import ChannelFactory, UserFactory

from .conftest import company, default_rule_to, make_mql, make_pool, make_reps, new_lead

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def boss(manager):
    return login(manager)


@pytest.fixture
def pool_and_reps(sales_team, always_open):
    reps = make_reps(sales_team, 3)
    pool = make_pool("Vertrieb Nord", reps, team=sales_team)
    default_rule_to(pool)
    return pool, reps


def text(response) -> str:
    return response.content.decode()


def test_a_manager_creates_a_rule_in_the_form(boss, pool_and_reps):
    pool, reps = pool_and_reps
    fair = ChannelFactory(slug="trade-fair", name="Messen")
    response = boss.post(
        "/routing/rules/new/",
        {
            "name": "Messe Bayern",
            "is_active": "on",
            "target_type": "user",
            "target_user": reps[1].pk,
            "postal_codes": "80000-87999, 90000-96999",
            "channels": ["trade-fair"],
            "existing_customer": "no",
            "labels": ["hot"],
        },
    )
    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="Messe Bayern")
    assert rule.conditions == {
        "postal_codes": ["80000-87999", "90000-96999"],
        "labels": ["hot"],
        "channels": [fair.slug],
        "existing_customer": False,
    }
    page = text(boss.get("/routing/"))
    assert page.index("Messe Bayern") < page.index("Alle übrigen Leads")


def test_bad_rule_input_is_shown_at_its_field(boss, pool_and_reps):
    response = boss.post(
        "/routing/rules/new/",
        {"name": "Kaputt", "target_type": "user", "postal_codes": "80000-8799"},
    )
    assert response.status_code == 422
    page = text(response)
    assert "both ends of a range need the same number of characters" in page
    assert "unknown or inactive user" in page
    assert not RoutingRule.objects.filter(name="Kaputt").exists()


def test_the_test_button_shows_which_rule_and_who_would_get_the_lead(boss, pool_and_reps):
    pool, reps = pool_and_reps
    rule = services.rule_save(
        name="Bayern",
        conditions={"postal_codes": ["80000-87999"]},
        target_type=TargetType.USER,
        target_user=reps[0],
    )
    response = boss.post(
        f"/routing/rules/{rule.uuid}/test/",
        {"country": "DE", "postal_code": "80331"},
        headers={"HX-Request": "true"},
    )
    page = text(response)
    assert response.status_code == 200
    assert 'id="rule-test-result"' in page and "<html" not in page
    assert "trifft zu" in page and str(reps[0]) in page
    page = text(boss.post(f"/routing/rules/{rule.uuid}/test/", {"postal_code": "10115"}))
    assert "trifft nicht zu" in page and "Vertrieb Nord" in page


def test_rule_names_are_escaped(boss, pool_and_reps):
    pool, reps = pool_and_reps
    services.rule_save(
        name="<script>alert(1)</script>",
        conditions={},
        target_type=TargetType.USER,
        target_user=reps[0],
    )
    page = text(boss.get("/routing/"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_reps_may_not_open_the_routing_set_up(pool_and_reps):
    rep_client = login(pool_and_reps[1][0])
    for url in (
        "/routing/",
        "/routing/pools/",
        "/routing/calendars/",
        "/routing/settings/",
        "/routing/queue/",
        "/routing/reports/",
    ):
        assert rep_client.get(url).status_code == 403, url
    assert rep_client.get("/routing/absences/").status_code == 200


def test_pool_page_shows_members_and_the_fairness_report(
    boss, pool_and_reps, django_capture_on_commit_callbacks
):
    pool, reps = pool_and_reps
    for _ in range(6):
        make_mql(django_capture_on_commit_callbacks)
    page = text(boss.get(f"/routing/pools/{pool.uuid}/"))
    assert all(str(r) in page for r in reps)
    assert "6 Leads in diesem Zeitraum" in page
    assert 'id="quality-gini"' in page
    response = boss.post(
        f"/routing/pools/{pool.uuid}/",
        {
            "user": UserFactory(username="neu", roles=[Role.SALES_REP], team=reps[0].team).pk,
            "capacity": "-1",
        },
    )
    assert response.status_code == 422
    assert "capacity must be 0 or more" in text(response)


def test_calendars_show_the_regions_holidays_and_refuse_unknown_regions(boss):
    response = boss.post(
        "/routing/calendars/new/",
        {
            "name": "München",
            "time_zone": "Europe/Berlin",
            "country": "DE",
            "subdivision": "BY",
            "hours_0": "08:00-12:00, 13:00-17:00",
            "hours_4": "08:00-14:00",
            "company_holidays": "2026-12-24 Heiligabend",
        },
    )
    assert response.status_code == 302
    page = text(boss.get(response["Location"]))
    assert "Heilige Drei Könige" in page and "Heiligabend" in page
    response = boss.post(
        "/routing/calendars/new/",
        {
            "name": "Nirgendwo",
            "time_zone": "Europe/Berlin",
            "country": "DE",
            "subdivision": "QQ",
            "hours_0": "08:00-17:00",
        },
    )
    assert response.status_code == 422
    assert "unknown region &#x27;QQ&#x27; for DE" in text(response)
    response = boss.post(
        "/routing/calendars/new/",
        {"name": "Falsch", "time_zone": "Europe/Berlin", "country": "DE", "hours_0": "acht bis 5"},
    )
    assert response.status_code == 422
    assert "Schreiben Sie Zeiträume wie 08:00-12:00" in text(response)


def test_absences_are_recorded_and_overlaps_refused(pool_and_reps):
    rep = pool_and_reps[1][0]
    client = login(rep)
    start = timezone.localtime() + timedelta(days=2)
    form = {
        "user": rep.pk,
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "note": "Urlaub",
    }
    assert client.post("/routing/absences/", form).status_code == 302
    form["starts_at"] = (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/routing/absences/", form)
    assert response.status_code == 422 and "overlaps the absence" in text(response)
    other = pool_and_reps[1][1]
    form["user"] = other.pk
    assert client.post("/routing/absences/", form).status_code == 403


def test_the_queue_alerts_and_routes_again(boss, pool_and_reps, django_capture_on_commit_callbacks):
    pool, reps = pool_and_reps
    now = timezone.now()
    absences = [
        services.absence_create(
            user=r, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2)
        )
        for r in reps
    ]
    lead = make_mql(django_capture_on_commit_callbacks)
    page = text(boss.get("/routing/queue/"))
    assert 'id="queue-alert"' in page and "1 Lead wartet auf einen Verantwortlichen" in page
    assert str(lead.person) in page and "abwesend bis" in page
    assert 'title="1 Lead wartet auf einen Verantwortlichen">1</span>' in text(
        boss.get("/routing/badges/")
    )
    for absence in absences:
        services.absence_delete(absence=absence)
    with django_capture_on_commit_callbacks(execute=True):
        response = boss.post(f"/routing/queue/{lead.uuid}/route/")
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner in reps
    assert "Jeder Lead hat einen Verantwortlichen." in text(boss.get("/routing/queue/"))


def test_the_owner_sees_the_badge_and_answers_on_the_lead_page(
    pool_and_reps, django_capture_on_commit_callbacks
):
    lead = make_mql(django_capture_on_commit_callbacks)
    owner = login(lead.owner)
    assert 'hx-get="/routing/badges/"' in text(owner.get("/leads/"))
    assert 'title="1 ungelesene Benachrichtigung">1</span>' in text(owner.get("/routing/badges/"))
    detail = text(owner.get(f"/leads/{lead.uuid}/"))
    assert 'id="routing-panel"' in detail and "Lead annehmen" in detail and 'id="sla-due"' in detail
    onlooker = login(next(r for r in pool_and_reps[1] if r != lead.owner))
    assert "Lead annehmen" not in text(onlooker.get(f"/leads/{lead.uuid}/"))
    notification = Notification.objects.get(user=lead.owner)
    response = owner.get(f"/notifications/{notification.uuid}/")
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.uuid}/"
    assert "badge alert" not in text(owner.get("/routing/badges/"))
    response = owner.post(f"/leads/{lead.uuid}/accept/", {"contacted": "on", "note": "Erreicht"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.SAL and lead.first_response_at is not None


def test_rejecting_on_the_lead_page_needs_a_reason(
    pool_and_reps, django_capture_on_commit_callbacks
):
    lead = make_mql(django_capture_on_commit_callbacks)
    owner = login(lead.owner)
    response = owner.post(
        f"/leads/{lead.uuid}/reject/", {"reason": "other", "text": ""}, follow=True
    )
    assert "Bitte erläutern Sie den Grund „Sonstiges“." in text(response)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    response = owner.post(f"/leads/{lead.uuid}/reject/", {"reason": "no-need"})
    assert response.status_code == 302 and response["Location"] == "/leads/"
    lead.refresh_from_db()
    assert lead.stage == Stage.RECYCLED and lead.owner is None


def test_reports_show_the_service_level_and_who_is_waiting(
    boss, pool_and_reps, django_capture_on_commit_callbacks
):
    answered = make_mql(django_capture_on_commit_callbacks)
    services.lead_accept(lead=answered, actor=answered.owner, contacted=True)
    waiting = make_mql(django_capture_on_commit_callbacks)
    page = text(boss.get("/routing/reports/?by=rep"))
    assert "100,0 %" in page  # German number format
    assert str(waiting.person) in page.split('id="waiting"')[1].split("</table>")[0]
    page = text(boss.get("/routing/reports/?by=channel"))
    sla_table = page.split('id="sla"')[1]
    assert answered.channel.name in sla_table and "50,0 %" not in sla_table


def test_lists_need_a_fixed_number_of_queries(
    boss,
    pool_and_reps,
    sales_team,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    pool, reps = pool_and_reps
    for i in range(8):
        services.rule_save(
            name=f"Regel {i}",
            conditions={"countries": ["DE"]},
            target_type=TargetType.POOL,
            target_pool=pool,
        )
    for i in range(3):
        make_pool(f"Pool {i}", make_reps(sales_team, 3, prefix=f"p{i}r"), team=sales_team)
    for _ in range(6):
        make_mql(django_capture_on_commit_callbacks, company=company())
    owner = login(reps[0])
    for client, url, limit in (
        (boss, "/routing/", 11),
        (boss, "/routing/pools/", 9),
        (boss, "/routing/queue/", 10),
        (boss, "/routing/reports/", 16),
        (owner, "/notifications/", 5),
    ):
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200, url


def test_channels_can_skip_qualification_in_the_settings(boss):
    hotline = ChannelFactory(slug="hotline", name="Hotline")
    ChannelFactory(slug="website", name="Website")
    response = boss.post(
        "/routing/settings/", {"route_at_intake": "1", "route_at_intake_channel": ["hotline"]}
    )
    assert response.status_code == 302
    assert hotline.routing_policy.route_at_intake is True
    response = boss.post(
        "/routing/settings/",
        {
            "channel": "",
            "label": "hot",
            "response_value": "0",
            "response_unit": "hours",
            "reminder_percents": "50",
        },
    )
    assert response.status_code == 422 and "must be at least 1" in text(response)


def test_a_new_lead_from_a_queued_team_is_visible_to_its_manager(
    boss, pool_and_reps, django_capture_on_commit_callbacks
):
    pool, reps = pool_and_reps
    for rep in reps:
        services.pool_member_update(member=pool.members.get(user=rep), is_active=False)
    lead = new_lead()
    make_mql(django_capture_on_commit_callbacks, lead=lead)
    assert boss.get(f"/leads/{lead.uuid}/").status_code == 200


def test_the_answer_forms_carry_a_working_csrf_token(
    pool_and_reps, django_capture_on_commit_callbacks
):
    import re

    lead = make_mql(django_capture_on_commit_callbacks)
    owner = Client(enforce_csrf_checks=True)
    owner.force_login(lead.owner)
    panel = text(owner.get(f"/leads/{lead.uuid}/")).split('id="routing-panel"')[1]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', panel).group(1)
    assert owner.post(f"/leads/{lead.uuid}/accept/", {}).status_code == 403
    response = owner.post(f"/leads/{lead.uuid}/accept/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.SAL
