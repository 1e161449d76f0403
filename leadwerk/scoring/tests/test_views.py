"""The scoring pages as marketing, sales and admins use them."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leadwerk.accounts.choices import Role
from leadwerk.activities.models import EventSettings
from leadwerk.leads.choices import Stage
from leadwerk.scoring.choices import ModelStatus, RunKind, RunStatus
from leadwerk.scoring.evaluation import active_model
from leadwerk.scoring.models import ScoringModel, ScoringRun
from leadwerk.scoring.services import scoring_run_start, scoring_run_step
from leadwerk.tests_support.factories import UserFactory

from .helpers import default_document, make_lead, record

pytestmark = pytest.mark.django_db


def login(user, language: str = "en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


@pytest.fixture
def marketing(marketing_user):
    return login(marketing_user)


def test_marketing_sees_the_active_model_and_the_matrix_of_open_leads(marketing):
    lead = make_lead(grade="A")
    record(lead.person, ("form_submit", timezone.now() - timedelta(hours=1)))
    response = marketing.get(reverse("scoring:overview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "B2B-Standard" in html
    assert '<td class="warm">1<small>A3</small></td>' in html
    assert "Formular abgeschickt" in html  # the rules are listed


def test_sales_reps_may_not_see_the_model_pages(rep):
    client = login(rep)
    for name in ("scoring:overview", "scoring:models", "scoring:report", "scoring:model_new"):
        assert client.get(reverse(name)).status_code == 403


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("scoring:overview"))
    assert response.status_code == 302 and "/accounts/login" in response["Location"]


def test_a_new_version_with_a_bad_regex_is_refused_with_the_reason(marketing):
    doc = default_document()
    doc["engagement"]["rules"][1]["when"][0]["value"] = "^/(preise"
    response = marketing.post(
        reverse("scoring:model_new"), {"document": json.dumps(doc), "note": "Preise"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "engagement.rules[1].when[0].value: not a valid regular expression" in html
    assert ScoringModel.objects.count() == 1


def test_a_new_version_is_saved_as_a_draft_with_author_and_note(marketing, marketing_user):
    doc = default_document()
    doc["handoff"]["min_engagement"] = 50
    response = marketing.post(
        reverse("scoring:model_new"),
        {"document": json.dumps(doc), "note": "Übergabe schon ab 50 <script>"},
    )
    version = ScoringModel.objects.get(number=2)
    assert response.status_code == 302 and response["Location"] == version.get_absolute_url()
    assert (version.status, version.created_by, version.based_on) == (
        ModelStatus.DRAFT,
        marketing_user,
        active_model(),
    )
    page = marketing.get(version.get_absolute_url()).content.decode()
    assert "Übergabe schon ab 50 &lt;script&gt;" in page
    # The diff to the version it is based on shows the change.
    assert '<span class="del">-    &quot;min_engagement&quot;: 60.0' in page
    assert '<span class="add">+    &quot;min_engagement&quot;: 50.0' in page


def test_import_a_file_and_export_it_again(marketing):
    doc = default_document()
    doc["name"] = "Messe-Saison"
    upload = io.BytesIO(json.dumps(doc).encode())
    upload.name = "modell.json"
    response = marketing.post(reverse("scoring:model_new"), {"upload": upload, "note": "Import"})
    assert response.status_code == 302
    version = ScoringModel.objects.get(name="Messe-Saison")
    exported = marketing.get(reverse("scoring:model_export", args=[version.uuid]))
    assert (
        exported["Content-Disposition"]
        == f'attachment; filename="scoring-model-v{version.number}.json"'
    )
    assert json.loads(exported.content)["name"] == "Messe-Saison"


def test_tuning_numbers_creates_a_new_draft(marketing):
    base = active_model()
    form = marketing.get(reverse("scoring:model_tune", args=[base.uuid]))
    assert form.status_code == 200
    data = _initial(form.context["form"])
    data["rule__formular__points"] = 40
    data["recycle_below"] = 20
    data["note"] = "Formulare etwas weniger"
    response = marketing.post(reverse("scoring:model_tune", args=[base.uuid]), data)
    assert response.status_code == 302
    new = ScoringModel.objects.get(number=2)
    rule = next(r for r in new.config["engagement"]["rules"] if r["id"] == "formular")
    assert rule["points"] == 40 and new.config["recycle"]["below_engagement"] == 20
    # An impossible combination is refused with the model's own reason.
    data["recycle_below"] = 80
    response = marketing.post(reverse("scoring:model_tune", args=[base.uuid]), data)
    assert response.status_code == 422
    assert "must be below the hand-off threshold" in response.content.decode()


def _initial(form) -> dict:
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    return data


def test_preview_shows_old_and_new_mql_counts_then_activation_rescores(marketing):
    lead = make_lead(grade="A")
    record(lead.person, ("form_submit", timezone.now() - timedelta(hours=1)))
    doc = default_document()
    doc["handoff"]["min_engagement"] = 45
    doc["recycle"]["below_engagement"] = 20
    marketing.post(reverse("scoring:model_new"), {"document": json.dumps(doc)})
    draft = ScoringModel.objects.get(number=2)
    response = marketing.post(reverse("scoring:model_preview", args=[draft.uuid]))
    run = ScoringRun.objects.get(kind=RunKind.PREVIEW)
    assert response["Location"] == reverse("scoring:run_detail", args=[run.uuid])
    # While it runs, the page polls its own progress.
    page = marketing.get(
        reverse("scoring:run_detail", args=[run.uuid]), headers={"HX-Request": "true"}
    )
    assert 'hx-trigger="every 1s"' in page.content.decode()
    scoring_run_step(run_uuid=run.uuid, enqueue_next=False)
    page = marketing.get(reverse("scoring:run_detail", args=[run.uuid])).content.decode()
    assert 'hx-trigger="every 1s"' not in page
    assert "On activation 1 leads would become MQLs" in page
    assert "Activate version 2" in page
    response = marketing.post(reverse("scoring:model_activate", args=[draft.uuid]))
    rescore = ScoringRun.objects.get(kind=RunKind.RESCORE)
    assert response["Location"] == reverse("scoring:run_detail", args=[rescore.uuid])
    scoring_run_step(run_uuid=rescore.uuid, enqueue_next=False)
    rescore.refresh_from_db()
    assert rescore.status == RunStatus.DONE
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert active_model() == draft


def test_the_lead_page_loads_the_explained_score(marketing):
    lead = make_lead(grade="A")
    now = timezone.now()
    record(
        lead.person,
        *[("download", now - timedelta(days=d)) for d in (1, 2, 3, 4)],
        ("web_visit", now - timedelta(hours=3), {"path": "/preise", "title": "<b>Preise</b>"}),
    )
    detail = marketing.get(lead.get_absolute_url()).content.decode()
    assert f'hx-get="{reverse("scoring:lead_panel", args=[lead.uuid])}"' in detail
    panel = marketing.get(
        reverse("scoring:lead_panel", args=[lead.uuid]), headers={"HX-Request": "true"}
    )
    html = panel.content.decode()
    assert panel.status_code == 200
    assert "grade A (70 points)" in html
    assert '<tr class="capped"' in html  # the fourth download is beyond the cap of three
    assert "Download (Whitepaper, Datenblatt, …): 3 of 4 count" in html
    assert "<svg" in html and 'class="past"' in html
    assert "&lt;b&gt;Preise&lt;/b&gt;" in html
    # Without htmx it is a page of its own.
    assert (
        "<html" in marketing.get(reverse("scoring:lead_panel", args=[lead.uuid])).content.decode()
    )


def test_the_lead_score_respects_who_may_see_the_lead(rep):
    lead = make_lead(grade="A")
    assert login(rep).get(reverse("scoring:lead_panel", args=[lead.uuid])).status_code == 404


def test_the_inbox_shows_and_sorts_by_score(marketing, django_assert_max_num_queries):
    leads = [make_lead(grade="B") for _ in range(3)]
    for n, lead in enumerate(leads):
        record(
            lead.person, *[("download", timezone.now() - timedelta(hours=h)) for h in range(n + 1)]
        )
    # Query count stays flat however many leads are listed (the score is joined, not fetched).
    with django_assert_max_num_queries(12):
        response = marketing.get(reverse("leads:inbox"), {"sort": "-score", "min_score": 5})
    html = response.content.decode()
    assert html.count('class="score-cell"') == 3
    assert html.index(str(leads[2].person)) < html.index(str(leads[0].person))
    assert 'value="-score" selected' in html
    response = marketing.get(reverse("leads:inbox"), {"min_score": 15})
    assert response.content.decode().count('class="score-cell"') == 2


def test_the_settings_page_is_for_admins_and_validates_domains(admin_user, marketing):
    assert marketing.get(reverse("scoring:settings")).status_code == 403
    admin = login(admin_user)
    page = admin.get(reverse("scoring:settings"))
    assert "/static/leadwerk/track.js" in page.content.decode()
    response = admin.post(
        reverse("scoring:settings"),
        {
            "tracking_enabled": "on",
            "tracking_domains": "https://www.muster.de/\nnot a host",
            "future_tolerance_seconds": 300,
        },
    )
    assert response.status_code == 422
    assert "is not a host name" in response.content.decode()
    response = admin.post(
        reverse("scoring:settings"),
        {
            "tracking_enabled": "on",
            "tracking_domains": "https://www.muster.de/\nshop.muster.de",
            "future_tolerance_seconds": 120,
            "allow_anonymous_prospects": "on",
        },
    )
    assert response.status_code == 302
    row = EventSettings.objects.get()
    assert row.domain_list == ["www.muster.de", "shop.muster.de"]
    assert (row.allow_anonymous_prospects, row.future_tolerance_seconds, row.updated_by) == (
        True,
        120,
        admin_user,
    )


def test_the_nav_links_to_scoring_for_managers_but_not_for_reps(rep):
    manager = UserFactory(username="chefin", roles=[Role.SALES_MANAGER])
    assert (
        reverse("scoring:overview") in login(manager).get(reverse("leads:inbox")).content.decode()
    )
    assert (
        reverse("scoring:overview") not in login(rep).get(reverse("leads:inbox")).content.decode()
    )


def test_a_run_can_be_resumed_after_its_worker_stopped(marketing):
    run = scoring_run_start(model=active_model(), kind=RunKind.PREVIEW, actor=None, enqueue=False)
    response = marketing.post(reverse("scoring:run_resume", args=[run.uuid]))
    assert response.status_code == 302
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(task_path="leadwerk.scoring.tasks.run_step").count() == 1


def test_the_scoring_pages_speak_german(marketing_user):
    html = login(marketing_user, "de").get(reverse("scoring:overview")).content.decode()
    assert "Offene Leads jetzt" in html
    assert "Übergabe" in html
    assert "Feedback des Vertriebs" in html


def test_an_automatic_hand_off_gives_its_reason_in_german():
    from django.utils import translation

    lead = make_lead(grade="A")
    now = timezone.now()
    with translation.override("de"):
        record(
            lead.person,
            ("form_submit", now - timedelta(minutes=3)),
            ("download", now - timedelta(minutes=2)),
            ("web_visit", now - timedelta(minutes=1), {"path": "/preise"}),
        )
    change = lead.stage_changes.get(to_stage=Stage.MQL)
    assert change.reason.startswith("Lead-Scoring (Modell v1): Fit A (70 Punkte)")
