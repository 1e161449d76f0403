"""Template helpers for the scoring pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """``{{ cells|get:cell }}``: a dict value by key (0 for a missing count)."""
    if not hasattr(mapping, "get"):
        return None
    return mapping.get(str(key), mapping.get(key))


@register.filter
def rule_value(value) -> str:
    """A rule's value as people read it: lists joined, ranges as from–to."""
    if isinstance(value, list):
        if len(value) == 2 and all(v is None or isinstance(v, int | float) for v in value):
            lo, hi = value
            return f"{'' if lo is None else lo}–{'' if hi is None else hi}"
        return ", ".join(str(v) for v in value)
    if value is True:
        return "✓"
    if value is False:
        return "✗"
    return "" if value is None else str(value)


@register.filter
def signed(value) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{number:g}"
    return f"+{text}" if number > 0 else text.replace("-", "−")


@register.filter
def get_field(form, name: str):
    """``{{ form|get_field:name }}``: a bound field by its (computed) name."""
    return form[name]


@register.filter
def split(value: str) -> list[str]:
    return value.split()


def _choice_label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@register.filter
def label_name(value: str) -> str:
    """hot/warm/cold in the user's language."""
    from leadwerk.scoring.choices import Label

    return _choice_label(Label, value)


@register.filter
def activity_type_name(value: str) -> str:
    """An activity type code (``web_visit``) in the user's language."""
    from leadwerk.activities.choices import ActivityType

    return _choice_label(ActivityType, value)
