"""{% person_quality_panel person %} / {% company_quality_panel company %}: the data-quality
box on the person and company pages (completeness, flags, last check, merges, a fix link),
loaded by htmx after the page so the page's own queries stay as they are; and the
``percent`` filter."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.formats import number_format

register = template.Library()


@register.inclusion_tag("dataquality/partials/panel_loader.html")
def person_quality_panel(person):
    return {
        "panel_url": reverse("dataquality:person_panel", args=[person.uuid]),
        "care_url": reverse("dataquality:person_care", args=[person.uuid]),
    }


@register.inclusion_tag("dataquality/partials/panel_loader.html")
def company_quality_panel(company):
    return {
        "panel_url": reverse("dataquality:company_panel", args=[company.uuid]),
        "care_url": reverse("dataquality:company_care", args=[company.uuid]),
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
