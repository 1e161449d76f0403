from django.db import models
from django.utils.translation import gettext_lazy as _


class SystemPurpose(models.TextChoices):
    """Messages that are not marketing; each has its own, narrow legal basis."""

    CONSENT_CONFIRMATION = "consent_confirmation", _("Consent confirmation (double opt-in)")
    USER_NOTIFICATION = "user_notification", _("Notification to a Leadwerk user")


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone call task")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    TASK_CREATED = "task_created", _("Call task created")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Failed")
