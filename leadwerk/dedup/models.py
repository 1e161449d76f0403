import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import CandidateStatus, Entity, FoundBy, MergeHow, Survivorship


class MatchKey(models.Model):
    """A blocking key of a person or company (a 63-bit hash of 'rule:key'), so that the
    duplicate check for one new record is one indexed look-up."""

    entity = models.CharField(max_length=10, choices=Entity.choices)
    object_id = models.BigIntegerField()
    key = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["entity", "key"], name="dedup_key_lookup"),
            models.Index(fields=["entity", "object_id"], name="dedup_key_object"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.object_id}: {self.key}"


class DuplicateCandidate(models.Model):
    """A pair of records that may be the same person or company, with the evidence."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    entity = models.CharField(_("kind"), max_length=10, choices=Entity.choices)
    person_a = models.ForeignKey(
        "contacts.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    person_b = models.ForeignKey(
        "contacts.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_a = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_b = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    probability = models.FloatField(_("match probability"))
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=CandidateStatus.choices, default=CandidateStatus.OPEN
    )
    found_by = models.CharField(_("found"), max_length=10, choices=FoundBy.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-probability", "id"]
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(
                fields=["person_a", "person_b"],
                condition=Q(entity="person"),
                name="dedup_unique_person_pair",
            ),
            models.UniqueConstraint(
                fields=["company_a", "company_b"],
                condition=Q(entity="company"),
                name="dedup_unique_company_pair",
            ),
        ]
        indexes = [models.Index(fields=["entity", "status", "-probability"])]

    def __str__(self) -> str:
        return f"{self.entity} {self.a_id} ~ {self.b_id} ({self.probability:.0%})"

    @property
    def a(self):
        return self.person_a if self.entity == Entity.PERSON else self.company_a

    @property
    def b(self):
        return self.person_b if self.entity == Entity.PERSON else self.company_b

    @property
    def a_id(self):
        return self.person_a_id if self.entity == Entity.PERSON else self.company_a_id

    @property
    def b_id(self):
        return self.person_b_id if self.entity == Entity.PERSON else self.company_b_id


class MergeRecord(models.Model):
    """One merge: what both records looked like before, which related rows moved, so that
    the merge can be undone exactly."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    entity = models.CharField(max_length=10, choices=Entity.choices)
    survivor_id = models.BigIntegerField()
    survivor_uuid = models.UUIDField()
    merged_id = models.BigIntegerField()
    merged_uuid = models.UUIDField()
    merged_label = models.CharField(max_length=300)
    survivor_label = models.CharField(max_length=300)
    snapshot = models.JSONField(default=dict)
    moves = models.JSONField(default=list)
    values_taken = models.JSONField(default=dict)
    probability = models.FloatField(null=True, blank=True)
    reasons = models.JSONField(default=list)
    how = models.CharField(max_length=10, choices=MergeHow.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [
            models.Index(fields=["entity", "survivor_id"]),
            models.Index(fields=["entity", "merged_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.merged_label} → {self.survivor_label}"


class DedupSettings(models.Model):
    """Thresholds and survivorship rules (one row, editable by admins)."""

    auto_merge_threshold = models.FloatField(
        _("merge automatically from"),
        default=0.999,
        help_text=_("Match probability from which two records are merged without asking."),
    )
    review_threshold = models.FloatField(
        _("ask for review from"),
        default=0.6,
        help_text=_("Pairs between this and the automatic threshold go to the review queue."),
    )
    default_rule = models.CharField(
        _("default rule for fields"),
        max_length=10,
        choices=Survivorship.choices,
        default=Survivorship.SURVIVOR,
    )
    field_rules = models.JSONField(
        _("rules per field"),
        default=dict,
        blank=True,
        help_text=_('Per field, e.g. {"phone": "newest", "job_title": "newest"}.'),
    )
    source_trust = models.JSONField(
        _("trust order of sources"),
        default=list,
        blank=True,
        help_text=_("Lead sources from most to least trusted, e.g. manual, form, api, import."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("duplicate settings")
        verbose_name_plural = _("duplicate settings")

    def __str__(self) -> str:
        return "duplicate settings"
