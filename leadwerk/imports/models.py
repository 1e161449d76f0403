import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import IssueKind, JobStatus


class ImportJob(models.Model):
    """One list import: the file's description, the column mapping, the progress (a
    checkpoint after every committed chunk, so a killed run resumes where it stopped) and
    the counts."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    file_name = models.CharField(_("file"), max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    file_size = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=5)
    encoding = models.CharField(_("encoding"), max_length=80, blank=True)
    delimiter = models.CharField(_("separator"), max_length=2, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    header_line = models.PositiveIntegerField(default=1)
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)  # column index (as text) -> target field
    channel = models.ForeignKey(
        "campaigns.Channel", verbose_name=_("channel"), on_delete=models.PROTECT, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.MAPPING
    )
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    chunk_size = models.PositiveIntegerField(default=500)
    leads_created = models.PositiveIntegerField(default=0)
    persons_created = models.PositiveIntegerField(default=0)
    persons_matched = models.PositiveIntegerField(default=0)
    companies_created = models.PositiveIntegerField(default=0)
    companies_matched = models.PositiveIntegerField(default=0)
    duplicates_queued = models.PositiveIntegerField(default=0)
    rows_warned = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_already_imported = models.PositiveIntegerField(default=0)
    rows_empty = models.PositiveIntegerField(default=0)
    run_token = models.UUIDField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds_running = models.FloatField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return self.file_name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("imports:detail", args=[self.uuid])

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.total_rows) if self.total_rows else 0

    @property
    def rows_per_second(self) -> float:
        return self.rows_done / self.seconds_running if self.seconds_running else 0.0


class ImportFile(models.Model):
    """The uploaded file itself, kept in the database so a worker on another machine can
    read it."""

    job = models.OneToOneField(ImportJob, on_delete=models.CASCADE, related_name="upload")
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"file of {self.job}"


class ImportIssue(models.Model):
    """A row that was rejected, imported with a warning, or skipped as a duplicate."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row_index = models.PositiveIntegerField()
    line = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=IssueKind.choices)
    field = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=500)
    value = models.CharField(max_length=300, blank=True)
    cells = models.JSONField(default=list)

    class Meta:
        ordering = ["row_index", "id"]
        indexes = [models.Index(fields=["job", "kind", "row_index"])]

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportedRow(models.Model):
    """A row that made a lead: its fingerprint makes a re-run of the same list create
    nothing new; ``person_key`` finds a second row of the same person in the same list."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="imported_rows")
    fingerprint = models.CharField(max_length=64, unique=True)
    person_key = models.CharField(max_length=300)
    row_index = models.PositiveIntegerField()
    line = models.PositiveIntegerField()
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["job", "person_key"])]

    def __str__(self) -> str:
        return self.fingerprint
