"""Fixtures for routing: a real SMTP server on loopback, calendars, pools and MQL leads."""

from __future__ import annotations

import email
import socket
import threading
from datetime import time
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.utils import translation

from leadwerk.accounts.choices import Role
from leadwerk.leads.choices import Stage
from leadwerk.leads.services import lead_transition
from leadwerk.routing import services
from leadwerk.routing.choices import PoolKind, TargetType
from leadwerk.tests_support.factories import (
    ChannelFactory,
    CompanyFactory,
    LeadFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)


class Mailbox:
    """Collects what the SMTP server receives, parsed."""

    def __init__(self):
        self._lock = threading.Lock()
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list:
        with self._lock:
            return [m for m in self.messages if address in m["X-Envelope-To"]]

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(m["Subject"]) for m in self.messages]


def _smtp_port() -> int:
    """A port nobody listens on: fixed ports collide with other test runs on the machine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def _smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_smtp_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


@pytest.fixture(autouse=True)
def mailbox(_smtp_server, settings) -> Mailbox:
    """Every routing test talks to the real SMTP server, through the one door's guard; the
    mailbox starts empty."""
    box, port = _smtp_server
    box.clear()
    settings.EMAIL_BACKEND = "leadwerk.messaging.backend.GuardedEmailBackend"  # the one door
    settings.LEADWERK_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.TIME_ZONE = "Europe/Berlin"
    return box


@pytest.fixture(autouse=True)
def _default_language():
    """Services write timeline entries in the active language; start every test in the
    default one (German), whatever a request in an earlier test left active."""
    with translation.override(django_settings.LANGUAGE_CODE):
        yield


ALWAYS = [(d, time(0), time(0)) for d in range(7)]


@pytest.fixture
def always_open(db):
    """A calendar without closing time or holidays, so tests do not depend on the clock."""
    return services.calendar_save(name="Rund um die Uhr", country="", hours=ALWAYS, is_default=True)


@pytest.fixture
def manager(db):
    return UserFactory(username="chefin", roles=[Role.SALES_MANAGER], email="chefin@example.com")


@pytest.fixture
def sales_team(manager):
    team = TeamFactory(name="Vertrieb Nord")
    team.manager = manager
    team.save()
    return team


def make_reps(team, n: int, prefix: str = "rep") -> list:
    return [
        UserFactory(
            username=f"{prefix}{i}",
            roles=[Role.SALES_REP],
            team=team,
            email=f"{prefix}{i}@example.com",
        )
        for i in range(n)
    ]


def make_pool(name: str, users, *, kind=PoolKind.TEAM, team=None, capacity=None, **kw):
    pool = services.pool_save(name=name, kind=kind, team=team, **kw)
    for user in users:
        services.pool_member_add(pool=pool, user=user, capacity=capacity)
    return pool


def default_rule_to(pool):
    return services.rule_save(
        name="Alle übrigen Leads",
        conditions={},
        target_type=TargetType.POOL,
        target_pool=pool,
        is_default=True,
    )


def company(**kw):
    defaults = {
        "country": "DE",
        "postal_code": "80331",
        "employees": 120,
        "employee_band": "50-249",
    }
    return CompanyFactory(**{**defaults, **kw})


def new_lead(channel=None, **kw):
    """A lead in stage new, with a company and a person."""
    c = kw.pop("company", None) or company()
    person = PersonFactory(company=c)
    return LeadFactory(
        person=person,
        company=c,
        channel=channel or ChannelFactory(slug="website"),
        stage=Stage.NEW,
        **kw,
    )


def make_mql(capture, lead=None, **kw):
    """Move a lead to MQL the way scoring will, and run what happens after commit."""
    lead = lead or new_lead(**kw)
    with capture(execute=True):
        lead_transition(lead=lead, to_stage=Stage.MQL, actor=None, reason="Score ≥ 60")
    lead.refresh_from_db()
    return lead
