import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import MessageChannel, MessageStatus


class OutboundMessage(models.Model):
    """Every attempt to reach someone, sent or refused, with the legal basis it relied on."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(
        "contacts.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField(_("purpose"), max_length=30)
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    to_address = models.CharField(_("to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=15, choices=MessageStatus.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=20, blank=True)
    consent_record = models.ForeignKey(
        "consent.ConsentRecord",
        verbose_name=_("consent record"),
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        indexes = [models.Index(fields=["person", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.purpose} → {self.to_address}: {self.status}"


class CallTask(models.Model):
    """A request to a human to call a person for a marketing purpose (passed the one door)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.OneToOneField(OutboundMessage, on_delete=models.RESTRICT, related_name="task")
    person = models.ForeignKey("contacts.Person", on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(_("purpose"), max_length=30)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="call_tasks",
    )
    note = models.TextField(_("note"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "created_at"]
        verbose_name = _("call task")
        verbose_name_plural = _("call tasks")

    def __str__(self) -> str:
        return f"call {self.person_id} for {self.purpose}"
