from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "leadwerk.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        # Sign-ins happen inside django.contrib.auth; its signals are the only door to them.
        from . import receivers  # noqa: F401
