import uuid

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
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

    @property
    def display_subject(self) -> str:
        """The subject in the reader's language where Leadwerk wrote it (stage changes,
        assignments, changed fields); what a person typed is shown as typed."""
        from leadwerk.leads.choices import Stage

        payload = self.payload or {}
        if self.type == ActivityType.STAGE_CHANGE:
            start, end = payload.get("from"), payload.get("to")
            if start in Stage.values and end in Stage.values:
                return f"{Stage(start).label} → {Stage(end).label}"
        elif self.type == ActivityType.ASSIGNMENT:
            if "to" in payload and not payload["to"]:
                return gettext("Unassigned")
        elif self.type == ActivityType.UPDATE and payload:
            return ", ".join(_field_label("leads.Lead", name) for name in payload)
        return self.subject

    @property
    def differing_values(self) -> list[tuple[str, object, object]]:
        """Submitted values that differ from the stored ones: (field label, submitted, stored)."""
        payload = self.payload or {}
        return [
            (_field_label(model, name), values.get("submitted"), values.get("current"))
            for key, model in (
                ("person_differing", "contacts.Person"),
                ("company_differing", "contacts.Company"),
            )
            for name, values in (payload.get(key) or {}).items()
        ]


def _field_label(model: str, name: str) -> str:
    """A model field's label in the active language (the raw name if there is no such field)."""
    try:
        return str(apps.get_model(model)._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name
