from django.db import models
from django.utils import timezone


class BaselineLead(models.Model):
    """One posted JSON document, stored as it came: no validation, matching or timeline."""

    email = models.CharField(max_length=254, blank=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"baseline lead {self.pk}"
