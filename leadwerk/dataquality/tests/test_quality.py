"""Completeness, freshness, flags, points for data care, the dashboard and the leaderboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leadwerk.accounts.choices import Role
from leadwerk.activities.models import Activity
from leadwerk.contacts.models import Person
from leadwerk.dataquality.choices import FlagKind
from leadwerk.dataquality.models import CarePoints, QualitySettings, QualitySnapshot, RecordFlag
from leadwerk.dataquality.selectors import (
    care_tasks,
    leaderboard,
    person_figures,
    person_quality,
)
from leadwerk.dataquality.services import (
    company_care_update,
    email_mark_bounced,
    person_care_update,
    record_verify,
    snapshot_take,
)
from leadwerk.errors import DomainValidationError
from leadwerk.tests_support.factories import CompanyFactory, LeadFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(rep):
    company = CompanyFactory(name="Weiß Bau", country="DE", postal_code="80331", city="München")
    full = PersonFactory(last_name="Voll", phone="+49891234567", company=company)
    no_phone = PersonFactory(last_name="Ohne", phone="", company=company)
    bare = PersonFactory(last_name="Leer", email="", email_normalized="", phone="", company=None)
    for person in (full, no_phone, bare):
        LeadFactory(person=person, owner=rep)
    return full, no_phone, bare


def test_completeness_fill_rates_and_stale_over_the_required_fields(people, admin_user):
    full, no_phone, bare = people
    Person.objects.filter(pk=bare.pk).update(updated_at=timezone.now() - timedelta(days=800))
    figures = person_figures(user=admin_user)
    # required by default: last name, e-mail, phone, company
    assert figures.records == 3 and figures.complete == 1
    assert figures.average == pytest.approx((1 + 0.75 + 0.25) / 3)
    rates = {name: rate for name, _label, rate in figures.fill_rates}
    assert rates["phone"] == pytest.approx(1 / 3) and rates["last_name"] == 1
    assert figures.stale == 1
    QualitySettings.objects.create(person_required=["last_name"], stale_after_months=36)
    figures = person_figures(user=admin_user)
    assert (figures.complete, figures.stale) == (3, 0)


def test_verifying_a_stale_record_makes_it_fresh_and_earns_a_point_once(people, rep):
    _, _, bare = people
    Person.objects.filter(pk=bare.pk).update(updated_at=timezone.now() - timedelta(days=800))
    bare.refresh_from_db()
    assert person_quality(person=bare)["stale"]
    assert record_verify(actor=rep, person=bare) == 1
    assert not person_quality(person=bare)["stale"]
    assert record_verify(actor=rep, person=bare) == 0  # again at once: a no-op
    assert CarePoints.objects.filter(user=rep).count() == 1


def test_points_for_filling_and_fixing_but_not_for_no_op_edits(people, rep):
    _, no_phone, _ = people
    RecordFlag.objects.create(
        person=no_phone, field="job_title", kind=FlagKind.INVALID, value="???", reason="unclear"
    )
    assert person_care_update(person=no_phone, actor=rep, changes={"phone": "089 / 123 45-0"}) == 2
    no_phone.refresh_from_db()
    assert (no_phone.phone, no_phone.phone_valid) == ("+4989123450", True)
    assert person_care_update(person=no_phone, actor=rep, changes={"phone": "+4989123450"}) == 0
    assert person_care_update(person=no_phone, actor=rep, changes={"job_title": "Einkauf"}) == 3
    flag = RecordFlag.objects.get(person=no_phone)
    assert flag.resolved_at is not None and flag.resolved_by == rep
    assert person_care_update(person=no_phone, actor=rep, changes={"first_name": "ERIKA"}) == 0
    assert person_care_update(person=no_phone, actor=rep, changes={"first_name": "ANNA"}) == 0
    no_phone.refresh_from_db()
    assert no_phone.first_name == "Anna"  # normalised like at intake
    assert sorted(CarePoints.objects.filter(user=rep).values_list("action", flat=True)) == [
        "fill",
        "fix",
    ]
    changes = Activity.objects.filter(person=no_phone, payload__kind="data_care")
    assert changes.count() == 3


def test_invalid_values_are_refused_with_the_reason(people, rep):
    full, _, _ = people
    with pytest.raises(DomainValidationError, match="not a valid e-mail address"):
        person_care_update(person=full, actor=rep, changes={"email": "kein-at"})
    with pytest.raises(DomainValidationError, match="not a valid EU VAT ID"):
        company_care_update(company=full.company, actor=rep, changes={"vat_id": "DE123"})


def test_company_care_derives_the_federal_state(people, rep):
    full, _, _ = people
    QualitySettings.objects.create(company_required=["name", "vat_id"])
    points = company_care_update(
        company=full.company, actor=rep, changes={"postal_code": "1067", "vat_id": "DE136695976"}
    )
    full.company.refresh_from_db()
    assert (full.company.postal_code, full.company.federal_state) == ("01067", "SN")
    assert points == 2  # the VAT ID was required and empty


def test_bounced_e_mail_is_flagged_once(people, rep, admin_user):
    full, _, bare = people
    assert email_mark_bounced(person=full, reason="550 user unknown", actor=rep)
    assert not email_mark_bounced(person=full, reason="again", actor=rep)
    assert person_figures(user=admin_user).bounced == 1
    with pytest.raises(DomainValidationError):
        email_mark_bounced(person=bare, actor=rep)
    assert any(t.key == "bounced" for t in care_tasks(user=rep))


def test_care_tasks_list_the_users_own_people(people, rep):
    full, no_phone, bare = people
    tasks = {t.key: t for t in care_tasks(user=rep)}
    assert [p.pk for p in tasks["missing_phone"].people] == sorted(
        [no_phone.pk, bare.pk], key=lambda pk: Person.objects.get(pk=pk).last_name
    )
    assert tasks["missing_email"].count == 1
    other = UserFactory(username="rep2", roles=[Role.SALES_REP])
    assert care_tasks(user=other) == []


def test_weekly_leaderboard_per_team(people, rep, team):
    colleague = UserFactory(username="kollege", roles=[Role.SALES_REP], team=team)
    _, no_phone, bare = people
    person_care_update(person=no_phone, actor=rep, changes={"phone": "0171 1234567"})
    record_verify(actor=colleague, person=bare)
    old = CarePoints.objects.create(user=colleague, team=team, action="merge", points=5)
    CarePoints.objects.filter(pk=old.pk).update(occurred_at=timezone.now() - timedelta(days=8))
    boards = leaderboard(user=rep)
    assert len(boards) == 1 and boards[0].team == team
    assert [(r["name"], r["points"], r["me"]) for r in boards[0].rows] == [
        (str(rep), 2, True),
        (str(colleague), 1, False),
    ]


def test_daily_snapshot_and_dashboard(people, client_admin):
    snapshot_take(day=timezone.localdate() - timedelta(days=1))
    snapshot_take()
    snapshot_take()  # the same day again replaces it
    assert QualitySnapshot.objects.count() == 2
    assert QualitySnapshot.objects.last().metrics["persons"] == 3
    response = client_admin.get(reverse("dataquality:dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<polyline" in html and "Worst offenders" in html
    assert "Leer" in html  # the least complete person


def test_pages_render_and_are_scoped(people, rep, client_admin):
    full, _, _ = people
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(rep)
    assert client.get(reverse("dataquality:dashboard")).status_code == 302  # reps: their tasks
    assert client.get(reverse("dataquality:tasks")).status_code == 200
    assert client.get(reverse("dataquality:leaderboard")).status_code == 200
    page = client.get(reverse("dataquality:person_care", args=[full.uuid]))
    assert page.status_code == 200
    stranger = UserFactory(username="fremd", roles=[Role.SALES_REP])
    client.force_login(stranger)
    assert client.get(reverse("dataquality:person_care", args=[full.uuid])).status_code == 404
    assert client.get(reverse("dataquality:settings")).status_code == 403
    assert client_admin.get(reverse("dataquality:settings")).status_code == 200


def test_person_care_form_saves_and_thanks(people, rep):
    _, no_phone, _ = people
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(rep)
    url = reverse("dataquality:person_care", args=[no_phone.uuid])
    data = {
        "salutation": "",
        "title": "",
        "first_name": no_phone.first_name,
        "last_name": no_phone.last_name,
        "email": no_phone.email,
        "phone": "0171 1234567",
        "job_title": "",
        "language": "",
    }
    response = client.post(url, data, follow=True)
    assert "+2 data-care points" in response.content.decode()
    bad = client.post(url, {**data, "email": "kaputt"})
    assert bad.status_code == 422 and "not a valid e-mail address" in bad.content.decode()


def test_settings_page_changes_required_fields_and_thresholds(client_admin):
    response = client_admin.post(
        reverse("dataquality:settings"),
        {
            "person_required": ["last_name", "email"],
            "company_required": ["name"],
            "stale_after_months": 6,
            "auto_merge_threshold": 0.995,
            "review_threshold": 0.7,
            "default_rule": "newest",
            "source_trust": "manual, form, import",
            "rule_phone": "trusted",
        },
    )
    assert response.status_code == 302
    assert QualitySettings.objects.get().person_required == ["last_name", "email"]
    from leadwerk.dedup.services import settings_get

    config = settings_get()
    assert config.auto_merge_threshold == 0.995
    assert (config.default_rule, config.field_rules) == ("newest", {"phone": "trusted"})
    assert config.source_trust == ["manual", "form", "import"]
    bad = client_admin.post(
        reverse("dataquality:settings"),
        {
            "person_required": [],
            "company_required": [],
            "stale_after_months": 6,
            "auto_merge_threshold": 0.8,
            "review_threshold": 0.9,
            "default_rule": "survivor",
            "source_trust": "manual, fax",
        },
    )
    assert bad.status_code == 422
    page = bad.content.decode()
    assert "must not be above the automatic threshold" in page
    assert "unknown sources: fax" in page


def test_person_page_loads_the_quality_panel(people, client_admin):
    full, _, _ = people
    RecordFlag.objects.create(
        person=full, field="phone", kind=FlagKind.INVALID, value="<i>x</i>", reason="kaputt"
    )
    html = client_admin.get(full.get_absolute_url()).content.decode()
    panel_url = reverse("dataquality:person_panel", args=[full.uuid])
    assert f'hx-get="{panel_url}"' in html
    assert reverse("dataquality:person_care", args=[full.uuid]) in html
    panel = client_admin.get(panel_url).content.decode()
    assert "Data quality" in panel and "&lt;i&gt;x&lt;/i&gt;" in panel and "kaputt" in panel
    html = client_admin.get(full.company.get_absolute_url()).content.decode()
    assert reverse("dataquality:company_panel", args=[full.company.uuid]) in html
    panel = client_admin.get(reverse("dataquality:company_panel", args=[full.company.uuid]))
    assert panel.status_code == 200


def test_panels_are_scoped(people):
    full, _, _ = people
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(UserFactory(username="fremd2", roles=[Role.SALES_REP]))
    assert client.get(reverse("dataquality:person_panel", args=[full.uuid])).status_code == 404


def test_a_mail_system_reports_a_bounce_through_the_api(people, admin_user):
    from conftest import bearer_client

    full, _, _ = people
    api = bearer_client(admin_user)
    url = f"/api/v1/persons/{full.uuid}/bounce"
    response = api.post(
        url, {"email": full.email, "reason": "550"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json() == {"flagged": True}
    assert api.post(url, {}, content_type="application/json").json() == {"flagged": False}
    wrong = api.post(url, {"email": "x@y.de"}, content_type="application/json")
    assert wrong.status_code == 409
    flag = RecordFlag.objects.get(person=full, kind=FlagKind.BOUNCED)
    assert (flag.value, flag.reason) == (full.email, "550")
    assert (
        api.post(
            "/api/v1/persons/00000000-0000-0000-0000-000000000000/bounce",
            {},
            content_type="application/json",
        ).status_code
        == 404
    )
