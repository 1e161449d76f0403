"""THE one door for outbound messages. Every e-mail and every task asking a human to call a
person for marketing goes through ``message_send``: it checks the legal basis for the purpose
and channel at the moment of sending, logs every attempt (sent or refused) with the consent
record it relied on, and adds the unsubscribe headers and links to marketing mail."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leadwerk.audit.choices import AuditAction
from leadwerk.audit.services import audit_record
from leadwerk.consent.choices import ConsentState, LegalBasis, Purpose
from leadwerk.consent.models import DoubleOptIn
from leadwerk.consent.selectors import Basis, consent_basis
from leadwerk.consent.tokens import preferences_token, unsubscribe_token

from .backend import inside_door
from .choices import MessageChannel, MessageStatus, SystemPurpose
from .models import CallTask, OutboundMessage

ALL_PURPOSES = frozenset(Purpose.values) | frozenset(SystemPurpose.values)


def _basis(*, person, user, purpose: str, channel: str, context: dict) -> Basis:
    if purpose not in ALL_PURPOSES:
        return Basis(False, reason=f"unknown purpose '{purpose}'")
    if channel not in MessageChannel.values:
        return Basis(False, reason=f"unknown channel '{channel}'")
    if (person is None) == (user is None):
        return Basis(False, reason="a message goes to exactly one person or one user")
    if purpose == SystemPurpose.USER_NOTIFICATION:
        if user is None or channel != MessageChannel.EMAIL:
            return Basis(False, reason="user notifications go by e-mail to a user")
        if not user.is_active or not user.email:
            return Basis(False, reason="the user is inactive or has no e-mail address")
        return Basis(True, legal_basis=LegalBasis.CONTRACT)
    if person is None:
        return Basis(False, reason=f"'{purpose}' messages go to persons, not users")
    if channel == MessageChannel.EMAIL and not person.email:
        return Basis(False, reason="the person has no e-mail address")
    if channel == MessageChannel.PHONE and not person.phone:
        return Basis(False, reason="the person has no phone number")
    if purpose == SystemPurpose.CONSENT_CONFIRMATION:
        doi = (
            DoubleOptIn.objects.filter(
                uuid=context.get("double_opt_in"),
                person=person,
                confirmed_at__isnull=True,
                expires_at__gt=timezone.now(),
            ).first()
            if context.get("double_opt_in")
            else None
        )
        if doi is None or channel != MessageChannel.EMAIL:
            return Basis(False, reason="no open confirmation request for this person")
        record = doi.records.filter(state=ConsentState.PENDING).first()
        return Basis(True, legal_basis=LegalBasis.CONTRACT, record=record)
    return consent_basis(person=person, purpose=purpose, channel=channel)


def message_send(
    *,
    purpose: str,
    subject: str,
    body: str,
    channel: str = MessageChannel.EMAIL,
    person=None,
    user=None,
    html: str = "",
    actor=None,
    assignee=None,
    due_at=None,
    context: dict | None = None,
) -> OutboundMessage:
    """Send an e-mail (after the surrounding transaction commits) or create a call task.

    Refused, with the refusal logged and audited, when there is no valid legal basis for
    ``purpose`` and ``channel``. Returns the logged message; check ``status``.
    """
    context = context or {}
    basis = _basis(person=person, user=user, purpose=purpose, channel=channel, context=context)
    recipient = person if person is not None else user
    to_address = ""
    if recipient is not None:
        to_address = (
            recipient.email if channel == MessageChannel.EMAIL else getattr(person, "phone", "")
        )
    with transaction.atomic():
        message = OutboundMessage.objects.create(
            person=person,
            user=user,
            purpose=purpose,
            channel=channel,
            to_address=to_address or "",
            subject=subject[:300],
            status=MessageStatus.QUEUED if basis.ok else MessageStatus.REFUSED,
            reason=basis.reason[:300],
            legal_basis=basis.legal_basis,
            consent_record=basis.record if basis.ok else None,
            actor=actor,
        )
        audit_record(
            action=AuditAction.MESSAGE if basis.ok else AuditAction.MESSAGE_REFUSED,
            actor=actor,
            object_type="message",
            object_id=message.uuid,
            person=person,
            summary=f"{purpose} by {channel}" + ("" if basis.ok else f" refused: {basis.reason}"),
            after={
                "purpose": purpose,
                "channel": channel,
                "legal_basis": basis.legal_basis,
                "consent_record": str(basis.record.uuid) if basis.ok and basis.record else None,
            },
        )
        if not basis.ok:
            return message
        if channel == MessageChannel.PHONE:
            CallTask.objects.create(
                message=message,
                person=person,
                purpose=purpose,
                assignee=assignee,
                due_at=due_at,
                note=body,
            )
            message.status = MessageStatus.TASK_CREATED
            OutboundMessage.objects.filter(pk=message.pk).update(status=message.status)
            return message
        transaction.on_commit(partial(_deliver, message.pk, body, html))
    return message


def _absolute(path: str) -> str:
    return f"{settings.LEADWERK_BASE_URL}{path}"


def _deliver(message_pk: int, body: str, html: str) -> None:
    """Send one queued e-mail. The legal basis is checked again right before sending, so a
    withdrawal between queueing and sending still stops the mail."""
    message = OutboundMessage.objects.select_related("person", "user").get(pk=message_pk)
    basis = _basis(
        person=message.person,
        user=message.user,
        purpose=message.purpose,
        channel=message.channel,
        context={"double_opt_in": _doi_of(message)},
    )
    if not basis.ok:
        with transaction.atomic():
            OutboundMessage.objects.filter(pk=message.pk).update(
                status=MessageStatus.REFUSED, reason=basis.reason[:300]
            )
            audit_record(
                action=AuditAction.MESSAGE_REFUSED,
                object_type="message",
                object_id=message.uuid,
                person=message.person,
                summary=f"{message.purpose} refused at sending: {basis.reason}",
            )
        return
    headers = {}
    if message.purpose in Purpose.values:
        token = unsubscribe_token(
            person=message.person,
            purpose=message.purpose,
            channel=message.channel,
            message_uuid=message.uuid,
        )
        unsubscribe_url = _absolute(reverse("consent:unsubscribe", args=[token]))
        preferences_url = _absolute(
            reverse("consent:preferences", args=[preferences_token(person=message.person)])
        )
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs here.
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body = (
            f"{body.rstrip()}\n\n--\n"
            f"Abmelden / Unsubscribe: {unsubscribe_url}\n"
            f"Einstellungen / Preferences: {preferences_url}\n"
        )
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_address],
        headers=headers,
    )
    if html:
        mail.attach_alternative(html, "text/html")
    try:
        with inside_door():
            mail.send()
    except Exception as exc:  # noqa: BLE001 - any transport error is recorded, not raised
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.FAILED, reason=f"{type(exc).__name__}: {exc}"[:300]
        )
        return
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, sent_at=timezone.now()
    )


def _doi_of(message: OutboundMessage) -> str | None:
    if message.purpose != SystemPurpose.CONSENT_CONFIRMATION or message.consent_record_id is None:
        return None
    doi_id = (
        DoubleOptIn.objects.filter(records__pk=message.consent_record_id)
        .values_list("uuid", flat=True)
        .first()
    )
    return str(doi_id) if doi_id else None


@transaction.atomic
def call_task_complete(*, task: CallTask, actor, note: str = "") -> CallTask:
    task = CallTask.objects.select_for_update().get(pk=task.pk)
    if task.done_at is None:
        task.done_at = timezone.now()
        task.note = f"{task.note}\n{note}".strip() if note else task.note
        task.save(update_fields=["done_at", "note"])
        audit_record(
            action=AuditAction.UPDATE,
            actor=actor,
            object_type="call_task",
            object_id=task.uuid,
            person=task.person,
            summary=f"call task for {task.purpose} done",
        )
    return task
