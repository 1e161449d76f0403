from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataQualityConfig(AppConfig):
    name = "leadwerk.dataquality"
    verbose_name = _("Data quality")

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers
        from .privacy import register

        register()  # what export and erasure of a person cover in data quality
