"""Schemathesis against /api/v1/openapi.json: generated requests for every operation find
no server error, every answer matches the schema, and authorization is enforced."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings

from leadwerk.accounts.choices import Role, TokenScope
from leadwerk.accounts.services import api_token_create
from leadwerk.tests_support.consent import publish_text
from leadwerk.tests_support.factories import (
    CampaignFactory,
    ChannelFactory,
    LeadFactory,
    UserFactory,
)

# Bounded so the suite stays fast: a few dozen generated requests per operation. Set
# LEADWERK_SCHEMATHESIS_EXAMPLES for a deeper run.
MAX_EXAMPLES = int(os.environ.get("LEADWERK_SCHEMATHESIS_EXAMPLES", "30"))


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django closes the connection after each request (close_old_connections); the test
    client switches that off, schemathesis calls the WSGI app directly, so do it here: the
    test's transaction must survive the request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_data(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LEADWERK_FORM_RATE_LIMIT = 10_000
    admin = UserFactory(username="schema_admin", roles=[Role.ADMIN])
    channel = ChannelFactory(slug="website", name="Website")
    CampaignFactory(slug="whitepaper", channel=channel)
    for _ in range(3):
        LeadFactory(channel=channel)
    publish_text()
    _token, raw = api_token_create(user=admin, name="schemathesis", scope=TokenScope.ADMIN)
    return {"Authorization": f"Bearer {raw}"}


def _load_schema():
    from leadwerk.wsgi import application

    # The schema document is public and needs no database; the calls run in each test.
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    # The bearer token is sent with every call below (and left out on purpose in the
    # authorization test), so requests without it are not "negative data". Unknown query
    # parameters are ignored, as usual for REST APIs, so they are not generated either.
    loaded.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    return loaded


schema = _load_schema()


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("LEADWERK_SCHEMATHESIS_EXAMPLES"),
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_its_schema(case, api_data):
    # Every check but "schema-valid data is accepted": intake refers to channels by slug and
    # asks for an e-mail address or a phone number, which a schema cannot say; such
    # requests rightly get 422 with the reason.
    case.call_and_validate(
        headers=api_data, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )


@schema.parametrize()
@hypothesis_settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_refuses_requests_without_a_token(case, db):
    response = case.call()
    if case.method.upper() != case.operation.method.upper():
        # A method the path does not have: refused before authentication.
        assert response.status_code == 405, (case.method, case.path)
        return
    assert response.status_code == 401, (case.method, case.path, response.text)
    assert response.headers["www-authenticate"][0].startswith("Bearer")
