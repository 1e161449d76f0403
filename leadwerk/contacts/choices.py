from django.db import models
from django.utils.translation import gettext_lazy as _


class Salutation(models.TextChoices):
    NONE = "", _("—")
    MR = "mr", _("Mr")
    MS = "ms", _("Ms")
    DIVERSE = "mx", _("Mx")


class EmployeeBand(models.TextChoices):
    """Company size bands (EU SME definition, split further at the top)."""

    UNKNOWN = "", _("unknown")
    MICRO = "1-9", _("1–9")
    SMALL = "10-49", _("10–49")
    MEDIUM = "50-249", _("50–249")
    LARGE = "250-999", _("250–999")
    XL = "1000-4999", _("1,000–4,999")
    XXL = "5000+", _("5,000+")

    @classmethod
    def for_count(cls, employees: int | None) -> "EmployeeBand":
        if employees is None:
            return cls.UNKNOWN
        for band, upper in (
            (cls.MICRO, 9),
            (cls.SMALL, 49),
            (cls.MEDIUM, 249),
            (cls.LARGE, 999),
            (cls.XL, 4999),
        ):
            if employees <= upper:
                return band
        return cls.XXL


class FederalState(models.TextChoices):
    """German federal states (ISO 3166-2:DE codes without the country prefix)."""

    NONE = "", _("—")
    BW = "BW", "Baden-Württemberg"
    BY = "BY", "Bayern"
    BE = "BE", "Berlin"
    BB = "BB", "Brandenburg"
    HB = "HB", "Bremen"
    HH = "HH", "Hamburg"
    HE = "HE", "Hessen"
    MV = "MV", "Mecklenburg-Vorpommern"
    NI = "NI", "Niedersachsen"
    NW = "NW", "Nordrhein-Westfalen"
    RP = "RP", "Rheinland-Pfalz"
    SL = "SL", "Saarland"
    SN = "SN", "Sachsen"
    ST = "ST", "Sachsen-Anhalt"
    SH = "SH", "Schleswig-Holstein"
    TH = "TH", "Thüringen"


class Language(models.TextChoices):
    NONE = "", _("—")
    DE = "de", _("German")
    EN = "en", _("English")
    FR = "fr", _("French")
    IT = "it", _("Italian")
    NL = "nl", _("Dutch")
    PL = "pl", _("Polish")
    ES = "es", _("Spanish")
