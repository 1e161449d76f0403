"""Sign-in, sign-out and failed sign-ins go into the audit log."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .choices import AuditAction
from .services import audit_record


@receiver(user_logged_in, dispatch_uid="leadwerk.audit.login")
def _logged_in(sender, request, user, **kwargs):
    audit_record(
        action=AuditAction.LOGIN,
        actor=user,
        object_type="user",
        object_id=user.uuid,
        summary=f"{user.get_username()} signed in",
    )


@receiver(user_logged_out, dispatch_uid="leadwerk.audit.logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(
            action=AuditAction.LOGOUT,
            actor=user,
            object_type="user",
            object_id=user.uuid,
            summary=f"{user.get_username()} signed out",
        )


@receiver(user_login_failed, dispatch_uid="leadwerk.audit.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        object_type="user",
        object_id="",
        summary=f"failed sign-in as {username!r}",
        after={"username": username},
    )
