import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ConsentSource, ConsentState, ContactChannel, LegalBasis, Purpose


class ConsentText(models.Model):
    """One version of the wording shown when asking for consent; never edited, only succeeded."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    language = models.CharField(_("language"), max_length=8, default="de")
    version = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["purpose", "channel", "language", "-version"]
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "channel", "language", "version"], name="consenttext_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} / {self.channel} / {self.language} v{self.version}"


class DoubleOptIn(models.Model):
    """A confirmation request: one signed, expiring, single-use link for one person and purpose."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey("contacts.Person", on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    channel = models.CharField(max_length=10, choices=ContactChannel.choices)
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirm_ip = models.GenericIPAddressField(null=True, blank=True)
    confirm_user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("double opt-in request")
        verbose_name_plural = _("double opt-in requests")

    def __str__(self) -> str:
        return f"DOI {self.purpose}/{self.channel} {self.uuid}"


class ConsentRecord(models.Model):
    """One event in a person's consent history (granted, withdrawn, pending) with its proof.
    Never changed: the current state is the newest record per purpose and channel."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(
        "contacts.Person", on_delete=models.CASCADE, related_name="consent_records"
    )
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    state = models.CharField(_("state"), max_length=10, choices=ConsentState.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=20, choices=LegalBasis.choices)
    source = models.CharField(_("source"), max_length=20, choices=ConsentSource.choices)
    text = models.ForeignKey(
        ConsentText,
        verbose_name=_("text version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="records",
    )
    recorded_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    evidence = models.CharField(_("evidence"), max_length=300, blank=True)
    double_opt_in = models.ForeignKey(
        DoubleOptIn, null=True, blank=True, on_delete=models.RESTRICT, related_name="records"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [models.Index(fields=["person", "purpose", "channel", "-recorded_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(legal_basis=LegalBasis.CONSENT, state=ConsentState.GRANTED)
                | Q(text__isnull=False),
                name="consentrecord_consent_has_text",
            ),
            models.CheckConstraint(
                condition=~Q(state=ConsentState.PENDING) | Q(text__isnull=False),
                name="consentrecord_pending_has_text",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose}/{self.channel}: {self.state} ({self.legal_basis})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("consent records are never changed; record a new one")
        super().save(*args, **kwargs)


class ConsentStatus(models.Model):
    """The current state per person, purpose and channel: a pointer to the newest record."""

    person = models.ForeignKey(
        "contacts.Person", on_delete=models.CASCADE, related_name="consent_statuses"
    )
    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    channel = models.CharField(max_length=10, choices=ContactChannel.choices)
    state = models.CharField(max_length=10, choices=ConsentState.choices)
    legal_basis = models.CharField(max_length=20, choices=LegalBasis.choices)
    record = models.ForeignKey(ConsentRecord, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("consent status")
        verbose_name_plural = _("consent statuses")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "purpose", "channel"], name="consentstatus_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose}/{self.channel}: {self.state}"
