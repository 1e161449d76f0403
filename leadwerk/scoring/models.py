import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import Grade, ModelStatus, RunKind, RunStatus, SnapshotKind
from .config import MAX_GROUPS
from .decay import Anchor, engagement_at

SLOTS = range(1, MAX_GROUPS + 1)


class ScoringModel(models.Model):
    """One version of the scoring model. A version never changes once saved; a change is
    a new version, so every version says who wrote it, when and why."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.PositiveIntegerField(_("version"), unique=True)
    name = models.CharField(_("name"), max_length=150)
    config = models.JSONField(_("model"))
    status = models.CharField(
        _("status"), max_length=10, choices=ModelStatus.choices, default=ModelStatus.DRAFT
    )
    note = models.TextField(_("what changed and why"), blank=True)
    based_on = models.ForeignKey(
        "self",
        verbose_name=_("based on"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("activated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("scoring model version")
        verbose_name_plural = _("scoring model versions")
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status=ModelStatus.ACTIVE),
                name="scoring_one_active_model",
            )
        ]

    def __str__(self) -> str:
        return f"v{self.number} {self.name}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("scoring:model_detail", args=[self.uuid])


class LeadScore(models.Model):
    """A lead's score: fit (points, grade) and engagement as one time-invariant anchor per
    rule group (sign, k, rate), so the current engagement is computed at read time - in
    Python or in SQL - without any batch job. See docs/scoring.md."""

    lead = models.OneToOneField(
        "leads.Lead", primary_key=True, on_delete=models.CASCADE, related_name="score"
    )
    model = models.ForeignKey(ScoringModel, on_delete=models.PROTECT, related_name="+")
    fit_points = models.IntegerField(_("fit points"), default=0)
    fit_grade = models.CharField(_("fit grade"), max_length=1, choices=Grade.choices)
    g1_sign = models.SmallIntegerField(default=0)
    g1_k = models.FloatField(default=0.0)
    g1_rate = models.FloatField(default=0.0)
    g2_sign = models.SmallIntegerField(default=0)
    g2_k = models.FloatField(default=0.0)
    g2_rate = models.FloatField(default=0.0)
    g3_sign = models.SmallIntegerField(default=0)
    g3_k = models.FloatField(default=0.0)
    g3_rate = models.FloatField(default=0.0)
    g4_sign = models.SmallIntegerField(default=0)
    g4_k = models.FloatField(default=0.0)
    g4_rate = models.FloatField(default=0.0)
    g5_sign = models.SmallIntegerField(default=0)
    g5_k = models.FloatField(default=0.0)
    g5_rate = models.FloatField(default=0.0)
    zone = models.SmallIntegerField(default=1)
    counted = models.PositiveIntegerField(default=0)  # rule matches that count now
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("lead score")
        verbose_name_plural = _("lead scores")
        indexes = [models.Index(fields=["fit_grade"])]

    def __str__(self) -> str:
        return f"{self.fit_grade} · {self.lead_id}"

    @property
    def anchors(self) -> list[Anchor]:
        return [
            Anchor(
                getattr(self, f"g{n}_sign"), getattr(self, f"g{n}_k"), getattr(self, f"g{n}_rate")
            )
            for n in SLOTS
        ]

    def set_anchors(self, anchors: list[Anchor]) -> None:
        padded = list(anchors) + [Anchor(0, 0.0, 0.0)] * (MAX_GROUPS - len(anchors))
        for n, anchor in zip(SLOTS, padded, strict=True):
            setattr(self, f"g{n}_sign", anchor.sign)
            setattr(self, f"g{n}_k", anchor.k if anchor.sign else 0.0)
            setattr(self, f"g{n}_rate", anchor.rate if anchor.sign else 0.0)

    def engagement_at(self, when) -> float:
        return engagement_at(self.anchors, when.timestamp())

    @property
    def engagement_now(self) -> float:
        return self.engagement_at(timezone.now())


ANCHOR_FIELDS = [f"g{n}_{part}" for n in SLOTS for part in ("sign", "k", "rate")]


class LeadScoreState(models.Model):
    """Per capped rule, the events that count now (``[at, id]``): what taking in new events
    needs without reading the lead's history. A table of its own, so that lists sorted by
    score join only the narrow LeadScore rows."""

    lead = models.OneToOneField(
        "leads.Lead", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    kept = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("lead score state")
        verbose_name_plural = _("lead score states")

    def __str__(self) -> str:
        return str(self.lead_id)


class SweepTick(models.Model):
    """A sweep task that is scheduled: when it will run. Lets writers see whether a sweep
    will come early enough for a lead whose next check they just set."""

    run_after = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("scheduled sweep")
        verbose_name_plural = _("scheduled sweeps")

    def __str__(self) -> str:
        return self.run_after.isoformat()


class ScoringRun(models.Model):
    """A background pass over all leads with one model version: a preview (counts only) or
    a rescore (writes scores and stage changes), with its progress."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=RunKind.choices)
    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="runs")
    baseline = models.ForeignKey(
        ScoringModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("scoring run")
        verbose_name_plural = _("scoring runs")

    def __str__(self) -> str:
        return f"{self.kind} v{self.model.number}"

    @property
    def percent(self) -> int:
        if self.status == RunStatus.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED, RunStatus.SUPERSEDED)


class ScoreSnapshot(models.Model):
    """The score behind an automatic stage change (hand-off or recycling), for the sales
    feedback report and for anyone asking later why it happened."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    stage_change = models.OneToOneField(
        "leads.StageChange", on_delete=models.CASCADE, related_name="score_snapshot"
    )
    kind = models.CharField(max_length=10, choices=SnapshotKind.choices)
    at = models.DateTimeField()
    model = models.ForeignKey(ScoringModel, on_delete=models.PROTECT, related_name="+")
    fit_points = models.IntegerField()
    fit_grade = models.CharField(max_length=1, choices=Grade.choices)
    engagement = models.FloatField()
    band = models.PositiveSmallIntegerField()
    cell = models.CharField(max_length=2)
    label = models.CharField(max_length=4)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("score snapshot")
        verbose_name_plural = _("score snapshots")

    def __str__(self) -> str:
        return f"{self.kind} {self.cell}"
