import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import AuditAction


class AppendOnlyError(Exception):
    """The audit log is append-only: entries cannot be changed or deleted through the app."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit entries cannot be deleted")

    def _redact(self, **kwargs) -> int:
        """Only for erasure (privacy services): overwrite personal values in place."""
        return super().update(**kwargs)


class AuditEntry(models.Model):
    """One attributable event: who did what to which object, when, from where, before/after."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # Deleting a user must neither change nor block entries: the id stays (no database
        # constraint) and actor_label keeps the name. Leadwerk deactivates users instead.
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=40, db_index=True)
    object_id = models.CharField(_("object"), max_length=64, blank=True, db_index=True)
    person_uuid = models.UUIDField(_("person"), null=True, blank=True, db_index=True)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["action", "-at"]), models.Index(fields=["actor", "-at"])]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.actor_label or '-'} {self.action} {self.object_type}"
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")


class RedactionPermit(models.Model):
    """Present only inside an erasure's transaction: the database trigger lets audit rows be
    rewritten while a permit exists and refuses every other change."""

    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"permit {self.pk}"
