from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "leadwerk.scoring"
    label = "scoring"
    verbose_name = _("Lead scoring")

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - rescoring after merges and unmerges
        from .privacy import register

        register()  # what export and erasure of a person cover in scoring
