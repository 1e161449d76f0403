"""{% person_quality_panel person %} / {% company_quality_panel company %}: the data-quality
box on the person and company pages (completeness, flags, last check, merges, a fix link)."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

from leadwerk.dedup.choices import Entity
from leadwerk.dedup.selectors import merges_of

from ..selectors import company_quality, person_quality

register = template.Library()


@register.inclusion_tag("dataquality/partials/detail_panel.html")
def person_quality_panel(person):
    return {
        "quality": person_quality(person=person),
        "merges": merges_of(entity=Entity.PERSON, obj_id=person.pk, limit=5),
        "care_url_name": "dataquality:person_care",
        "obj": person,
    }


@register.inclusion_tag("dataquality/partials/detail_panel.html")
def company_quality_panel(company):
    return {
        "quality": company_quality(company=company),
        "merges": merges_of(entity=Entity.COMPANY, obj_id=company.pk, limit=5),
        "care_url_name": "dataquality:company_care",
        "obj": company,
    }


@register.filter
def percent(value) -> str:
    """0.99864 -> '99.9 %' (one decimal, never rounded up to 100 % unless it is 100 %)."""
    try:
        number = float(value) * 100
    except (TypeError, ValueError):
        return ""
    shown = int(number * 10) / 10  # floor: a 99.96 % match must not read as certain
    return f"{number_format(shown, 1)} %"
