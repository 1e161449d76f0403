from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "leadwerk.routing"
    label = "routing"
    verbose_name = _("Routing and response time")

    def ready(self) -> None:
        from .privacy import register

        register()  # what export and erasure of a person cover in routing
