"""The one door: every e-mail and marketing call task passes message_send, which refuses
without a legal basis, logs every attempt, and is the only way to reach the mail backend."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction

from leadwerk.audit.choices import AuditAction
from leadwerk.audit.models import AuditEntry
from leadwerk.consent.choices import ConsentSource
from leadwerk.consent.services import consent_withdraw
from leadwerk.messaging.backend import MailOutsideDoor
from leadwerk.messaging.choices import MessageStatus
from leadwerk.messaging.models import CallTask, OutboundMessage
from leadwerk.messaging.selectors import call_task_list
from leadwerk.messaging.services import message_send
from leadwerk.tests_support.consent import grant
from leadwerk.tests_support.factories import PersonFactory

pytestmark = pytest.mark.django_db

PACKAGE = Path(__file__).resolve().parents[2]
DOOR_MODULES = {PACKAGE / "messaging" / "services.py", PACKAGE / "messaging" / "backend.py"}
MAIL_NAMES = {
    "send_mail",
    "send_mass_mail",
    "mail_admins",
    "mail_managers",
    "EmailMessage",
    "EmailMultiAlternatives",
    "get_connection",
}


def test_sending_mail_outside_the_door_raises():
    with pytest.raises(MailOutsideDoor):
        mail.send_mail("Hallo", "Text", "a@example.com", ["b@example.com"])
    assert mail.outbox == []


def test_the_configured_backend_is_the_guard():
    settings_module = importlib.import_module("leadwerk.settings")
    assert settings_module.EMAIL_BACKEND == "leadwerk.messaging.backend.GuardedEmailBackend"


def test_no_module_but_the_door_imports_django_mail():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path in DOOR_MODULES or "tests" in path.parts or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "django.core.mail"
            ):
                offenders.append(f"{path}: from {node.module} import …")
            elif isinstance(node, ast.Import) and any(
                a.name.startswith("django.core.mail") for a in node.names
            ):
                offenders.append(f"{path}: import django.core.mail")
            elif (
                isinstance(node, ast.Attribute)
                and node.attr in MAIL_NAMES
                and isinstance(node.value, ast.Name)
                and node.value.id == "mail"
            ):
                offenders.append(f"{path}: mail.{node.attr}")
    assert offenders == []


def test_marketing_mail_without_a_legal_basis_is_refused_and_the_refusal_logged(smtp_server):
    person = PersonFactory(email="ohne.einwilligung@example.de")
    message = message_send(purpose="newsletter", person=person, subject="News", body="Neuigkeiten")
    assert message.status == MessageStatus.REFUSED
    assert "no consent" in message.reason
    assert OutboundMessage.objects.get(pk=message.pk).status == MessageStatus.REFUSED
    entry = AuditEntry.objects.get(action=AuditAction.MESSAGE_REFUSED, object_id=message.uuid)
    assert entry.person_uuid == person.uuid
    assert smtp_server.messages == []


def test_marketing_mail_with_consent_arrives_with_one_click_unsubscribe(
    smtp_server, rep, django_capture_on_commit_callbacks
):
    person = PersonFactory(email="erika@example.de")
    record = grant(person, actor=rep)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            purpose="newsletter", person=person, subject="Newsletter 1", body="Inhalt", actor=rep
        )
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.consent_record == record  # the proof for this message
    [received] = smtp_server.to("erika@example.de")
    assert received.message["Subject"] == "Newsletter 1"
    unsubscribe = str(received.message["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith("<http") and "/c/unsubscribe/" in unsubscribe
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>") in received.text
    assert "/c/preferences/" in received.text


def test_one_click_unsubscribe_from_the_received_mail_stops_the_next_mail(
    smtp_server, client, django_capture_on_commit_callbacks
):
    person = PersonFactory(email="klick@example.de")
    grant(person)
    with django_capture_on_commit_callbacks(execute=True):
        message_send(purpose="newsletter", person=person, subject="Eins", body="Text")
    [received] = smtp_server.to("klick@example.de")
    url = str(received.message["List-Unsubscribe"]).strip().strip("<>")
    path = url[url.index("/c/unsubscribe/") :]
    # RFC 8058: the mail client POSTs this body, without cookies or CSRF token.
    response = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "unsubscribed" in response.content.decode()
    second = message_send(purpose="newsletter", person=person, subject="Zwei", body="Text")
    assert second.status == MessageStatus.REFUSED
    assert "withdrawn" in second.reason
    assert len(smtp_server.to("klick@example.de")) == 1


def test_withdrawal_after_queueing_still_stops_the_mail(
    smtp_server, django_capture_on_commit_callbacks
):
    person = PersonFactory(email="spaet@example.de")
    grant(person)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = message_send(purpose="newsletter", person=person, subject="S", body="B")
        consent_withdraw(
            person=person, purpose="newsletter", channel="email", source=ConsentSource.UI
        )
    message.refresh_from_db()
    assert message.status == MessageStatus.REFUSED
    assert smtp_server.messages == []


def test_a_marketing_call_task_needs_phone_consent(rep):
    person = PersonFactory(phone="+49891234567")
    refused = message_send(
        purpose="product_marketing",
        channel="phone",
        person=person,
        subject="Anruf",
        body="Neues Produkt vorstellen",
        assignee=rep,
        actor=rep,
    )
    assert refused.status == MessageStatus.REFUSED
    assert not CallTask.objects.exists()
    grant(person, purpose="product_marketing", channel="phone", actor=rep)
    created = message_send(
        purpose="product_marketing",
        channel="phone",
        person=person,
        subject="Anruf",
        body="Neues Produkt vorstellen",
        assignee=rep,
        actor=rep,
    )
    assert created.status == MessageStatus.TASK_CREATED
    assert list(call_task_list(user=rep)) == [created.task]


def test_withdrawal_takes_an_open_call_task_off_the_list_at_once(rep, client):
    person = PersonFactory(phone="+49891234567")
    grant(person, purpose="product_marketing", channel="phone")
    message_send(
        purpose="product_marketing",
        channel="phone",
        person=person,
        subject="Anruf",
        body="Termin vereinbaren",
        assignee=rep,
    )
    client.force_login(rep)
    assert "Termin vereinbaren" in client.get("/calls/").content.decode()
    consent_withdraw(
        person=person, purpose="product_marketing", channel="phone", source=ConsentSource.CALL
    )
    assert "Termin vereinbaren" not in client.get("/calls/").content.decode()


def test_plan_call_page_refuses_without_consent_and_says_why(rep, client):
    from leadwerk.tests_support.factories import LeadFactory

    lead = LeadFactory(owner=rep, person=PersonFactory(phone="+49891234567"))
    client.force_login(rep)
    response = client.post(
        f"/persons/{lead.person.uuid}/plan-call/",
        {"purpose": "product_marketing", "note": "Demo"},
        follow=True,
    )
    assert "Not allowed" in response.content.decode()
    assert not CallTask.objects.exists()


def test_user_notifications_go_to_users_only(smtp_server, rep, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sent = message_send(
            purpose="user_notification", user=rep, subject="Neuer Lead", body="Bitte ansehen"
        )
    assert OutboundMessage.objects.get(pk=sent.pk).status == MessageStatus.SENT
    assert smtp_server.to(rep.email)[0].message["List-Unsubscribe"] is None
    person = PersonFactory()
    refused = message_send(purpose="user_notification", person=person, subject="x", body="y")
    assert refused.status == MessageStatus.REFUSED


def test_an_smtp_failure_is_recorded_not_raised(settings, django_capture_on_commit_callbacks):
    settings.LEADWERK_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on discard
    settings.EMAIL_TIMEOUT = 5
    person = PersonFactory(email="weg@example.de")
    grant(person)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(purpose="newsletter", person=person, subject="S", body="B")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "Error" in message.reason or "refused" in message.reason.lower()
