"""Website tracking: page views with a first-party visitor id, joined to the person when they
identify through a Leadwerk web form (or an event naming the visitor)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity, EventSettings, PageView, Visitor
from leadwerk.leads.models import Lead, WebForm
from leadwerk.leads.public_forms import form_token_issue
from leadwerk.scoring.models import LeadScore
from leadwerk.scoring.tests.helpers import make_lead

pytestmark = pytest.mark.django_db
COLLECT = "/t/collect"
SITE = "https://www.muster-maschinen.de"


@pytest.fixture
def tracking(db):
    EventSettings.objects.update_or_create(
        pk=1, defaults={"tracking_enabled": True, "tracking_domains": "muster-maschinen.de"}
    )


def view(client, visitor, path="/", *, origin=SITE, title="Start", **body):
    payload = {"v": str(visitor), "u": SITE + path, "t": title, "r": "", **body}
    return client.post(
        COLLECT, json.dumps(payload), content_type="text/plain", headers={"Origin": origin}
    )


def test_the_snippet_is_a_static_file_served_by_leadwerk(client):
    response = client.get("/static/leadwerk/track.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"/t/collect" in body and b"lw_vid" in body and b"vid" in body


def test_page_views_are_refused_while_tracking_is_off(client, db):
    response = view(client, uuid.uuid4())
    assert response.status_code == 404
    assert not PageView.objects.exists()


def test_only_configured_websites_may_report_page_views(client, tracking):
    response = view(client, uuid.uuid4(), origin="https://evil.example")
    assert response.status_code == 403
    assert response.json()["detail"] == "pages of 'evil.example' may not report page views"
    response = view(client, uuid.uuid4(), origin="https://shop.muster-maschinen.de")
    assert response.status_code == 204


def test_an_unknown_visitor_s_page_views_wait_for_them_to_identify(client, tracking):
    visitor = uuid.uuid4()
    assert view(client, visitor, "/preise", title="Preise").status_code == 204
    assert view(client, visitor, "/produkte/erp").status_code == 204
    assert [pv.path for pv in PageView.objects.order_by("id")] == ["/preise", "/produkte/erp"]
    assert not Activity.objects.exists()


def test_bad_page_views_are_refused_clearly(client, tracking, settings):
    assert view(client, "not-a-uuid").status_code == 400
    response = client.post(
        COLLECT,
        json.dumps({"v": str(uuid.uuid4()), "u": "https://fremd.example/x"}),
        content_type="text/plain",
        headers={"Origin": SITE},
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "bad page view: 'u' is not a page of a tracked website"
    response = client.post(COLLECT, "x" * 9000, content_type="text/plain", headers={"Origin": SITE})
    assert response.status_code == 413
    settings.LEADWERK_TRACK_RATE_LIMIT = 2
    other = Client(REMOTE_ADDR="203.0.113.7")
    visitor = uuid.uuid4()
    assert [view(other, visitor).status_code for _ in range(3)] == [204, 204, 429]


def _webform(channel) -> WebForm:
    return WebForm.objects.create(name="Kontakt", channel=channel)


def test_a_form_submission_joins_the_visitor_and_their_views_count_for_the_score(
    client, tracking, channel
):
    visitor = uuid.uuid4()
    view(client, visitor, "/preise", title="Preise")
    view(client, visitor, "/referenzen")
    webform = _webform(channel)
    url = reverse("leads:public_form", args=[webform.uuid])
    page = client.get(url, {"vid": str(visitor), "page": SITE + "/kontakt"})
    assert f'name="visitor" value="{visitor}"' in page.content.decode()
    response = client.post(
        url,
        {
            "token": form_token_issue(form_uuid=webform.uuid),
            "visitor": str(visitor),
            "first_name": "Ada",
            "last_name": "Muster",
            "email": "ada@muster-maschinen.de",
        },
    )
    assert response.status_code == 302
    lead = Lead.objects.get()
    visits = lead.person.activities.filter(type=ActivityType.WEB_VISIT).order_by("occurred_at")
    assert [v.payload["path"] for v in visits] == ["/preise", "/referenzen"]
    assert all(v.lead_id == lead.pk for v in visits)
    assert not PageView.objects.exists()
    assert Visitor.objects.get(id=visitor).person == lead.person
    # form 50 + pricing page 10 + two page views 2 = 62 (just now, hardly decayed)
    assert LeadScore.objects.get(lead=lead).engagement_now > 61.9

    # Later page views go straight to the timeline and the score.
    assert view(client, visitor, "/preise/cloud").status_code == 204
    assert lead.person.activities.filter(type=ActivityType.WEB_VISIT).count() == 3
    # form, two pricing pages (page view and pricing rule each), one other page
    assert LeadScore.objects.get(lead=lead).counted == 6


def test_an_event_naming_the_visitor_joins_them(api, tracking, client):
    lead = make_lead(grade="A", email="ben@muster-maschinen.de")
    visitor = uuid.uuid4()
    view(client, visitor, "/preise")
    response = api.post(
        "/api/v1/events",
        json.dumps(
            {"person_id": str(lead.person.uuid), "type": "email_click", "visitor_id": str(visitor)}
        ),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert lead.person.activities.filter(type=ActivityType.WEB_VISIT).count() == 1
    # click 3 + pricing page 11
    assert response.json()["leads"][0]["score"]["engagement"] > 13.9
