from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import DEFAULT_COMPANY_REQUIRED, DEFAULT_PERSON_REQUIRED, CareAction, FlagKind


def _person_required():
    return list(DEFAULT_PERSON_REQUIRED)


def _company_required():
    return list(DEFAULT_COMPANY_REQUIRED)


class QualitySettings(models.Model):
    """What the company declares as required, and when a record counts as stale (one row)."""

    person_required = models.JSONField(_("required person fields"), default=_person_required)
    company_required = models.JSONField(_("required company fields"), default=_company_required)
    stale_after_months = models.PositiveSmallIntegerField(
        _("stale after (months)"),
        default=12,
        help_text=_("Records neither changed nor verified for this long are stale."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("data quality settings")
        verbose_name_plural = _("data quality settings")

    def __str__(self) -> str:
        return "data quality settings"


class RecordFlag(models.Model):
    """A value that is kept as it was given but is known to be wrong (an invalid VAT ID, a
    phone number that does not parse, a bounced e-mail address)."""

    person = models.ForeignKey(
        "contacts.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    field = models.CharField(_("field"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=FlagKind.choices)
    value = models.CharField(_("value as given"), max_length=300, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    source = models.CharField(_("found by"), max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("flagged value")
        verbose_name_plural = _("flagged values")
        indexes = [
            models.Index(fields=["person", "resolved_at"]),
            models.Index(fields=["company", "resolved_at"]),
            models.Index(fields=["kind", "resolved_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False) | Q(company__isnull=False),
                name="recordflag_has_record",
            )
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class Verification(models.Model):
    """Someone confirmed that a record is still correct."""

    person = models.ForeignKey(
        "contacts.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    verified_at = models.DateTimeField(default=timezone.now)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-verified_at", "-id"]
        indexes = [
            models.Index(fields=["person", "-verified_at"]),
            models.Index(fields=["company", "-verified_at"]),
        ]

    def __str__(self) -> str:
        return f"verified {self.verified_at:%Y-%m-%d}"


class CarePoints(models.Model):
    """Points a user earned for data care (the ledger behind the leaderboard)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_points"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=10, choices=CareAction.choices)
    points = models.SmallIntegerField(_("points"))
    person = models.ForeignKey(
        "contacts.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("data-care points")
        verbose_name_plural = _("data-care points")
        indexes = [models.Index(fields=["team", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.user} +{self.points} {self.action}"


class QualitySnapshot(models.Model):
    """The day's data-quality figures, for the trend on the dashboard."""

    day = models.DateField(unique=True)
    metrics = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return str(self.day)
