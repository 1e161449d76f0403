"""Telling users: an entry in the in-app inbox (the badge) and an e-mail.

``notify_user`` is routing's only way to reach a person, and ``notification_email_send`` is
the only function here that talks to Django's e-mail framework; when the consent branch's
single door for outbound messages arrives, this is the one call to route through it.
The mail goes out after the transaction commits (nothing is mailed about a change that was
rolled back); when the mail server does not answer, a background task tries again later.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .choices import NotificationKind
from .models import Notification

logger = logging.getLogger(__name__)

# Retries of a mail that could not be handed over, and the wait before each.
EMAIL_RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
SMTP_TIMEOUT_SECONDS = 10


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
        transaction.on_commit(
            partial(notification_email_send, notification=notification), robust=True
        )
    return notification


def _lead_url(lead) -> str:
    if lead is None:
        return ""
    return f"{settings.LEADWERK_BASE_URL}{lead.get_absolute_url()}"


def notification_email_send(
    *, notification_id: int | None = None, notification: Notification | None = None
) -> bool:
    """Hand one notification to the mail system; schedule a retry when that fails.
    ``notification`` is the one just created (after commit); retries pass its id.

    Returns whether the mail was handed over (now or before)."""
    if notification is None:
        notification = (
            Notification.objects.select_related("user", "lead").filter(pk=notification_id).first()
        )
    if notification is None or notification.emailed_at is not None:
        return notification is not None
    user = notification.user
    if not user.email:
        Notification.objects.filter(pk=notification.pk).update(
            email_error="the user has no e-mail address"
        )
        return False
    message = EmailMessage(
        subject=f"[Leadwerk] {notification.title}",
        body=notification.body,
        to=[user.email],
        headers={
            "Auto-Submitted": "auto-generated",
            "X-Leadwerk-Notification": notification.kind,
            **({"X-Leadwerk-Lead": str(notification.lead.uuid)} if notification.lead else {}),
        },
    )
    attempts = notification.email_attempts + 1
    try:
        message.connection = get_connection(timeout=SMTP_TIMEOUT_SECONDS)
        message.send()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("notification %s: e-mail not handed over: %s", notification.uuid, exc)
        Notification.objects.filter(pk=notification.pk).update(
            email_attempts=attempts, email_error=str(exc)[:300]
        )
        if attempts <= len(EMAIL_RETRY_DELAYS):
            from .tasks import notification_email

            notification_email.using(
                run_after=timezone.now() + EMAIL_RETRY_DELAYS[attempts - 1]
            ).enqueue(notification_id=notification.pk)
        return False
    Notification.objects.filter(pk=notification.pk).update(
        emailed_at=timezone.now(), email_attempts=attempts, email_error=""
    )
    return True


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
