"""Consent: a never-overwritten history per person, purpose and channel; double opt-in by a
signed, expiring, single-use link clicked from a real e-mail; unsubscribe and preferences."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.utils import timezone

from leadwerk.audit.choices import AuditAction
from leadwerk.audit.models import AuditEntry
from leadwerk.consent.choices import ConsentSource, ConsentState, LegalBasis
from leadwerk.consent.models import ConsentRecord, ConsentStatus, DoubleOptIn
from leadwerk.consent.selectors import consent_basis
from leadwerk.consent.services import consent_doi_start, consent_record, consent_withdraw
from leadwerk.consent.tokens import preferences_token, unsubscribe_token
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.tests_support.consent import grant, publish_text
from leadwerk.tests_support.factories import LeadFactory, PersonFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux) ConsentTest/1.0"


def _path(link: str) -> str:
    return link[link.index("/c/") :]


@pytest.fixture
def person(db):
    return PersonFactory(first_name="Erika", email="erika.doi@example.de", language="de")


@pytest.fixture
def doi_mail(smtp_server, person, marketing_user, django_capture_on_commit_callbacks):
    """A double opt-in for the newsletter started by marketing; the received mail."""
    publish_text(
        purpose="newsletter",
        channel="email",
        actor=marketing_user,
        text="Ich möchte den Newsletter der Beispiel GmbH erhalten. Version A.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        consent_doi_start(
            person=person,
            purpose="newsletter",
            channel="email",
            source=ConsentSource.FORM,
            actor=marketing_user,
        )
    [received] = smtp_server.to(person.email)
    return received


def _confirm_link(received) -> str:
    return next(link for link in received.links() if "/c/confirm/" in link)


def test_double_opt_in_clicked_from_the_received_mail_grants_with_proof(client, person, doi_mail):
    assert "Version A." in doi_mail.text  # the exact text shown is in the mail
    assert consent_basis(person=person, purpose="newsletter", channel="email").ok is False
    link = _path(_confirm_link(doi_mail))
    page = client.get(link, headers={"User-Agent": BROWSER})
    assert page.status_code == 200
    # A GET (a link scanner) confirms nothing.
    assert ConsentStatus.objects.get(person=person).state == ConsentState.PENDING
    response = client.post(link, headers={"User-Agent": BROWSER}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200
    assert "bestätigt" in response.content.decode()
    record = ConsentRecord.objects.filter(person=person).first()
    assert (record.state, record.legal_basis, record.source) == (
        ConsentState.GRANTED,
        LegalBasis.CONSENT,
        ConsentSource.DOUBLE_OPT_IN,
    )
    assert (record.ip, record.user_agent) == ("198.51.100.7", BROWSER)
    assert record.text.text.endswith("Version A.") and record.text.version == 1
    assert record.double_opt_in.confirmed_at is not None
    assert consent_basis(person=person, purpose="newsletter", channel="email").ok is True
    # history: pending, then granted; the pending record is unchanged
    states = list(
        ConsentRecord.objects.filter(person=person)
        .order_by("recorded_at", "id")
        .values_list("state", flat=True)
    )
    assert states == [ConsentState.PENDING, ConsentState.GRANTED]


def test_a_confirmation_link_works_once(client, person, doi_mail):
    link = _path(_confirm_link(doi_mail))
    client.post(link)
    again = client.post(link)
    assert again.status_code == 200
    assert "Bereits bestätigt" in again.content.decode()
    assert ConsentRecord.objects.filter(person=person, state=ConsentState.GRANTED).count() == 1


def test_an_altered_confirmation_link_is_refused(client, person, doi_mail):
    link = _path(_confirm_link(doi_mail))
    token = link.split("/")[3]
    other = PersonFactory(email="mallory@example.de")
    payload = signing.loads(token, salt="leadwerk.consent.doi")
    payload["p"] = str(other.uuid)
    forged = signing.dumps(payload, salt="not-the-secret-salt")
    for bad in (token[:-2] + "xx", forged, token.replace(token[:5], token[:5][::-1])):
        response = client.post(f"/c/confirm/{bad}/")
        assert response.status_code == 400
    assert not ConsentRecord.objects.filter(state=ConsentState.GRANTED).exists()


def test_an_expired_confirmation_link_is_refused(client, person, doi_mail):
    DoubleOptIn.objects.filter(person=person).update(expires_at=timezone.now())
    response = client.post(_path(_confirm_link(doi_mail)))
    assert response.status_code == 410
    assert "abgelaufen" in response.content.decode()
    assert ConsentStatus.objects.get(person=person).state == ConsentState.PENDING


def test_confirmation_links_are_rate_limited(client, settings, person, doi_mail):
    settings.LEADWERK_LINK_RATE_LIMIT = 2
    link = _path(_confirm_link(doi_mail))
    assert [client.get(link).status_code for _ in range(3)] == [200, 200, 429]


def test_double_opt_in_needs_a_text_and_an_address_and_no_current_grant(person):
    with pytest.raises(DomainValidationError, match="keinen Einwilligungstext"):
        consent_doi_start(
            person=person, purpose="newsletter", channel="email", source=ConsentSource.API
        )
    with pytest.raises(DomainValidationError, match="E-Mail-Adresse"):
        consent_doi_start(
            person=PersonFactory(email="", email_normalized=""),
            purpose="newsletter",
            channel="email",
            source=ConsentSource.API,
        )
    grant(person)
    with pytest.raises(Conflict):
        consent_doi_start(
            person=person, purpose="newsletter", channel="email", source=ConsentSource.API
        )


def test_history_is_never_overwritten(person, rep):
    first = grant(person, actor=rep)
    consent_withdraw(
        person=person, purpose="newsletter", channel="email", source=ConsentSource.UI, actor=rep
    )
    grant(person, actor=rep)
    records = list(ConsentRecord.objects.filter(person=person).order_by("recorded_at", "id"))
    assert [r.state for r in records] == ["granted", "withdrawn", "granted"]
    assert records[0].pk == first.pk and records[0].state == "granted"
    with pytest.raises(ValueError, match="never changed"):
        first.save()
    assert [
        e.summary
        for e in AuditEntry.objects.filter(
            action=AuditAction.CONSENT_CHANGE, person_uuid=person.uuid
        ).order_by("at", "id")
    ] == [
        "newsletter/email: - → granted",
        "newsletter/email: granted → withdrawn",
        "newsletter/email: withdrawn → granted",
    ]


def test_consent_as_basis_needs_the_text_version_and_a_matching_purpose(person):
    with pytest.raises(DomainValidationError, match="Version des Texts"):
        consent_record(
            person=person,
            purpose="newsletter",
            channel="email",
            state=ConsentState.GRANTED,
            legal_basis=LegalBasis.CONSENT,
            source=ConsentSource.CALL,
        )
    phone_text = publish_text(purpose="product_marketing", channel="phone")
    with pytest.raises(DomainValidationError, match="anderen Zweck"):
        consent_record(
            person=person,
            purpose="newsletter",
            channel="email",
            state=ConsentState.GRANTED,
            legal_basis=LegalBasis.CONSENT,
            source=ConsentSource.CALL,
            text=phone_text,
        )
    with pytest.raises(DomainValidationError, match="kann den Kanal Telefon nicht nutzen"):
        consent_record(
            person=person,
            purpose="newsletter",
            channel="phone",
            state=ConsentState.WITHDRAWN,
            legal_basis=LegalBasis.CONSENT,
            source=ConsentSource.CALL,
        )
    # Legitimate interest needs no consent text (e.g. existing customers, § 7 (3) UWG).
    record = consent_record(
        person=person,
        purpose="product_marketing",
        channel="email",
        state=ConsentState.GRANTED,
        legal_basis=LegalBasis.LEGITIMATE_INTEREST,
        source=ConsentSource.UI,
    )
    assert (
        consent_basis(person=person, purpose="product_marketing", channel="email").record == record
    )


def test_text_versions_count_up_and_never_change(marketing_user):
    one = publish_text(text="Erste Fassung", actor=marketing_user)
    two = publish_text(text="Zweite Fassung", actor=marketing_user)
    assert (one.version, two.version) == (1, 2)
    one.refresh_from_db()
    assert one.text == "Erste Fassung"


def test_unsubscribe_page_get_changes_nothing_and_the_button_withdraws(client, person):
    grant(person)
    token = unsubscribe_token(person=person, purpose="newsletter", channel="email")
    page = client.get(f"/c/unsubscribe/{token}/")
    assert page.status_code == 200
    assert consent_basis(person=person, purpose="newsletter", channel="email").ok
    done = client.post(f"/c/unsubscribe/{token}/", {"unsubscribe": "1"})
    assert done.status_code == 200
    assert not consent_basis(person=person, purpose="newsletter", channel="email").ok
    record = ConsentRecord.objects.filter(person=person).first()
    assert (record.state, record.source) == (ConsentState.WITHDRAWN, ConsentSource.UNSUBSCRIBE)
    # Clicking again records nothing new.
    client.post(f"/c/unsubscribe/{token}/", {"unsubscribe": "1"})
    assert ConsentRecord.objects.filter(person=person).count() == 2


def test_unsubscribe_links_cannot_be_forged_or_spammed(client, settings, person):
    grant(person)
    token = unsubscribe_token(person=person, purpose="newsletter", channel="email")
    assert client.post(f"/c/unsubscribe/{token[:-3]}abc/").status_code == 400
    assert consent_basis(person=person, purpose="newsletter", channel="email").ok
    settings.LEADWERK_LINK_RATE_LIMIT = 1
    client.get(f"/c/unsubscribe/{token}/")
    assert client.get(f"/c/unsubscribe/{token}/").status_code == 429


def test_preference_page_shows_states_and_withdraws_at_once(client, person):
    grant(person)
    token = preferences_token(person=person)
    page = client.get(f"/c/preferences/{token}/").content.decode()
    assert "Newsletter" in page and "Erteilt" in page
    response = client.post(
        f"/c/preferences/{token}/",
        {"purpose": "newsletter", "channel": "email", "action": "withdraw"},
    )
    assert response.status_code == 200
    assert not consent_basis(person=person, purpose="newsletter", channel="email").ok
    assert ConsentRecord.objects.filter(person=person).first().source == ConsentSource.PREFERENCES


def test_preference_page_subscribe_sends_a_double_opt_in(
    client, person, smtp_server, django_capture_on_commit_callbacks
):
    publish_text()
    token = preferences_token(person=person)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/c/preferences/{token}/",
            {"purpose": "newsletter", "channel": "email", "action": "subscribe"},
        )
    assert ConsentStatus.objects.get(person=person).state == ConsentState.PENDING
    assert any("/c/confirm/" in link for link in smtp_server.to(person.email)[0].links())


def test_preference_link_expires(client, settings, person):
    token = preferences_token(person=person)
    settings.LEADWERK_PREFERENCES_MAX_AGE = -1
    assert client.get(f"/c/preferences/{token}/").status_code == 410


def test_staff_withdraws_on_the_person_page_and_it_applies_at_once(client, person, rep):
    LeadFactory(person=person, owner=rep)
    grant(person)
    client.force_login(rep)
    response = client.post(
        f"/persons/{person.uuid}/consent/withdraw/",
        {"purpose": "newsletter", "channel": "email"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Widerruf erfasst" in response.content.decode()
    record = ConsentRecord.objects.filter(person=person).first()
    assert (record.state, record.recorded_by, record.source) == ("withdrawn", rep, "ui")


def test_staff_records_consent_from_a_call_with_the_text_version(client, person, rep):
    LeadFactory(person=person, owner=rep)
    text = publish_text(purpose="product_marketing", channel="phone")
    client.force_login(rep)
    response = client.post(
        f"/persons/{person.uuid}/consent/record/",
        {
            "purpose": "product_marketing",
            "channel": "phone",
            "legal_basis": "consent",
            "source": "call",
            "text_version": "1",
            "language": "de",
            "evidence": "Anruf 12.3.",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.content.decode()
    record = ConsentRecord.objects.get(person=person)
    assert (record.text, record.evidence, record.recorded_by) == (text, "Anruf 12.3.", rep)
    missing = client.post(
        f"/persons/{person.uuid}/consent/record/",
        {
            "purpose": "newsletter",
            "channel": "email",
            "legal_basis": "consent",
            "source": "call",
            "language": "de",
        },
        headers={"HX-Request": "true"},
    )
    assert missing.status_code == 422
    assert "Version des Texts" in missing.content.decode()


def test_api_records_reads_and_withdraws_consent(person, rep):
    from conftest import bearer_client

    LeadFactory(person=person, owner=rep)
    publish_text()
    api = bearer_client(rep)
    url = f"/api/v1/persons/{person.uuid}/consents"
    created = api.post(
        url,
        {
            "purpose": "newsletter",
            "channel": "email",
            "state": "granted",
            "text_version": 1,
            "source": "form",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["text_version"] == 1
    current = {(c["purpose"], c["channel"]): c["state"] for c in api.get(url).json()["current"]}
    assert current[("newsletter", "email")] == "granted"
    assert current[("profiling", "web")] is None
    withdrawn = api.post(
        url,
        {"purpose": "newsletter", "channel": "email", "state": "withdrawn"},
        content_type="application/json",
    )
    assert withdrawn.status_code == 201
    assert not consent_basis(person=person, purpose="newsletter", channel="email").ok
    bad = api.post(
        url,
        {
            "purpose": "newsletter",
            "channel": "phone",
            "state": "granted",
            "legal_basis": "legitimate_interest",
        },
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "channel"]


def test_partners_may_withdraw_but_not_grant_through_the_api(partner_user):
    from conftest import bearer_client

    person = PersonFactory()
    LeadFactory(person=person, partner=partner_user.partner)
    publish_text()
    api = bearer_client(partner_user)
    url = f"/api/v1/persons/{person.uuid}/consents"
    grant_attempt = api.post(
        url,
        {"purpose": "newsletter", "channel": "email", "state": "granted", "text_version": 1},
        content_type="application/json",
    )
    assert grant_attempt.status_code == 403
    withdraw = api.post(
        url,
        {"purpose": "newsletter", "channel": "email", "state": "withdrawn"},
        content_type="application/json",
    )
    assert withdraw.status_code == 201


def test_consent_texts_page_publishes_a_new_version(client, marketing_user, rep):
    client.force_login(marketing_user)
    response = client.post(
        "/consent/texts/",
        {"purpose": "newsletter", "channel": "email", "language": "de", "text": "Neu <b>fett</b>"},
    )
    assert response.status_code == 302
    page = client.get("/consent/texts/").content.decode()
    assert "Neu &lt;b&gt;fett&lt;/b&gt;" in page
    client.force_login(rep)
    assert client.get("/consent/texts/").status_code == 403


def test_doi_mail_link_carries_no_email_address(person, doi_mail):
    link = _confirm_link(doi_mail)
    assert "@" not in link and "erika" not in link.lower()
    assert re.search(r"/c/confirm/[^/]+/$", link)


def test_double_opt_in_refuses_a_text_of_another_purpose_and_records_nothing(person):
    phone_text = publish_text(purpose="product_marketing", channel="phone")
    publish_text()
    with pytest.raises(DomainValidationError) as err:
        consent_doi_start(
            person=person,
            purpose="newsletter",
            channel="email",
            source=ConsentSource.FORM,
            text=phone_text,
        )
    assert err.value.errors[0].loc == ("text",)
    assert not ConsentRecord.objects.filter(person=person).exists()
    assert not DoubleOptIn.objects.exists()
