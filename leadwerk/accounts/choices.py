from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The roles; each is a Django group of the same name."""

    MARKETING = "Marketing", _("Marketing")
    INSIDE_SALES = "Inside sales", _("Inside sales")
    SALES_REP = "Sales rep", _("Sales rep")
    SALES_MANAGER = "Sales manager", _("Sales manager")
    PARTNER = "Partner", _("Partner")
    ADMIN = "Admin", _("Admin")
    AUDITOR = "Auditor", _("Auditor")


class TokenScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")
    ADMIN = "admin", _("Admin")


class PartnerTier(models.TextChoices):
    GOLD = "gold", _("Gold")
    SILVER = "silver", _("Silver")
    BRONZE = "bronze", _("Bronze")
