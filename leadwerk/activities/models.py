import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ActivityType


class Activity(models.Model):
    """One entry on a person's (and optionally a lead's) timeline."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(
        "contacts.Person", on_delete=models.CASCADE, related_name="activities"
    )
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    type = models.CharField(_("type"), max_length=20, choices=ActivityType.choices)
    occurred_at = models.DateTimeField(_("occurred"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    restricted = models.BooleanField(
        _("restricted"),
        default=False,
        help_text=_("Only the author, the lead's owner, its team managers and admins see it."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["person", "-occurred_at"]),
            models.Index(fields=["lead", "-occurred_at"]),
            models.Index(fields=["type", "-occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.subject}"
