from django.db import models
from django.utils.translation import gettext_lazy as _


class FlagKind(models.TextChoices):
    INVALID = "invalid", _("Invalid value")
    BOUNCED = "bounced", _("E-mail bounced")


class CareAction(models.TextChoices):
    """What earns data-care points (never a no-op)."""

    FIX = "fix", _("Fixed a value")
    FILL = "fill", _("Filled a missing value")
    VERIFY = "verify", _("Verified a record")
    MERGE = "merge", _("Merged duplicates")
    DISMISS = "dismiss", _("Reviewed a possible duplicate")
    UNMERGE = "unmerge", _("Undid a merge")


POINTS = {
    CareAction.FIX: 3,
    CareAction.FILL: 2,
    CareAction.VERIFY: 1,
    CareAction.MERGE: 5,
    CareAction.DISMISS: 2,
    CareAction.UNMERGE: 0,
}

# Fields a company can declare as required, per record kind.
PERSON_FIELDS = {
    "salutation": _("Salutation"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "email": _("E-mail"),
    "phone": _("Phone"),
    "job_title": _("Job title"),
    "language": _("Language"),
    "company": _("Company"),
}
COMPANY_FIELDS = {
    "name": _("Name"),
    "legal_form": _("Legal form"),
    "website": _("Website"),
    "industry": _("Industry"),
    "employee_band": _("Employees"),
    "country": _("Country"),
    "postal_code": _("Postal code"),
    "city": _("City"),
    "vat_id": _("VAT ID"),
}
DEFAULT_PERSON_REQUIRED = ["last_name", "email", "phone", "company"]
DEFAULT_COMPANY_REQUIRED = ["name", "country", "postal_code", "city"]
