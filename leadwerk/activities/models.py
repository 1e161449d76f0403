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


class Visitor(models.Model):
    """A browser on the company website, known by the first-party id the tracking snippet
    keeps there; linked to a person once they identify through a Leadwerk web form."""

    id = models.UUIDField(primary_key=True, editable=False)
    person = models.ForeignKey(
        "contacts.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visitors",
    )
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    identified_at = models.DateTimeField(_("identified"), null=True, blank=True)

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")

    def __str__(self) -> str:
        return str(self.id)


class PageView(models.Model):
    """A page view of a visitor who has not identified yet. When they do, it moves to the
    person's timeline as a web visit."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="page_views")
    url = models.CharField(_("URL"), max_length=2000)
    path = models.CharField(_("path"), max_length=500, blank=True)
    title = models.CharField(_("title"), max_length=300, blank=True)
    referrer = models.CharField(_("referrer"), max_length=2000, blank=True)
    occurred_at = models.DateTimeField(_("occurred"))

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("page view")
        verbose_name_plural = _("page views")
        indexes = [models.Index(fields=["visitor", "occurred_at"])]

    def __str__(self) -> str:
        return self.url


class EventSettings(models.Model):
    """How behaviour events and website tracking are accepted (one row, changed by admins)."""

    allow_anonymous_prospects = models.BooleanField(
        _("create unknown persons from events"),
        default=False,
        help_text=_(
            "An event for an unknown e-mail address creates an anonymous prospect. "
            "Off: such events are refused."
        ),
    )
    future_tolerance_seconds = models.PositiveIntegerField(
        _("tolerance for future timestamps (seconds)"),
        default=300,
        help_text=_("Events dated further in the future than this are refused (clock skew)."),
    )
    tracking_enabled = models.BooleanField(_("website tracking on"), default=False)
    tracking_domains = models.TextField(
        _("tracked websites"),
        blank=True,
        help_text=_(
            "Host names whose pages may report page views, one per line "
            "(www.example.de). Subdomains are included."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("event settings")
        verbose_name_plural = _("event settings")

    def __str__(self) -> str:
        return "event settings"

    @property
    def domain_list(self) -> list[str]:
        return [
            d.strip().lower().rstrip(".")
            for d in self.tracking_domains.splitlines()
            if d.strip() and not d.strip().startswith("#")
        ]
