"""Reads of channels and campaigns (not personal data: visible to every signed-in user)."""

from __future__ import annotations

from django.db.models import F, QuerySet

from .models import Campaign, Channel


def channel_list(*, active_only: bool = False) -> QuerySet[Channel]:
    qs = Channel.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def campaign_list(*, active_only: bool = False) -> QuerySet[Campaign]:
    """Newest campaigns first; campaigns without a start date last (on every database)."""
    qs = Campaign.objects.select_related("channel").order_by(
        F("starts_on").desc(nulls_last=True), "name", "id"
    )
    return qs.filter(is_active=True) if active_only else qs


def channel_by_slug(slug: str) -> Channel | None:
    return Channel.objects.filter(slug=slug).first()


def campaign_by_slug(slug: str) -> Campaign | None:
    return Campaign.objects.select_related("channel").filter(slug=slug).first()
