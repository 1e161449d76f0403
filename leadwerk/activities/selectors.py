"""Reads of the timeline. Callers pass objects they already got through scoped selectors."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Activity


def activity_timeline(*, lead=None, person=None, limit: int = 200) -> QuerySet[Activity]:
    """Newest first, for one lead or one person."""
    qs = Activity.objects.select_related("actor", "lead__channel")
    if lead is not None:
        qs = qs.filter(lead=lead)
    elif person is not None:
        qs = qs.filter(person=person)
    else:
        raise ValueError("pass a lead or a person")
    return qs.order_by("-occurred_at", "-id")[:limit]
