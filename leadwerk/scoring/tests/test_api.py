"""The scoring API: a lead's explained score, model versions (import, export, preview,
activation) and runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import bearer_client
from leadwerk.scoring.choices import ModelStatus, RunStatus
from leadwerk.scoring.evaluation import active_model
from leadwerk.scoring.models import ScoringModel
from leadwerk.scoring.services import scoring_run_step

from .helpers import default_document, make_lead, record

pytestmark = pytest.mark.django_db


def test_the_score_of_a_lead_explains_itself(api):
    lead = make_lead(grade="A")
    now = timezone.now()
    record(
        lead.person,
        *[("download", now - timedelta(days=d)) for d in (1, 2, 3, 4)],
        ("form_submit", now - timedelta(days=45)),
    )
    response = api.get(f"/api/v1/leads/{lead.uuid}/score")
    assert response.status_code == 200
    body = response.json()
    assert (body["fit_grade"], body["fit_points"]) == ("A", 70)
    matched = {r["rule"] for r in body["fit_rules"] if r["matched"]}
    assert matched == {"dach", "mittelstand", "zielbranche", "entscheider"}
    assert body["model"]["version"] == 1 and body["model_is_active"] is True
    downloads = [e for e in body["events"] if e["rule"] == "download"]
    assert [e["counted"] for e in downloads] == [True, True, True, False]
    assert downloads[-1]["points_now"] == 0
    form = next(e for e in body["events"] if e["rule"] == "formular")
    assert form["points"] == 50 and 24.9 < form["points_now"] <= 25.0  # one half-life
    assert body["caps"] == [
        {
            "rule": "download",
            "label": "Download (Whitepaper, Datenblatt, …)",
            "max_count": 3,
            "matched": 4,
            "counted": 3,
        }
    ]
    total = sum(e["points_now"] for e in body["events"])
    assert abs(body["engagement"] - total) < 0.05
    assert (body["band"], body["cell"], body["label"]) == (3, "A3", "warm")
    assert body["handoff"] == {
        "min_grade": "B",
        "min_engagement": 60.0,
        "grade_ok": True,
        "engagement_ok": False,
        "met": False,
    }
    assert body["next_check_at"] is not None
    assert len(body["history"]) >= 91
    assert body["history"][-1]["engagement"] == pytest.approx(body["engagement"], abs=0.01)


def test_the_score_of_a_lead_the_user_may_not_see_is_not_found(rep):
    lead = make_lead(grade="A")
    response = bearer_client(rep).get(f"/api/v1/leads/{lead.uuid}/score")
    assert response.status_code == 404


def test_import_refuses_a_bad_model_naming_every_problem(api):
    doc = default_document()
    doc["engagement"]["groups"][0]["half_life_days"] = -3
    doc["fit"]["rules"][0]["field"] = "company.umsatz"
    doc["engagement"]["rules"][1]["when"][0]["value"] = "(["
    response = api.post("/api/v1/scoring/models", json.dumps(doc), content_type="application/json")
    assert response.status_code == 422
    locs = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert ("body", "engagement", "groups", 0, "half_life_days") in locs
    assert ScoringModel.objects.count() == 1
    doc["engagement"]["groups"][0]["half_life_days"] = 14
    response = api.post("/api/v1/scoring/models", json.dumps(doc), content_type="application/json")
    locs = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert locs == {
        ("body", "fit", "rules", 0, "field"),
        ("body", "engagement", "rules", 1, "when", 0, "value"),
    }


def test_export_import_activate_round_trip(api, admin_user):
    active = active_model()
    exported = api.get(f"/api/v1/scoring/models/{active.uuid}/export")
    assert exported.status_code == 200
    doc = json.loads(exported.content)
    doc["handoff"]["min_engagement"] = 55
    response = api.post(
        "/api/v1/scoring/models?note=Schwelle%2055",
        json.dumps(doc),
        content_type="application/json",
    )
    assert response.status_code == 201
    created = response.json()
    assert (created["version"], created["status"], created["note"]) == (2, "draft", "Schwelle 55")
    assert created["created_by"]["id"] == str(admin_user.uuid)
    preview = api.post(f"/api/v1/scoring/models/{created['id']}/preview")
    assert preview.status_code == 202 and preview.json()["status"] == "queued"
    run = api.post(f"/api/v1/scoring/models/{created['id']}/activate")
    assert run.status_code == 202
    scoring_run_step(run_uuid=run.json()["id"], enqueue_next=False)
    status = api.get(f"/api/v1/scoring/runs/{run.json()['id']}").json()
    assert (status["status"], status["percent"]) == (RunStatus.DONE, 100)
    versions = api.get("/api/v1/scoring/models").json()
    assert [(v["version"], v["status"]) for v in versions] == [
        (2, ModelStatus.ACTIVE),
        (1, ModelStatus.RETIRED),
    ]
    again = api.post(f"/api/v1/scoring/models/{created['id']}/activate")
    assert again.status_code == 409


def test_only_marketing_and_admins_change_the_model(rep, marketing_user):
    body = json.dumps(default_document())
    assert (
        bearer_client(rep)
        .post("/api/v1/scoring/models", body, content_type="application/json")
        .status_code
        == 403
    )
    assert bearer_client(rep).get("/api/v1/scoring/models").status_code == 200
    assert (
        bearer_client(marketing_user)
        .post("/api/v1/scoring/models", body, content_type="application/json")
        .status_code
        == 201
    )


def test_malformed_model_json_is_a_400(api):
    response = api.post("/api/v1/scoring/models", "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("malformed JSON")
