from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class RunKind(models.TextChoices):
    PREVIEW = "preview", _("Preview")
    RESCORE = "rescore", _("Rescore")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    SUPERSEDED = "superseded", _("Superseded")


class Grade(models.TextChoices):
    """Fit against the ideal customer profile, A best."""

    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Label(models.TextChoices):
    HOT = "hot", _("hot")
    WARM = "warm", _("warm")
    COLD = "cold", _("cold")


class SnapshotKind(models.TextChoices):
    HANDOFF = "handoff", _("Hand-off to sales (MQL)")
    RECYCLE = "recycle", _("Back to nurturing (recycled)")


# Engagement zones relative to the hand-off threshold and the recycle floor; the only
# moments that need action are when a lead moves between them.
ZONE_BELOW_FLOOR = 0
ZONE_BETWEEN = 1
ZONE_HANDOFF = 2
