from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DedupConfig(AppConfig):
    name = "leadwerk.dedup"
    verbose_name = _("Duplicates")

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers
        from .consent_merge import register_consent_rule
        from .privacy import register

        register_consent_rule()
        register()  # what export and erasure of a person cover in duplicate handling
