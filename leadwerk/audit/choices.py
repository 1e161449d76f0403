from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """What happened. Every change to personal data is one of these."""

    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    MERGE = "merge", _("Merged")
    ASSIGN = "assign", _("Assigned")
    STAGE_CHANGE = "stage_change", _("Stage changed")
    CONSENT_CHANGE = "consent_change", _("Consent changed")
    MESSAGE = "message", _("Message sent")
    MESSAGE_REFUSED = "message_refused", _("Message refused")
    EXPORT = "export", _("Exported")
    ERASURE = "erasure", _("Erased")
    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Sign-in failed")
    LOGOUT = "logout", _("Signed out")
