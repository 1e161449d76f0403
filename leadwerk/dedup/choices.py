from django.db import models
from django.utils.translation import gettext_lazy as _


class Entity(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class CandidateStatus(models.TextChoices):
    OPEN = "open", _("To review")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not a duplicate")


class FoundBy(models.TextChoices):
    INTAKE = "intake", _("At intake")
    IMPORT = "import", _("During an import")
    JOB = "job", _("Database check")


class MergeHow(models.TextChoices):
    AUTO = "auto", _("Automatically")
    MANUAL = "manual", _("By a person")


class Survivorship(models.TextChoices):
    """Which value a merged record keeps for a field."""

    SURVIVOR = "survivor", _("Keep the surviving record's value, fill gaps from the other")
    NEWEST = "newest", _("Newest non-empty value")
    TRUSTED = "trusted", _("Value from the most trusted source")
