from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    """What the person's data is used for. Marketing purposes need a legal basis per channel."""

    NEWSLETTER = "newsletter", _("Newsletter")
    PRODUCT_MARKETING = "product_marketing", _("Product marketing")
    PROFILING = "profiling", _("Profiling and tracking")


class ContactChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    WEB = "web", _("Website tracking")


# Which channels each purpose can use.
PURPOSE_CHANNELS: dict[str, tuple[str, ...]] = {
    Purpose.NEWSLETTER: (ContactChannel.EMAIL,),
    Purpose.PRODUCT_MARKETING: (ContactChannel.EMAIL, ContactChannel.PHONE),
    Purpose.PROFILING: (ContactChannel.WEB,),
}


class ConsentState(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    PENDING = "pending", _("Pending confirmation")


class LegalBasis(models.TextChoices):
    """Art. 6 (1) GDPR; for e-mail and phone marketing also § 7 UWG."""

    CONSENT = "consent", _("Consent (Art. 6 (1) a)")
    CONTRACT = "contract", _("Contract or request of the person (Art. 6 (1) b)")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest (Art. 6 (1) f)")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation (Art. 6 (1) c)")


class ConsentSource(models.TextChoices):
    FORM = "form", _("Web form")
    IMPORT = "import", _("Import")
    CALL = "call", _("Phone call")
    API = "api", _("API")
    UI = "ui", _("Entered in Leadwerk")
    DOUBLE_OPT_IN = "double_opt_in", _("Double opt-in confirmation")
    PREFERENCES = "preferences", _("Preference page")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")
    ERASURE = "erasure", _("Erasure")
