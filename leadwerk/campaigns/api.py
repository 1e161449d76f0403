"""/api/v1/channels and /api/v1/campaigns (read-only)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema

from leadwerk.leads.schemas import error_responses

from .selectors import campaign_list, channel_list

router = Router(tags=["campaigns"])


class ChannelOut(Schema):
    id: UUID
    slug: str
    name: str
    kind: str
    value_weight: Decimal
    rank: int
    is_active: bool


class CampaignOut(Schema):
    id: UUID
    slug: str
    name: str
    channel: str
    starts_on: date | None
    ends_on: date | None
    cost: Decimal
    currency: str
    is_active: bool


@router.get(
    "/channels",
    response={200: list[ChannelOut], **error_responses(401)},
    summary="List channels (by rank)",
)
def list_channels(request: HttpRequest):
    return [
        {"id": c.uuid, **{f: getattr(c, f) for f in ChannelOut.model_fields if f != "id"}}
        for c in channel_list()
    ]


@router.get(
    "/campaigns",
    response={200: list[CampaignOut], **error_responses(401)},
    summary="List campaigns",
)
def list_campaigns(request: HttpRequest):
    return [
        {
            "id": c.uuid,
            "channel": c.channel.slug,
            **{f: getattr(c, f) for f in CampaignOut.model_fields if f not in ("id", "channel")},
        }
        for c in campaign_list()
    ]
