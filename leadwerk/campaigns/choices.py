from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKind(models.TextChoices):
    TELEMARKETING = "telemarketing", _("Telemarketing")
    DIRECT_MAIL = "direct_mail", _("Direct mail with response element")
    EVENT = "event", _("Events and seminars")
    TRADE_FAIR = "trade_fair", _("Trade fair")
    WEBSITE = "website", _("Website")
    SOCIAL = "social", _("Social media and communities")
    ADVERTISING = "advertising", _("Ads with response element")
    PARTNER = "partner", _("Partner")
    API = "api", _("Integration (API)")
    OTHER = "other", _("Other")


class Currency(models.TextChoices):
    EUR = "EUR", "EUR"
    CHF = "CHF", "CHF"
    USD = "USD", "USD"
    GBP = "GBP", "GBP"
