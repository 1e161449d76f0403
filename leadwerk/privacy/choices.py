from django.db import models
from django.utils.translation import gettext_lazy as _


class ErasureReason(models.TextChoices):
    REQUEST = "request", _("Request of the person (Art. 17 GDPR)")
    RETENTION = "retention", _("Retention period expired")
