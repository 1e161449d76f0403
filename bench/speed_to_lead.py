"""Speed to lead (issue 4): from the HTTP intake of a lead that qualifies at once to its owner
being set and the notification handed to the mail system.

Starts a real server (gunicorn, as ``leadwerk run``) on a fresh database and a real SMTP
server on loopback (aiosmtpd, in this process), sets up through the project's own services
a channel that skips marketing qualification, a pool of 50 reps and a default rule, then:

1. **Latency**: posts N leads one after another to ``POST /api/v1/leads`` and measures, per
   lead, the time from sending the request to the SMTP server receiving the owner's
   notification (whose ``X-Leadwerk-Lead`` header names the lead). The notification is sent
   after the assignment has committed, so this covers "owner set" too; the script checks
   afterwards that every lead has an owner and an assignment. p50/p99 of that, and of the
   HTTP answer alone.
2. **Throughput over HTTP**: M leads from several concurrent clients; assignments/s = M over
   the wall time until the last notification arrived.
3. **Throughput of the routing service**: K leads already in the database become MQLs and
   are routed in-process (``lead_route``), one after another: assignments/s of the fair pick
   with its ledger, locks, timeline entry, clock and notification.

    .venv/bin/python bench/speed_to_lead.py                       # SQLite (WAL), temp dir
    .venv/bin/python bench/speed_to_lead.py --database-url postgres://postgres@127.0.0.1:55481/x

With ``--database-url`` a fresh database is created on that server and dropped afterwards.
Exits non-zero when a request fails or a lead ends without owner or notification.
See docs/benchmarks.md, "Speed to lead (issue 4)".
"""

from __future__ import annotations

import argparse
import email
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL_P99_MS = 250.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Speed to lead: intake to owner and notification.")
    p.add_argument("--n", type=int, default=1000, help="leads for the latency run")
    p.add_argument("--warmup", type=int, default=50, help="unmeasured leads first")
    p.add_argument("--throughput", type=int, default=1000, help="leads for the HTTP throughput")
    p.add_argument("--concurrency", type=int, default=8, help="clients for the throughput run")
    p.add_argument("--service", type=int, default=2000, help="leads for the in-process run")
    p.add_argument("--members", type=int, default=50, help="members of the pool")
    p.add_argument("--database-url", default="", help="postgres://… (default: SQLite)")
    p.add_argument("--port", type=int, default=8079, help="HTTP port (127.0.0.1)")
    p.add_argument("--smtp-port", type=int, default=2579, help="SMTP port (127.0.0.1)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (as leadwerk run)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker")
    p.add_argument("--keep", action="store_true", help="keep the temp dir and database")
    args = p.parse_args(argv)
    if min(args.n, args.members, args.concurrency) < 1 or args.warmup < 0:
        p.error("--n, --members and --concurrency must be at least 1")
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        p.error("--database-url must be a postgres:// URL (SQLite is the default)")
    return args


# --- environment ------------------------------------------------------------------------------
@dataclass
class Environment:
    var_dir: Path
    env: dict[str, str]
    admin_url: str = ""
    database: str = ""


def _pg(url: str, sql: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


def prepare(args: argparse.Namespace) -> Environment:
    var_dir = Path(tempfile.mkdtemp(prefix="leadwerk-speed-"))
    env = {
        "LEADWERK_VAR_DIR": str(var_dir),
        "LEADWERK_DEBUG": "0",
        "LEADWERK_SECRET_KEY": "speed-to-lead-bench",
        "LEADWERK_EMAIL_HOST": "127.0.0.1",
        "LEADWERK_EMAIL_PORT": str(args.smtp_port),
        "DJANGO_SETTINGS_MODULE": "leadwerk.settings",
    }
    environment = Environment(var_dir=var_dir, env=env)
    if args.database_url:
        environment.admin_url = args.database_url
        environment.database = f"leadwerk_speed_{uuid.uuid4().hex[:8]}"
        _pg(args.database_url, f'CREATE DATABASE "{environment.database}"')
        parts = urlsplit(args.database_url)
        env["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + environment.database))
    os.environ.update(env)
    if not args.database_url:
        os.environ.pop("DATABASE_URL", None)
    return environment


def cleanup(environment: Environment, *, keep: bool) -> None:
    from django.db import connections

    connections.close_all()
    if keep:
        print(f"kept: {environment.var_dir} {environment.database}")
        return
    if environment.database:
        try:
            _pg(
                environment.admin_url,
                f'DROP DATABASE IF EXISTS "{environment.database}" WITH (FORCE)',
            )
        except Exception as exc:  # noqa: BLE001 - the figures stand; say what is left
            print(f"warning: could not drop {environment.database}: {exc}")
    shutil.rmtree(environment.var_dir, ignore_errors=True)


@dataclass
class Setup:
    token: str
    label: str


def set_up(members: int) -> Setup:
    """Migrate, then create through the project's services: a hotline channel that routes at
    intake, a pool of ``members`` reps with a team and manager, a default rule, a token."""
    import django

    django.setup()
    from datetime import time as clock_time

    from django.core.management import call_command
    from django.db import connection

    from leadwerk.accounts.choices import Role, TokenScope
    from leadwerk.accounts.services import api_token_create, user_create
    from leadwerk.routing import services
    from leadwerk.tests_support.factories import ChannelFactory, TeamFactory

    call_command("migrate", interactive=False, verbosity=0)
    manager = user_create(
        username="chefin",
        password=None,
        roles=[Role.SALES_MANAGER],
        email="chefin@nordlicht.example",
    )
    team = TeamFactory(name="Vertrieb", manager=manager)
    calendar = services.calendar_save(
        name="Rund um die Uhr",
        country="",
        hours=[(d, clock_time(0), clock_time(0)) for d in range(7)],
        is_default=True,
    )
    services.team_calendar_set(team=team, calendar=calendar)
    pool = services.pool_save(name="Vertrieb", kind="team", team=team)
    for i in range(members):
        rep = user_create(
            username=f"rep{i:02d}",
            password=None,
            roles=[Role.SALES_REP],
            email=f"rep{i:02d}@nordlicht.example",
            team=team,
            first_name="Rep",
            last_name=f"{i:02d}",
        )
        services.pool_member_add(pool=pool, user=rep)
    services.rule_save(
        name="Alle", conditions={}, target_type="pool", target_pool=pool, is_default=True
    )
    hotline = ChannelFactory(
        slug="hotline", name="Hotline", kind="telemarketing", rank=1, value_weight="1.50"
    )
    ChannelFactory(slug="website", name="Website", kind="website", rank=5, value_weight="0.80")
    services.channel_policy_set(channel=hotline, route_at_intake=True)
    intake = user_create(username="intake", password=None, roles=[Role.MARKETING])
    _token, raw = api_token_create(user=intake, name="speed", scope=TokenScope.WRITE)
    if connection.vendor == "sqlite":
        version = connection.cursor().execute("select sqlite_version()").fetchone()[0]
        label = f"SQLite {version} (WAL, synchronous=NORMAL)"
    else:
        with connection.cursor() as cursor:
            cursor.execute("show server_version")
            label = f"PostgreSQL {cursor.fetchone()[0]}"
    connection.close()
    return Setup(token=raw, label=label)


# --- the mail server ----------------------------------------------------------------------------
@dataclass
class Mailbox:
    """Records when the notification for each lead arrived."""

    arrived: dict[str, float] = field(default_factory=dict)
    events: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    count: int = 0

    def event(self, lead_id: str) -> threading.Event:
        with self.lock:
            return self.events.setdefault(lead_id, threading.Event())

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        now = time.perf_counter()
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        lead_id = message.get("X-Leadwerk-Lead", "")
        if message.get("X-Leadwerk-Notification") == "assigned" and lead_id:
            with self.lock:
                self.arrived.setdefault(lead_id, now)
                self.count += 1
                event = self.events.setdefault(lead_id, threading.Event())
            event.set()
        return "250 OK"


# --- the web server -------------------------------------------------------------------------------
class Server:
    def __init__(self, args: argparse.Namespace, environment: Environment):
        self.url = f"http://127.0.0.1:{args.port}"
        self.args = args
        self.log = environment.var_dir / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "leadwerk.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.args.port}",
                "--workers",
                str(self.args.workers),
                "--threads",
                str(self.args.threads),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ},
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):  # noqa: S310
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit(f"server did not start; see {self.log}") from None
                time.sleep(0.2)
        raise SystemExit("server did not answer within 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def body(i: int, tag: str) -> bytes:
    return json.dumps(
        {
            "person": {
                "first_name": "Erika",
                "last_name": f"Eilig {tag}{i}",
                "email": f"erika.eilig.{tag}{i}@kunde{i % 97}.example",
            },
            "company": {
                "name": f"Kunde {i % 97} GmbH",
                "employees": 20 + (i * 37) % 3000,
                "country": "DE",
                "postal_code": f"{10000 + (i * 7919) % 89999:05d}",
            },
            "channel": "hotline",
            "product_interest": "Cloud-ERP",
            "message": "Bitte rufen Sie mich zurück.",
        },
        ensure_ascii=False,
    ).encode()


def post(url: str, token: str, data: bytes) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 - our loopback server
        f"{url}/api/v1/leads",
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())["id"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()[:300]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def latency_run(url: str, token: str, mailbox: Mailbox, n: int, tag: str) -> dict:
    end_to_end, http, ids = [], [], []
    for i in range(n):
        t0 = time.perf_counter()
        status, lead_id = post(url, token, body(i, tag))
        t_http = time.perf_counter()
        if status != 201:
            raise SystemExit(f"intake failed: {status} {lead_id}")
        if not mailbox.event(lead_id).wait(10):
            raise SystemExit(f"no notification for lead {lead_id} within 10 s")
        end_to_end.append((mailbox.arrived[lead_id] - t0) * 1000)
        http.append((t_http - t0) * 1000)
        ids.append(lead_id)
    return {"end_to_end": end_to_end, "http": http, "ids": ids}


def throughput_run(url: str, token: str, mailbox: Mailbox, n: int, clients: int) -> float:
    ids: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        status, lead_id = post(url, token, body(i, "tp"))
        if status != 201:
            raise SystemExit(f"intake failed: {status} {lead_id}")
        with lock:
            ids.append(lead_id)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(n)))
    for lead_id in ids:
        if not mailbox.event(lead_id).wait(30):
            raise SystemExit(f"no notification for lead {lead_id}")
    last = max(mailbox.arrived[i] for i in ids)
    return n / (last - start)


def service_run(k: int) -> float:
    """Route ``k`` fresh MQLs in-process, one after another."""
    from django.db import connection

    from leadwerk.campaigns.models import Channel
    from leadwerk.leads.choices import Stage
    from leadwerk.leads.models import Lead
    from leadwerk.routing.choices import Trigger
    from leadwerk.routing.services import lead_route
    from leadwerk.tests_support.factories import CompanyFactory, LeadFactory, PersonFactory

    web = Channel.objects.get(slug="website")
    bands = ["1-9", "10-49", "50-249", "250-999", "1000-4999", "5000+"]
    ids = []
    for i in range(k):
        company = CompanyFactory(employee_band=bands[i % 6], country="DE")
        lead = LeadFactory(
            person=PersonFactory(company=company), company=company, channel=web, stage=Stage.MQL
        )
        ids.append(lead.pk)
    start = time.perf_counter()
    for lead_id in ids:
        if lead_route(lead_id=lead_id, trigger=Trigger.MQL).assignment is None:
            raise SystemExit(f"lead {lead_id} was not assigned")
    elapsed = time.perf_counter() - start
    assert Lead.objects.filter(pk__in=ids, owner__isnull=True).count() == 0
    connection.close()
    return k / elapsed


def verify(total: int) -> dict:
    """Every lead has an owner, one assignment and a running clock; the pool stays fair."""
    from django.db.models import Count

    from leadwerk.leads.models import Lead
    from leadwerk.routing.models import Assignment, Pool
    from leadwerk.routing.reports import fairness_report

    leads = Lead.objects.count()
    unowned = Lead.objects.filter(owner__isnull=True).count()
    doubles = Assignment.objects.values("lead").annotate(n=Count("id")).filter(n__gt=1).count()
    if leads != total or unowned or doubles:
        raise SystemExit(f"check failed: {leads} leads, {unowned} without owner, {doubles} twice")
    pool = Pool.objects.get()
    from datetime import UTC, datetime

    report = fairness_report(
        pool=pool, start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC)
    )
    counts = [r.count for r in report.rows]
    return {
        "leads": leads,
        "count_range": (min(counts), max(counts)),
        "quality_gini": report.quality_gini,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    environment = prepare(args)
    server = None
    controller = None
    try:
        setup = set_up(args.members)
        from aiosmtpd.controller import Controller

        mailbox = Mailbox()
        controller = Controller(mailbox, hostname="127.0.0.1", port=args.smtp_port)
        controller.start()
        server = Server(args, environment)
        server.start()
        latency_run(server.url, setup.token, mailbox, args.warmup, "warm")
        result = latency_run(server.url, setup.token, mailbox, args.n, "lat")
        per_second = throughput_run(
            server.url, setup.token, mailbox, args.throughput, args.concurrency
        )
        server.stop()
        service_rate = service_run(args.service)
        checked = verify(args.warmup + args.n + args.throughput + args.service)
        e2e, http = result["end_to_end"], result["http"]
        print(
            f"Speed to lead — {platform.node()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {setup.label}"
        )
        print(
            f"  server     gunicorn, {args.workers} workers x {args.threads} threads; "
            f"pool of {args.members} members; SMTP on loopback"
        )
        print(f"  latency    {args.n} leads, one at a time (after {args.warmup} warm-up)")
        verdict = "met" if pct(e2e, 99) < GOAL_P99_MS else "MISSED"
        print(
            f"    intake -> owner set + mail handed over: p50 {statistics.median(e2e):.1f} ms, "
            f"p99 {pct(e2e, 99):.1f} ms, max {max(e2e):.1f} ms "
            f"(goal p99 < {GOAL_P99_MS:.0f} ms: {verdict})"
        )
        print(
            f"    HTTP answer (201):                       p50 {statistics.median(http):.1f} ms, "
            f"p99 {pct(http, 99):.1f} ms"
        )

        print(
            f"  throughput {args.throughput} leads over HTTP, {args.concurrency} clients: "
            f"{per_second:.0f} assignments/s (owner set and mail handed over)"
        )
        print(
            f"  service    {args.service} MQLs routed in-process: {service_rate:.0f} assignments/s"
        )
        print(
            f"  check      {checked['leads']} leads, all with one owner; counts per member "
            f"{checked['count_range'][0]:.0f}–{checked['count_range'][1]:.0f}; "
            f"quality Gini {checked['quality_gini']:.4f}"
        )
    finally:
        if server is not None:
            server.stop()
        if controller is not None:
            controller.stop()
        cleanup(environment, keep=args.keep)


if __name__ == "__main__":
    main()
