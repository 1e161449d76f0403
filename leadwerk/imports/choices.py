from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    MAPPING = "mapping", _("Check the columns")
    QUEUED = "queued", _("Waiting for a worker")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class IssueKind(models.TextChoices):
    ERROR = "error", _("Rejected")
    WARNING = "warning", _("Imported with a warning")
    DUPLICATE = "duplicate", _("Duplicate row")


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
