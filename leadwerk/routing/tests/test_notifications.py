"""Notifications: the inbox entry, the mail on the real SMTP server, and a retry through the
task backend when the mail server does not answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leadwerk.messaging.models import OutboundMessage
from leadwerk.routing.choices import NotificationKind
from leadwerk.routing.models import Notification
from leadwerk.routing.notifications import notification_read, notify_user
from leadwerk.tests_support.factories import UserFactory

from .conftest import new_lead


@pytest.mark.django_db
def test_a_notification_is_in_the_inbox_and_mailed_through_the_door_after_commit(
    mailbox, django_capture_on_commit_callbacks
):
    user = UserFactory(username="lena", email="lena@example.com", language="en")
    lead = new_lead()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notification = notify_user(user=user, kind=NotificationKind.ASSIGNED, lead=lead)
    assert mailbox.messages == []  # nothing is mailed before the commit
    for callback in callbacks:
        callback()
    [mail] = mailbox.to("lena@example.com")
    assert mail["Subject"] == f"[Leadwerk] New lead for you: {lead.person} ({lead.company})"
    assert mail["Auto-Submitted"] == "auto-generated"
    notification.refresh_from_db()
    assert notification.emailed_at is not None and notification.email_attempts == 1
    door = OutboundMessage.objects.get()
    assert (door.purpose, door.user, door.status) == ("user_notification", user, "sent")
    assert notification_read(user=user, uuid=notification.uuid)
    assert not notification_read(user=UserFactory(username="x"), uuid=notification.uuid)


@pytest.mark.django_db
def test_a_user_without_address_gets_the_inbox_entry_only(django_capture_on_commit_callbacks):
    user = UserFactory(username="ohne", email="")
    with django_capture_on_commit_callbacks(execute=True):
        notify_user(user=user, kind=NotificationKind.ASSIGNED, lead=new_lead())
    notification = Notification.objects.get(user=user)
    assert notification.emailed_at is None
    assert notification.email_error == "the user is inactive or has no e-mail address"


@pytest.mark.django_db(transaction=True)
def test_when_the_mail_server_is_down_the_worker_retries_later(mailbox, settings):
    real_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 2574  # nothing listens here (the tests use 2571-2573, 2575-2577)
    user = UserFactory(username="tom", email="tom@example.com")
    notification = notify_user(user=user, kind=NotificationKind.ASSIGNED, lead=new_lead())
    notification.refresh_from_db()
    assert notification.emailed_at is None and notification.email_attempts == 1
    assert notification.email_error
    retry = DBTaskResult.objects.get(task_path="leadwerk.routing.tasks.notification_email")
    assert retry.run_after > timezone.now() + timedelta(seconds=30)
    # The server is back; the retry is due.
    settings.EMAIL_PORT = real_port
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    notification.refresh_from_db()
    assert notification.emailed_at is not None and notification.email_attempts == 2
    assert [m["X-Leadwerk-Notification"] for m in mailbox.to("tom@example.com")] == ["assigned"]
