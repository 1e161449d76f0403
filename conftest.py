"""Shared test fixtures: users per role, channels, campaigns, API clients."""

from __future__ import annotations

import pytest
from django.test import Client

from leadwerk.accounts.choices import Role, TokenScope
from leadwerk.accounts.services import api_token_create
from leadwerk.tests_support.factories import (
    CampaignFactory,
    ChannelFactory,
    PartnerCompanyFactory,
    TeamFactory,
    UserFactory,
)

pytest_plugins = ["leadwerk.tests_support.mailserver"]


@pytest.fixture(autouse=True)
def _mail_only_through_the_door(settings):
    """pytest-django swaps in the locmem backend; keep the one door's guard in front of it,
    so a test of any code that mails outside messaging.services.message_send fails."""
    settings.EMAIL_BACKEND = "leadwerk.messaging.backend.GuardedEmailBackend"
    settings.LEADWERK_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Argon2 is deliberately slow; tests that log in hundreds of users use MD5 instead.
    Tests about password hashing itself override this back."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_public_forms(settings):
    """Public forms refuse submissions faster than a human; tests submit at once."""
    settings.LEADWERK_FORM_MIN_FILL_SECONDS = 0


@pytest.fixture
def channel(db):
    return ChannelFactory(slug="website", name="Website", kind="website", rank=5)


@pytest.fixture
def trade_fair(db):
    return ChannelFactory(slug="trade-fair", name="Messen", kind="trade_fair", rank=4)


@pytest.fixture
def campaign(channel):
    return CampaignFactory(slug="whitepaper", name="Whitepaper", channel=channel)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", roles=[Role.ADMIN])


@pytest.fixture
def marketing_user(db):
    return UserFactory(username="marketing", roles=[Role.MARKETING])


@pytest.fixture
def team(db):
    return TeamFactory(name="Vertrieb Süd")


@pytest.fixture
def rep(team):
    return UserFactory(username="rep", roles=[Role.SALES_REP], team=team)


@pytest.fixture
def partner_user(db):
    return UserFactory(username="partner", roles=[Role.PARTNER], partner=PartnerCompanyFactory())


def bearer_client(user, scope=TokenScope.WRITE) -> Client:
    _token, raw = api_token_create(user=user, name="test", scope=scope)
    return Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def api(admin_user) -> Client:
    """A client for the API acting as the admin with a write token."""
    return bearer_client(admin_user)


@pytest.fixture
def client_admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client
