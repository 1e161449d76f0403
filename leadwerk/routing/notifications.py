"""Telling users: an entry in the in-app inbox (the badge) and an e-mail.

``notify_user`` is routing's only way to reach a person. Its e-mail goes through the one
door for outbound messages (``messaging.services.message_send``, purpose "user
notification"), which sends it after the transaction commits; once the door has tried, the
outcome is recorded on the notification, and when the mail server did not answer a
background task tries again later.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation

from leadwerk.messaging.choices import MessageChannel, MessageStatus, SystemPurpose
from leadwerk.messaging.models import OutboundMessage
from leadwerk.messaging.services import message_send

from .choices import NotificationKind
from .models import Notification

logger = logging.getLogger(__name__)

# Retries of a mail the mail server did not take, and the wait before each.
EMAIL_RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))


def _language(user) -> str:
    return (user.language or settings.LANGUAGE_CODE)[:2]


def notify_user(
    *, user, kind: NotificationKind, lead=None, context: dict | None = None, email: bool = True
) -> Notification:
    """Put a message into ``user``'s inbox and e-mail it after commit.

    The text comes from ``routing/notifications/<kind>.txt`` (first line: title), rendered in
    the user's language; ``context`` fills it.
    """
    with translation.override(_language(user)):
        text = render_to_string(
            f"routing/notifications/{kind}.txt",
            {
                "user": user,
                "lead": lead,
                "lead_url": _lead_url(lead),
                "zone": user.time_zone or settings.TIME_ZONE,
                **(context or {}),
            },
        ).strip()
    title, _, body = text.partition("\n")
    notification = Notification.objects.create(
        user=user, kind=kind, lead=lead, title=title.strip()[:300], body=body.strip()
    )
    if email:
        _email(notification)
    return notification


def _lead_url(lead) -> str:
    if lead is None:
        return ""
    return f"{settings.LEADWERK_BASE_URL}{lead.get_absolute_url()}"


def _email(notification: Notification) -> None:
    """Queue the notification's e-mail at the one door; after commit, note what happened."""
    message = message_send(
        purpose=SystemPurpose.USER_NOTIFICATION,
        channel=MessageChannel.EMAIL,
        user=notification.user,
        subject=f"[Leadwerk] {notification.title}",
        body=notification.body,
        headers={
            "Auto-Submitted": "auto-generated",  # RFC 3834: no out-of-office replies
            "X-Leadwerk-Notification": notification.kind,
            **({"X-Leadwerk-Lead": str(notification.lead.uuid)} if notification.lead else {}),
        },
    )
    if message.status == MessageStatus.REFUSED:
        Notification.objects.filter(pk=notification.pk).update(
            email_attempts=F("email_attempts") + 1, email_error=message.reason[:300]
        )
        return
    transaction.on_commit(
        partial(_after_delivery, notification_id=notification.pk, message_id=message.pk),
        robust=True,
    )


def _after_delivery(*, notification_id: int, message_id: int) -> None:
    """Record the door's outcome; schedule a retry when the mail server failed."""
    status, reason, sent_at = OutboundMessage.objects.values_list(
        "status", "reason", "sent_at"
    ).get(pk=message_id)
    if status == MessageStatus.SENT:
        Notification.objects.filter(pk=notification_id).update(
            emailed_at=sent_at or timezone.now(),
            email_attempts=F("email_attempts") + 1,
            email_error="",
        )
        return
    Notification.objects.filter(pk=notification_id).update(
        email_attempts=F("email_attempts") + 1, email_error=(reason or status)[:300]
    )
    attempts = Notification.objects.values_list("email_attempts", flat=True).get(pk=notification_id)
    if status == MessageStatus.FAILED and attempts <= len(EMAIL_RETRY_DELAYS):
        logger.warning("notification %s: e-mail failed (%s); retrying", notification_id, reason)
        from .tasks import notification_email

        notification_email.using(
            run_after=timezone.now() + EMAIL_RETRY_DELAYS[attempts - 1]
        ).enqueue(notification_id=notification_id)


def notification_email_send(*, notification_id: int) -> bool:
    """Try the e-mail of a notification again (the retry task). Returns whether it is sent."""
    notification = (
        Notification.objects.select_related("user", "lead").filter(pk=notification_id).first()
    )
    if notification is None:
        return False
    if notification.emailed_at is None:
        with transaction.atomic():
            _email(notification)
        notification.refresh_from_db(fields=["emailed_at"])
    return notification.emailed_at is not None


def notification_read(*, user, uuid=None) -> bool:
    """Mark one notification of ``user`` (or all of them) read; False if there is no such
    notification."""
    qs = Notification.objects.filter(user=user)
    if uuid is not None:
        qs = qs.filter(uuid=uuid)
        if not qs.exists():
            return False
    qs.filter(read_at__isnull=True).update(read_at=timezone.now())
    return True
