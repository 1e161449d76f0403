from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "leadwerk.privacy"
    label = "privacy"
    verbose_name = _("Data subject rights")

    def ready(self) -> None:
        # Each app with personal data registers what export and erasure must cover.
        from . import builtin_sections  # noqa: F401
