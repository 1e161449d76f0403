"""Parallel intakes never assign above capacity and never break the fairness ledger.

A real server (gunicorn, two worker processes with four threads each, as ``leadwerk run``
starts it) receives many intakes at once for a channel that routes at intake, into a pool
with less room than leads. On PostgreSQL the server uses the test database and the row
locks decide; on SQLite the test database is copied into a WAL file for the server and
back afterwards, and SQLite serialises the writers. The checks are the same."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Sum

from leadwerk.accounts.choices import TokenScope
from leadwerk.accounts.services import api_token_create
from leadwerk.leads.models import Lead
from leadwerk.routing import services
from leadwerk.routing.models import Assignment, LedgerEntry, Notification, UnassignedLead
from leadwerk.tests_support.factories import ChannelFactory, TeamFactory, UserFactory

from .conftest import ALWAYS, default_rule_to, make_pool, make_reps

pytestmark = pytest.mark.django_db(transaction=True)

MEMBERS, CAPACITY, LEADS, CLIENTS = 5, 4, 36, 12
ROOT = Path(__file__).resolve().parents[3]


def _http_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw2")
    index = int(worker.removeprefix("gw") or 0) % 3
    return 8071 + index + (4 if connection.vendor == "postgresql" else 0)


class Server:
    """gunicorn on loopback, on the test database (or a copy of it)."""

    def __init__(self, *, smtp_port: int):
        self.port = _http_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var_dir = Path(tempfile.mkdtemp(prefix="leadwerk-concurrency-"))
        self.smtp_port = smtp_port
        self.file_db: sqlite3.Connection | None = None
        self.process: subprocess.Popen | None = None

    def _env(self) -> dict:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "leadwerk.settings",
            "LEADWERK_VAR_DIR": str(self.var_dir),
            "LEADWERK_SECRET_KEY": "concurrency-test",
            "LEADWERK_EMAIL_HOST": "127.0.0.1",
            "LEADWERK_EMAIL_PORT": str(self.smtp_port),
            "LEADWERK_ALLOWED_HOSTS": "127.0.0.1",
            "LEADWERK_TIME_ZONE": "Europe/Berlin",
        }
        if connection.vendor == "postgresql":
            s = connection.settings_dict
            auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
            env["DATABASE_URL"] = f"postgres://{auth}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
        else:
            env.pop("DATABASE_URL", None)
            connection.ensure_connection()
            self.file_db = sqlite3.connect(self.var_dir / "leadwerk.sqlite3")
            connection.connection.backup(self.file_db)
            self.file_db.execute("PRAGMA journal_mode=WAL")
        return env

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "leadwerk.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self._env(),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):  # noqa: S310
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        raise RuntimeError("the server did not answer within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        if self.file_db is not None:
            # What the server wrote comes back into the test database.
            self.file_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.file_db.backup(connection.connection)
            self.file_db.close()
        shutil.rmtree(self.var_dir, ignore_errors=True)


@pytest.fixture
def small_pool(manager):
    services.calendar_save(name="Immer", country="", hours=ALWAYS, is_default=True)
    team = TeamFactory(name="Parallel", manager=manager)
    reps = make_reps(team, MEMBERS, prefix="par")
    pool = make_pool("Parallel", reps, team=team, capacity=CAPACITY)
    default_rule_to(pool)
    hotline = ChannelFactory(slug="hotline", kind="telemarketing", rank=1)
    services.channel_policy_set(channel=hotline, route_at_intake=True)
    return pool, reps


def test_parallel_http_intakes_never_exceed_capacity_or_break_the_ledger(
    small_pool, _smtp_server, mailbox
):
    pool, reps = small_pool
    _, token = api_token_create(
        user=UserFactory(username="api"), name="parallel", scope=TokenScope.WRITE
    )
    server = Server(smtp_port=_smtp_server[1])
    gate = threading.Barrier(CLIENTS)

    def post(i: int) -> int:
        if i < CLIENTS:
            gate.wait()
        body = json.dumps(
            {
                "person": {"email": f"parallel{i}@firma{i}.de", "last_name": f"Parallel {i}"},
                "company": {"name": f"Firma {i} GmbH"},
                "channel": "hotline",
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{server.url}/api/v1/leads",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    server.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as clients:
            statuses = list(clients.map(post, range(LEADS)))
    finally:
        server.stop()

    assert statuses == [201] * LEADS
    assert Lead.objects.count() == LEADS
    owned = Counter(Lead.objects.filter(owner__isnull=False).values_list("owner_id", flat=True))
    assert owned == {rep.pk: CAPACITY for rep in reps}  # everyone full, nobody above
    # One assignment per assigned lead; the ledger holds exactly one line per assignment
    # and each member's sum equals what they own.
    assert not Assignment.objects.values("lead").annotate(n=Count("id")).filter(n__gt=1)
    assert Assignment.objects.count() == MEMBERS * CAPACITY
    ledger = dict(
        LedgerEntry.objects.filter(pool=pool)
        .values("user_id")
        .annotate(c=Sum("count"))
        .values_list("user_id", "c")
    )
    assert ledger == {rep.pk: float(CAPACITY) for rep in reps}
    # The rest waits, visibly, in the queue; nothing is lost.
    queued = UnassignedLead.objects.filter(resolved_at__isnull=True).count()
    assert queued == LEADS - MEMBERS * CAPACITY
    # Every owner was told, by the inbox and by mail.
    assert Notification.objects.filter(kind="assigned").count() == MEMBERS * CAPACITY
    assert len([m for m in mailbox.messages if m["X-Leadwerk-Notification"] == "assigned"]) == (
        MEMBERS * CAPACITY
    )
