"""/api/v1/channels and /api/v1/campaigns: what an integration needs to send valid slugs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from leadwerk.accounts.choices import Role
from leadwerk.accounts.services import api_token_create
from leadwerk.tests_support.factories import CampaignFactory, ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    fair = ChannelFactory(
        slug="trade-fair", name="Messen", kind="trade_fair", rank=4, value_weight=Decimal("1.50")
    )
    web = ChannelFactory(slug="website", name="Website", kind="website", rank=5)
    tele = ChannelFactory(slug="telemarketing", name="Telemarketing", kind="telemarketing", rank=1)
    ChannelFactory(slug="fax", name="Fax", kind="other", rank=9, is_active=False)
    CampaignFactory(
        slug="hannover-messe-2025",
        name="Hannover Messe 2025",
        channel=fair,
        starts_on=date(2025, 3, 31),
        ends_on=date(2025, 4, 4),
        cost=Decimal("48500.00"),
    )
    CampaignFactory(
        slug="whitepaper-ki",
        name="Whitepaper KI",
        channel=web,
        starts_on=date(2025, 5, 1),
        cost=Decimal("1200.50"),
        currency="CHF",
    )
    CampaignFactory(slug="dauerlaeufer", name="Dauerläufer", channel=web)
    CampaignFactory(
        slug="alt-2023", name="Alt 2023", channel=tele, starts_on=date(2023, 1, 1), is_active=False
    )
    return {"fair": fair, "web": web}


def test_channels_are_listed_by_rank_with_kind_weight_and_state(api, catalogue):
    response = api.get("/api/v1/channels")

    assert response.status_code == 200
    data = response.json()
    assert [c["slug"] for c in data] == ["telemarketing", "trade-fair", "website", "fax"]
    fair = data[1]
    assert fair["id"] == str(catalogue["fair"].uuid)
    assert (fair["name"], fair["kind"], fair["rank"], fair["is_active"]) == (
        "Messen",
        "trade_fair",
        4,
        True,
    )
    assert Decimal(str(fair["value_weight"])) == Decimal("1.50")
    assert data[3]["is_active"] is False


def test_campaigns_are_listed_newest_first_with_channel_period_and_cost(api, catalogue):
    response = api.get("/api/v1/campaigns")

    assert response.status_code == 200
    data = response.json()
    # Campaigns without a start date come last, on SQLite and PostgreSQL alike.
    assert [c["slug"] for c in data] == [
        "whitepaper-ki",
        "hannover-messe-2025",
        "alt-2023",
        "dauerlaeufer",
    ]
    messe = data[1]
    assert messe["channel"] == "trade-fair"
    assert (messe["starts_on"], messe["ends_on"]) == ("2025-03-31", "2025-04-04")
    assert Decimal(str(messe["cost"])) == Decimal("48500.00")
    assert messe["currency"] == "EUR"
    assert data[0]["currency"] == "CHF"
    assert data[2]["is_active"] is False
    assert data[3]["name"] == "Dauerläufer"
    assert data[3]["starts_on"] is None


def test_every_signed_in_role_can_read_channels_and_campaigns(catalogue):
    for role in Role:
        user = UserFactory(username=f"u-{role.value}", roles=[role])
        _token, raw = api_token_create(user=user, name="t")
        client = Client(headers={"Authorization": f"Bearer {raw}"})
        assert len(client.get("/api/v1/channels").json()) == 4, role
        assert len(client.get("/api/v1/campaigns").json()) == 4, role


def test_channel_and_campaign_lists_need_a_fixed_number_of_queries(
    api, catalogue, django_assert_max_num_queries
):
    for i in range(20):
        CampaignFactory(slug=f"c-{i}", channel=catalogue["web"])
    api.get("/api/v1/channels")  # the token's first use records last_used_at once

    # token + user, the list (campaigns with their channel in one query).
    with django_assert_max_num_queries(2):
        assert len(api.get("/api/v1/campaigns").json()) == 24
    with django_assert_max_num_queries(2):
        assert len(api.get("/api/v1/channels").json()) == 4
