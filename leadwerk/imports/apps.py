from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "leadwerk.imports"
    verbose_name = _("List imports")

    def ready(self) -> None:
        from .privacy import register

        register()  # what export and erasure of a person cover in imports
