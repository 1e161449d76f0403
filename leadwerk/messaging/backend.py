"""The e-mail backend guard: only the one door (services.message_send) may reach the real
backend. Anything else that tries to send mail fails loudly instead of mailing someone who
may have withdrawn consent."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

_inside_door: ContextVar[bool] = ContextVar("leadwerk_inside_message_door", default=False)


class MailOutsideDoor(RuntimeError):  # noqa: N818
    """Mail was sent without passing leadwerk.messaging.services.message_send."""


@contextmanager
def inside_door():
    token = _inside_door.set(True)
    try:
        yield
    finally:
        _inside_door.reset(token)


class GuardedEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.inner = get_connection(
            settings.LEADWERK_EMAIL_BACKEND, fail_silently=fail_silently, **kwargs
        )

    def open(self):
        return self.inner.open()

    def close(self):
        return self.inner.close()

    def send_messages(self, email_messages):
        if not _inside_door.get():
            raise MailOutsideDoor(
                "e-mail must be sent through leadwerk.messaging.services.message_send"
            )
        return self.inner.send_messages(email_messages)
