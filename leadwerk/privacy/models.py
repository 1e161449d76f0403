import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ErasureReason


class Erasure(models.Model):
    """Proof that a person was anonymised: when, why, by whom, how many rows per section."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.OneToOneField(
        "contacts.Person", on_delete=models.CASCADE, related_name="erasure"
    )
    reason = models.CharField(_("reason"), max_length=10, choices=ErasureReason.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    performed_at = models.DateTimeField(_("performed"), default=timezone.now)
    counts = models.JSONField(_("rows changed"), default=dict)

    class Meta:
        ordering = ["-performed_at"]
        verbose_name = _("erasure")
        verbose_name_plural = _("erasures")

    def __str__(self) -> str:
        return f"erasure {self.person_id} ({self.reason})"


class RetentionSchedule(models.Model):
    """The one row that says when the retention task runs next (the database decides, so
    several processes never schedule it twice)."""

    key = models.CharField(max_length=20, unique=True, default="retention")
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"retention next {self.next_run_at:%Y-%m-%d %H:%M}"
