"""The public web form's newsletter checkbox: optional and unticked, showing the published
consent text; ticked, the inquiry and the double opt-in request are stored together and the
confirmation mail arrives over real SMTP; unticked, nothing about consent is recorded."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from leadwerk.consent.choices import ConsentSource, ConsentState
from leadwerk.consent.models import ConsentRecord, ConsentStatus, DoubleOptIn
from leadwerk.leads.models import Lead, WebForm
from leadwerk.tests_support.consent import grant, publish_text

from .test_public_form import submission, token_of, url, visitor

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Windows NT 10.0) FormConsentTest/2.0"
EMAIL = "zoe.weiss@beispiel-firma.de"
TEXT_DE = "Ja, ich möchte den Newsletter der Beispiel GmbH. Widerruf jederzeit. <Fassung 1>"
TEXT_EN = "Yes, I would like to receive the Beispiel GmbH newsletter. Version EN-1."


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    translation.activate("de")


@pytest.fixture
def webform(channel):
    return WebForm.objects.create(name="Kontakt", channel=channel, product_interest="ERP")


@pytest.fixture
def texts(marketing_user):
    return (
        publish_text(language="de", text=TEXT_DE, actor=marketing_user),
        publish_text(language="en", text=TEXT_EN, actor=marketing_user),
    )


def browser(language: str):
    client = visitor(language=language, ip="198.51.100.23")
    client.defaults["HTTP_USER_AGENT"] = BROWSER
    return client


def shown(client, webform) -> dict:
    """Open the form as a browser does: the hidden fields it will send back."""
    page = client.get(url(webform))
    found = re.search(r'name="consent_text" value="([^"]+)"', page.content.decode())
    return {"token": token_of(page), "consent_text": found.group(1) if found else ""}


def send(client, webform, **overrides):
    hidden = shown(client, webform)
    data = submission(hidden.pop("token"), email=EMAIL, **hidden)
    data.update(overrides)
    return client.post(url(webform), data)


def test_without_a_published_text_the_form_has_no_newsletter_checkbox(webform):
    html = visitor().get(url(webform)).content.decode()
    assert 'name="newsletter"' not in html
    assert 'name="consent_text"' not in html


def test_the_checkbox_is_unticked_and_shows_the_text_in_the_visitors_language(webform, texts):
    german = browser("de").get(url(webform)).content.decode()
    english = browser("en").get(url(webform)).content.decode()
    assert '<input type="checkbox" name="newsletter" id="id_newsletter">' in german
    # The text is shown as published, escaped.
    assert "Widerruf jederzeit. &lt;Fassung 1&gt;" in german and TEXT_EN not in german
    assert TEXT_EN in english and "Fassung 1" not in english
    assert f'value="{texts[1].uuid}"' in english


def test_ticked_box_sends_the_double_opt_in_mail_and_its_link_confirms(
    webform, texts, smtp_server, django_capture_on_commit_callbacks
):
    client = browser("en")
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, webform, newsletter="on")
    assert response.status_code == 302
    lead = Lead.objects.get()
    person = lead.person
    assert person.email == EMAIL
    status = ConsentStatus.objects.get(person=person, purpose="newsletter", channel="email")
    assert status.state == ConsentState.PENDING
    pending = status.record
    assert pending.source == ConsentSource.FORM
    assert pending.text == texts[1]  # the English version the visitor saw
    assert (pending.ip, pending.user_agent) == ("198.51.100.23", BROWSER)
    assert pending.double_opt_in is not None

    [mail] = smtp_server.to(EMAIL)
    assert TEXT_EN in mail.text
    link = next(link for link in mail.links() if "/c/confirm/" in link)
    path = link[link.index("/c/") :]
    reader = browser("en")  # the person's mail program opens the link in a browser
    page = reader.get(path).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert ConsentStatus.objects.get(pk=status.pk).state == ConsentState.PENDING
    confirmed = reader.post(path, {"csrfmiddlewaretoken": csrf})
    assert confirmed.status_code == 200
    status.refresh_from_db()
    assert status.state == ConsentState.GRANTED
    granted = ConsentRecord.objects.filter(person=person).first()
    assert granted.source == ConsentSource.DOUBLE_OPT_IN and granted.text == texts[1]


def test_unticked_box_stores_the_inquiry_and_records_no_consent(
    webform, texts, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(browser("de"), webform)
    assert response.status_code == 302
    assert Lead.objects.count() == 1
    assert not ConsentRecord.objects.exists()
    assert not ConsentStatus.objects.exists()
    assert not DoubleOptIn.objects.exists()
    assert smtp_server.to(EMAIL) == []


def test_the_version_shown_is_recorded_even_if_a_new_one_is_published_meanwhile(
    webform, texts, marketing_user, smtp_server, django_capture_on_commit_callbacks
):
    client = browser("de")
    hidden = shown(client, webform)
    newer = publish_text(language="de", text="Fassung 2 des Textes.", actor=marketing_user)
    assert newer.version == 2
    data = submission(hidden.pop("token"), email=EMAIL, newsletter="on", **hidden)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(webform), data)
    record = ConsentRecord.objects.get()
    assert record.state == ConsentState.PENDING and record.text == texts[0]
    [mail] = smtp_server.to(EMAIL)
    assert "Widerruf jederzeit. <Fassung 1>" in mail.text


def test_someone_who_confirmed_before_keeps_the_consent_and_the_inquiry_is_stored(
    webform, texts, smtp_server, django_capture_on_commit_callbacks
):
    first = send(browser("de"), webform)
    assert first.status_code == 302
    person = Lead.objects.get().person
    grant(person)
    with django_capture_on_commit_callbacks(execute=True):
        second = send(browser("de"), webform, newsletter="on")
    assert second.status_code == 302
    assert Lead.objects.filter(person=person).count() == 2
    assert ConsentStatus.objects.get(person=person).state == ConsentState.GRANTED
    assert not DoubleOptIn.objects.exists()
    assert smtp_server.to(EMAIL) == []
