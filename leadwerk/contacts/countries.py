"""Country names and codes (ISO 3166-1 alpha-2), in German and English."""

from __future__ import annotations

import gettext
from functools import cache

import pycountry

from .normalization import transliterate


@cache
def _lookup() -> dict[str, str]:
    german = _german()
    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        names = {
            country.alpha_2,
            country.alpha_3,
            country.name,
            getattr(country, "common_name", ""),
            getattr(country, "official_name", ""),
        }
        names |= {german.gettext(n) for n in list(names) if n}
        for name in names:
            if name:
                table[transliterate(name)] = code
    table.update(
        {
            transliterate(k): v
            for k, v in {
                "BRD": "DE",
                "Bundesrepublik Deutschland": "DE",
                "D": "DE",
                "A": "AT",
                "CH": "CH",
                "Schweiz": "CH",
                "UK": "GB",
                "England": "GB",
                "Großbritannien": "GB",
                "USA": "US",
                "Holland": "NL",
                "Tschechien": "CZ",
                "Tschechische Republik": "CZ",
                "Great Britain": "GB",
                "Vereinigtes Koenigreich": "GB",
                "Russland": "RU",
                "Russia": "RU",
                "Turkey": "TR",
                "Türkiye": "TR",
                "South Korea": "KR",
                "Korea": "KR",
                "Vereinigte Arabische Emirate": "AE",
                "UAE": "AE",
                "Fürstentum Liechtenstein": "LI",
                "FL": "LI",
                "Deutschland (DE)": "DE",
            }.items()
        }
    )
    return table


def country_code(value: str) -> str | None:
    """'Deutschland', 'Germany', 'DE', 'DEU' -> 'DE'; '' -> ''; unknown -> None."""
    value = " ".join(value.split()).strip(" .,")
    if not value:
        return ""
    return _lookup().get(transliterate(value))


def country_name(code: str, language: str = "de") -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return code
    name = getattr(country, "common_name", country.name)
    if language == "de":
        return _german().gettext(name)
    return name


@cache
def _german():
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["de"])
