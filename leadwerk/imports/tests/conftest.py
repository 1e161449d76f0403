"""These tests read English: services run with English active, browsers send
Accept-Language: en (the German texts have their own tests)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def client_admin(admin_user):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(admin_user)
    return client
