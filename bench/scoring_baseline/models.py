from django.db import models
from django.utils import timezone


class BaselineEvent(models.Model):
    """One posted event as it came: no validation, person lookup, timeline or scoring."""

    email = models.CharField(max_length=254, blank=True)
    type = models.CharField(max_length=30)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"baseline event {self.pk}"
