"""The public web form /f/<uuid>/: what a visitor of a company website sees and sends, and
what keeps bots and forged submissions out."""

from __future__ import annotations

import json
import re
import time
from html import unescape

import pytest
from django.core import signing
from django.test import Client
from django.utils import translation

from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity
from leadwerk.contacts.models import Company, Person
from leadwerk.leads.choices import LeadSource, Stage
from leadwerk.leads.models import Lead, StageChange, WebForm
from leadwerk.leads.public_forms import _SALT, form_token_check, form_token_issue
from leadwerk.tests_support.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def webform(channel, campaign):
    return WebForm.objects.create(
        name="Whitepaper anfordern",
        channel=channel,
        campaign=campaign,
        product_interest="ERP Cloud",
        thank_you_text="Danke, <b>wir</b> melden uns!\nIhr Team",
    )


def visitor(language: str = "en", ip: str = "203.0.113.7") -> Client:
    """A browser on some company's website, without a Leadwerk session or CSRF cookie."""
    return Client(enforce_csrf_checks=True, headers={"Accept-Language": language}, REMOTE_ADDR=ip)


def url(webform) -> str:
    return f"/f/{webform.uuid}/"


def token_of(response) -> str:
    return unescape(re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1))


def submission(token: str, **overrides) -> dict:
    data = {
        "token": token,
        "salutation": "ms",
        "title": "Prof.",
        "first_name": "Zoë",
        "last_name": "Weiß-Öztürk",
        "email": "Zoe.Weiss@Beispiel-Firma.de",
        "phone": "+49 711 987654",
        "job_title": "Leiterin IT",
        "company_name": "Beispiel Firma GmbH",
        "message": "Bitte Whitepaper schicken 📄\nDanke!",
        "page": "https://www.beispiel-firma.de/whitepaper",
        "homepage": "",
    }
    data.update(overrides)
    return data


def nothing_stored() -> bool:
    return not (
        Lead.objects.exists()
        or Person.objects.exists()
        or Company.objects.exists()
        or Activity.objects.exists()
    )


def fill_and_send(client, webform, **overrides):
    token = token_of(client.get(url(webform)))
    return client.post(url(webform), submission(token, **overrides))


# --- rendering ---------------------------------------------------------------------------


def test_the_form_renders_with_a_signed_token_for_this_form(webform):
    response = visitor().get(url(webform), {"page": "https://www.beispiel-firma.de/kontakt"})

    html = response.content.decode()
    assert response.status_code == 200
    form_token_check(token_of(response), form_uuid=webform.uuid)  # raises if not valid
    assert "<h1>Whitepaper anfordern</h1>" in html
    for label in ("First name", "Last name", "E-mail", "Phone", "Job title", "Company", "Message"):
        assert f">{label}" in html, label
    assert 'value="https://www.beispiel-firma.de/kontakt"' in html
    assert 'name="homepage"' in html and 'tabindex="-1"' in html
    assert "csrfmiddlewaretoken" not in html


def test_the_form_may_be_embedded_in_another_site(webform):
    form = visitor().get(url(webform))
    thanks = visitor().get(f"{url(webform)}thanks/")
    assert "X-Frame-Options" not in form.headers
    assert "X-Frame-Options" not in thanks.headers


def test_the_app_itself_may_not_be_framed(admin_user):
    client = Client()
    client.force_login(admin_user)
    assert client.get("/leads/").headers["X-Frame-Options"] == "DENY"


def test_fields_switched_off_for_a_form_are_not_shown(channel):
    webform = WebForm.objects.create(
        name="Kurz", channel=channel, ask_phone=False, ask_job_title=False, ask_message=False
    )
    html = visitor().get(url(webform)).content.decode()
    assert 'name="phone"' not in html and 'name="job_title"' not in html
    assert 'name="message"' not in html and 'name="company_name"' in html


def _labels_in(language: str) -> list[str]:
    with translation.override(language):
        return [str(translation.gettext(s)) for s in ("First name", "E-mail", "Send")]


@pytest.mark.parametrize("language", ["de", "en"])
def test_labels_follow_the_browsers_language(webform, language):
    response = visitor(language=f"{language},en;q=0.5").get(url(webform))

    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert response["Content-Language"] == language
    for label in _labels_in(language):
        assert label in html


def test_a_form_with_a_fixed_language_ignores_the_browser(webform):
    webform.language = "de"
    webform.save()

    response = visitor(language="en").get(url(webform))

    assert '<html lang="de">' in response.content.decode()
    assert response["Content-Language"] == "de"
    thanks = visitor(language="en").get(f"{url(webform)}thanks/")
    assert '<html lang="de">' in thanks.content.decode()


def test_an_inactive_form_is_not_found(webform):
    webform.is_active = False
    webform.save()
    client = visitor()
    assert client.get(url(webform)).status_code == 404
    assert (
        client.post(url(webform), submission(form_token_issue(form_uuid=webform.uuid))).status_code
        == 404
    )
    assert client.get(f"{url(webform)}thanks/").status_code == 404
    assert nothing_stored()


def test_a_form_of_a_switched_off_channel_is_not_found(webform, channel):
    channel.is_active = False
    channel.save()
    assert visitor().get(url(webform)).status_code == 404


def test_an_unknown_form_is_not_found(db):
    assert visitor().get("/f/00000000-0000-0000-0000-000000000000/").status_code == 404


# --- a real submission -------------------------------------------------------------------


def test_a_submission_creates_person_company_lead_and_timeline(webform, channel, campaign):
    client = visitor()

    response = fill_and_send(client, webform)

    assert response.status_code == 302
    assert response["Location"] == f"{url(webform)}thanks/"
    lead = Lead.objects.get()
    assert (lead.source, lead.stage, lead.channel, lead.campaign) == (
        LeadSource.FORM,
        Stage.NEW,
        channel,
        campaign,
    )
    assert lead.product_interest == "ERP Cloud"
    assert lead.message == "Bitte Whitepaper schicken 📄\nDanke!"
    assert lead.created_by is None and lead.owner is None
    person = lead.person
    assert (person.salutation, person.title, person.first_name, person.last_name) == (
        "ms",
        "Prof.",
        "Zoë",
        "Weiß-Öztürk",
    )
    assert person.email_normalized == "zoe.weiss@beispiel-firma.de"
    assert (person.job_title, person.company) == ("Leiterin IT", lead.company)
    assert (lead.company.name, lead.company.legal_form) == ("Beispiel Firma", "GmbH")
    assert StageChange.objects.get(lead=lead).to_stage == Stage.NEW
    entry = Activity.objects.get(lead=lead)
    assert entry.type == ActivityType.FORM_SUBMIT
    assert entry.payload["context"]["form"] == str(webform.uuid)
    assert entry.payload["context"]["page"] == "https://www.beispiel-firma.de/whitepaper"
    assert entry.payload["context"]["ip"] == "203.0.113.7"


def test_the_thank_you_page_shows_the_forms_text_escaped(webform):
    response = visitor().get(f"{url(webform)}thanks/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Danke, &lt;b&gt;wir&lt;/b&gt; melden uns!<br>Ihr Team" in html


def test_form_and_api_create_the_same_records_for_the_same_person(webform, api):
    # given a lead through the API ...
    body = {
        "person": {
            "first_name": "Zoë",
            "last_name": "Weiß-Öztürk",
            "email": "zoe.weiss@beispiel-firma.de",
        },
        "company": {"name": "Beispiel Firma GmbH"},
        "channel": "website",
        "campaign": "whitepaper",
    }
    created = api.post("/api/v1/leads", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    # ... when the same person sends the form (other case in the address) ...
    fill_and_send(visitor(), webform, email="ZOE.WEISS@beispiel-firma.de ")
    # ... then both leads belong to one person and one company, like two API calls would.
    api_lead, form_lead = Lead.objects.order_by("id")
    assert str(api_lead.uuid) == created.json()["id"]
    assert form_lead.person == api_lead.person and form_lead.company == api_lead.company
    assert Person.objects.count() == Company.objects.count() == 1
    assert [a.type for a in Activity.objects.order_by("id")] == [
        ActivityType.API_INTAKE,
        ActivityType.FORM_SUBMIT,
    ]
    # The form filled what the API left empty, as matching does for every door.
    form_lead.person.refresh_from_db()
    assert form_lead.person.job_title == "Leiterin IT"


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        ("Jürgen", "Straße"),
        ("Zoë 🚀", "O'Brien"),
        ("דוד", "כהן"),
        ("<b>Kai</b>", "<script>x</script>"),
    ],
)
def test_names_are_stored_verbatim(webform, first_name, last_name):
    fill_and_send(visitor(), webform, first_name=first_name, last_name=last_name)
    person = Person.objects.get()
    assert (person.first_name, person.last_name) == (first_name, last_name)


# --- refused submissions -------------------------------------------------------------------


def error_at(response, field: str) -> str:
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", "", match.group(1))) if match else ""


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": ""}, "email", "This field is required."),
        ({"email": "zoe@"}, "email", "Enter a valid e-mail address"),
        ({"first_name": ""}, "first_name", "This field is required."),
        ({"last_name": ""}, "last_name", "This field is required."),
        ({"phone": "ruf mich an"}, "phone", "A phone number needs digits."),
        ({"message": "x" * 10_001}, "message", "at most 10000 characters"),
    ],
)
def test_invalid_entries_are_named_at_their_fields_and_nothing_is_stored(
    webform, overrides, field, message
):
    response = fill_and_send(visitor(), webform, **overrides)

    assert response.status_code == 422
    assert message in error_at(response, field)
    assert "Please check the marked fields." in response.content.decode()
    assert nothing_stored()


def test_after_an_error_the_form_keeps_the_entries_and_a_fresh_token(webform):
    client = visitor()
    response = fill_and_send(client, webform, email="zoe@", first_name="<b>Kai</b>")

    html = response.content.decode()
    assert 'value="&lt;b&gt;Kai&lt;/b&gt;"' in html
    assert "<b>Kai</b>" not in html
    corrected = client.post(url(webform), submission(token_of(response)))
    assert corrected.status_code == 302 and Lead.objects.count() == 1


def test_a_filled_honeypot_gets_the_thank_you_page_and_stores_nothing(webform):
    response = fill_and_send(visitor(), webform, homepage="https://spam.example")

    assert response.status_code == 302
    assert response["Location"] == f"{url(webform)}thanks/"
    assert nothing_stored()


def test_submissions_beyond_the_rate_limit_get_429(webform, settings):
    settings.LEADWERK_FORM_RATE_LIMIT = 2
    client = visitor(ip="198.51.100.9")

    answers = [
        fill_and_send(client, webform, email=f"person{i}@example.de").status_code for i in range(3)
    ]

    assert answers == [302, 302, 429]
    assert Lead.objects.count() == 2
    refused = fill_and_send(client, webform, email="late@example.de")
    assert refused.status_code == 429
    assert "Too many submissions from your network." in refused.content.decode()
    assert refused["Retry-After"] == str(settings.LEADWERK_FORM_RATE_WINDOW)
    assert "X-Frame-Options" not in refused.headers
    # Another network is not affected.
    assert fill_and_send(visitor(ip="192.0.2.1"), webform).status_code == 302


def _old_token(form_uuid, seconds_ago: int) -> str:
    class OldSigner(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - seconds_ago)

    return OldSigner(salt=_SALT).sign_object(
        {"f": str(form_uuid), "t": time.time() - seconds_ago}, serializer=signing.JSONSerializer
    )


def _tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda wf, other: "", "could not be verified"),
        (lambda wf, other: "forged-token", "could not be verified"),
        (lambda wf, other: _tampered(form_token_issue(form_uuid=wf.uuid)), "could not be verified"),
        (
            lambda wf, other: signing.dumps({"f": str(wf.uuid), "t": time.time()}, salt="other"),
            "could not be verified",
        ),
        (lambda wf, other: form_token_issue(form_uuid=other.uuid), "belongs to a different form"),
        (lambda wf, other: _old_token(wf.uuid, 2 * 86400), "has expired"),
    ],
    ids=["missing", "garbage", "tampered", "other-salt", "other-form", "expired"],
)
def test_a_bad_token_is_refused_with_a_clear_message(webform, channel, make_token, message):
    other = WebForm.objects.create(name="Anderes Formular", channel=channel)

    response = visitor().post(url(webform), submission(make_token(webform, other)))

    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert 'value="Weiß-Öztürk"' in html, "the visitor's entries are kept"
    form_token_check(token_of(response), form_uuid=webform.uuid)  # a fresh, valid token
    assert nothing_stored()


def test_a_token_older_than_the_configured_age_is_expired(webform, settings):
    settings.LEADWERK_FORM_TOKEN_MAX_AGE = 60
    response = visitor().post(url(webform), submission(_old_token(webform.uuid, 120)))
    assert response.status_code == 400
    assert "has expired" in response.content.decode()
    assert nothing_stored()


def test_a_submission_faster_than_a_human_is_refused(webform, settings):
    settings.LEADWERK_FORM_MIN_FILL_SECONDS = 3
    client = visitor()

    response = fill_and_send(client, webform)

    assert response.status_code == 400
    assert "faster than a person can fill it in" in response.content.decode()
    assert nothing_stored()
    # A visitor who took their time gets through.
    assert client.post(url(webform), submission(_old_token(webform.uuid, 10))).status_code == 302
    assert Lead.objects.count() == 1


def test_the_form_works_without_csrf_cookie_or_session(webform):
    # The visitor's browser holds no Leadwerk cookie (third-party iframe); the client
    # enforces CSRF checks, so only the signed token lets the submission through.
    client = visitor()
    page = client.get(url(webform))
    assert not page.cookies
    response = client.post(url(webform), submission(token_of(page)))
    assert response.status_code == 302
    assert not response.cookies
    assert Lead.objects.count() == 1


def test_a_body_over_64_kb_is_refused_with_413(webform):
    response = visitor().post(
        url(webform), submission(form_token_issue(form_uuid=webform.uuid), message="ä" * 40_000)
    )
    assert response.status_code == 413
    assert nothing_stored()


def test_a_switched_off_campaign_refuses_politely_and_stores_nothing(webform, campaign):
    campaign.is_active = False
    campaign.save()

    response = fill_and_send(visitor(), webform)

    assert response.status_code == 422
    assert "This form cannot take inquiries at the moment." in response.content.decode()
    assert nothing_stored()


def test_only_get_and_post_are_allowed(webform):
    assert visitor().put(url(webform)).status_code == 405
    assert visitor().delete(url(webform)).status_code == 405


def test_form_name_is_escaped(channel):
    webform = WebForm.objects.create(name="<script>alert(1)</script> Kontakt", channel=channel)
    html = visitor().get(url(webform)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Kontakt" in html


def test_a_campaign_form_only_creates_leads_in_its_own_campaign(webform, channel):
    other = CampaignFactory(slug="sommer", channel=channel)
    # A visitor cannot move the lead into another campaign by adding fields.
    fill_and_send(visitor(), webform, campaign=other.slug, channel="trade-fair")
    assert Lead.objects.get().campaign == webform.campaign
