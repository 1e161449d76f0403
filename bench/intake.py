"""Intake benchmark: leads per second through the real HTTP API, next to a bare baseline.

Starts a real server (gunicorn, as ``leadwerk run`` does) on a fresh database, creates the
channels, campaigns, user and API token it needs through the project's own services and
factories, then posts N realistic German leads to ``POST /api/v1/leads`` from several
concurrent clients, and the same N bodies to a bare Django view (``bench.baseline``: parse
JSON, insert one row) on the same server, alternating in rounds. Prints leads/s, p50 and p99
latency for both and the ratio intake/baseline; exits non-zero on any non-2xx answer or when
the database does not hold what was posted.

    .venv/bin/python bench/intake.py                       # SQLite (WAL) in a fresh /tmp dir
    .venv/bin/python bench/intake.py --database-url postgres://postgres@127.0.0.1:55443/x

With ``--database-url`` a fresh database is created next to the one named in the URL (the
role needs CREATEDB) and dropped afterwards. A DJANGO_SETTINGS_MODULE in the environment is
passed on (to measure other settings). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

INTAKE_PATH = "/api/v1/leads"
BASELINE_PATH = "/bench/leads"


# --- arguments -------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark lead intake through the HTTP API against a bare baseline view."
    )
    p.add_argument("--n", type=int, default=2000, help="measured requests per endpoint")
    p.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured requests per endpoint first")
    p.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="measure in this many alternating rounds (baseline, intake, baseline, …)",
    )
    p.add_argument(
        "--database-url",
        default="",
        help="postgres://… of a server to use (a fresh database is created on it); "
        "default: SQLite in a fresh temporary directory",
    )
    p.add_argument("--port", type=int, default=8031, help="port for the server (127.0.0.1)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (as leadwerk run)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (as leadwerk run)")
    p.add_argument(
        "--repeat-share",
        type=float,
        default=0.3,
        help="share of leads from a person who already sent one (exercises matching)",
    )
    p.add_argument("--seed", type=int, default=2026, help="seed for the generated payloads")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory and database")
    args = p.parse_args(argv)
    if args.n < 1 or args.concurrency < 1 or args.warmup < 0:
        p.error("--n and --concurrency must be at least 1, --warmup at least 0")
    if not 1 <= args.rounds <= args.n:
        p.error("--rounds must be between 1 and --n")
    if not 0 <= args.repeat_share < 1:
        p.error("--repeat-share must be at least 0 and below 1")
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        p.error("--database-url must be a postgres:// URL (SQLite is the default)")
    return args


# --- environment: temporary directory, database, Django --------------------------------------
@dataclass
class Environment:
    var_dir: Path
    database_url: str = ""
    pg_admin_url: str = ""
    pg_database: str = ""
    env: dict[str, str] = field(default_factory=dict)


def prepare_environment(args: argparse.Namespace) -> Environment:
    var_dir = Path(tempfile.mkdtemp(prefix="leadwerk-bench-"))
    environment = Environment(var_dir=var_dir)
    env = {
        "LEADWERK_BENCH": "1",
        "LEADWERK_VAR_DIR": str(var_dir),
        "LEADWERK_DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "leadwerk.settings"),
    }
    if args.database_url:
        environment.pg_admin_url = args.database_url
        environment.pg_database = f"leadwerk_bench_{uuid.uuid4().hex[:8]}"
        try:
            _pg_execute(args.database_url, f'CREATE DATABASE "{environment.pg_database}"')
        except Exception as exc:
            shutil.rmtree(var_dir, ignore_errors=True)
            raise SystemExit(
                f"cannot create a database on the server of --database-url: {exc}"
            ) from exc
        parts = urlsplit(args.database_url)
        environment.database_url = urlunsplit(parts._replace(path="/" + environment.pg_database))
        env["DATABASE_URL"] = environment.database_url
    environment.env = env
    os.environ.update(env)
    if not args.database_url:
        os.environ.pop("DATABASE_URL", None)
    return environment


def _pg_execute(url: str, sql: str) -> None:
    """Run one statement on the server's maintenance database (CREATE/DROP DATABASE)."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


def cleanup_environment(environment: Environment, *, keep: bool) -> None:
    from django.db import connections

    connections.close_all()
    if keep:
        kept = [str(environment.var_dir)]
        if environment.pg_database:
            kept.append(f"database {environment.pg_database}")
        print("kept: " + ", ".join(kept))
        return
    if environment.pg_database:
        try:
            _pg_execute(
                environment.pg_admin_url,
                f'DROP DATABASE IF EXISTS "{environment.pg_database}" WITH (FORCE)',
            )
        except Exception as exc:  # noqa: BLE001 - report, the run's figures still stand
            print(f"warning: could not drop database {environment.pg_database}: {exc}")
    shutil.rmtree(environment.var_dir, ignore_errors=True)


@dataclass
class Fixtures:
    token: str
    channels: list[str]
    campaigns: dict[str, list[str]]
    database_label: str


def set_up_database() -> Fixtures:
    """Migrate the fresh database and create what the benchmark posts against, through the
    project's own services (user, token) and factories (channels, campaigns)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from leadwerk.accounts.choices import Role, TokenScope
    from leadwerk.accounts.services import api_token_create, user_create
    from leadwerk.demo.builder import CAMPAIGNS, CHANNELS
    from leadwerk.tests_support.factories import CampaignFactory, ChannelFactory

    call_command("migrate", interactive=False, verbosity=0)
    user = user_create(
        username="bench",
        password=None,
        roles=[Role.MARKETING],
        email="bench@nordlicht-software.example",
        first_name="Bench",
        last_name="Marker",
    )
    _token, raw = api_token_create(user=user, name="Benchmark", scope=TokenScope.WRITE)
    channels = {}
    for slug, name, kind, weight, rank in CHANNELS:
        channels[slug] = ChannelFactory(
            slug=slug, name=name, kind=kind, value_weight=weight, rank=rank
        )
    campaigns: dict[str, list[str]] = {slug: [] for slug in channels}
    for slug, name, channel, _offset, _duration, cost in CAMPAIGNS:
        CampaignFactory(slug=slug, name=name, channel=channels[channel], cost=cost)
        campaigns[channel].append(slug)
    if connection.vendor == "sqlite":
        version = connection.cursor().execute("select sqlite_version()").fetchone()[0]
        label = f"SQLite {version} (WAL, synchronous=NORMAL)"
    else:
        with connection.cursor() as cursor:
            cursor.execute("show server_version")
            version = cursor.fetchone()[0]
            cursor.execute("show fsync")
            fsync = cursor.fetchone()[0]
            cursor.execute("show synchronous_commit")
            sync_commit = cursor.fetchone()[0]
        label = f"PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync_commit})"
    connection.close()
    return Fixtures(token=raw, channels=list(channels), campaigns=campaigns, database_label=label)


# --- payloads --------------------------------------------------------------------------------
@dataclass
class Request:
    body: bytes
    headers: dict[str, str]
    email_key: str


def _ascii(value: str) -> str:
    value = value.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else "-" for c in value).strip("-")


def _de_vat_id(rng: random.Random) -> str:
    from stdnum.iso7064 import mod_11_10

    digits = "".join(str(rng.randint(0, 9)) for _ in range(8))
    digits = str(rng.randint(1, 9)) + digits[1:]
    return f"DE{digits}{mod_11_10.calc_check_digit(digits)}"


def build_requests(
    *, count: int, fixtures: Fixtures, seed: int, repeat_share: float, tag: str
) -> list[Request]:
    """``count`` realistic, varied German intake bodies. A share of them come from a person
    who already sent one (e-mail in another case or with spaces, sometimes more details), and
    companies repeat, sometimes spelled differently, so matching does real work."""
    from faker import Faker

    from leadwerk.demo.builder import (
        BRANCH_WORDS,
        CITIES,
        FREEMAIL,
        INDUSTRIES,
        JOB_TITLES,
        LEGAL_FORMS,
        MESSAGES,
        PRODUCTS,
    )

    rng = random.Random(seed)
    fake = Faker("de_DE")
    fake.seed_instance(seed)
    companies: list[dict] = []
    for _ in range(max(10, count // 4)):
        industry = rng.choice(INDUSTRIES)
        city, plz, _state, _area, country = rng.choice(CITIES)
        base = f"{fake.last_name()} {rng.choice(BRANCH_WORDS[industry])}"
        company = {
            "name": f"{base} {rng.choice(LEGAL_FORMS)}",
            "industry": industry,
            "country": rng.choice({"DE": ["DE", "Deutschland", "Germany"]}.get(country, [country])),
            "postal_code": plz,
            "city": city,
        }
        if rng.random() < 0.7:
            company["website"] = f"https://www.{_ascii(base)}.{country.lower()}"
        if rng.random() < 0.6:
            company["employees"] = rng.choice([rng.randint(5, 4999), "10-49", "50-249", "250-999"])
        if country == "DE" and rng.random() < 0.3:
            company["vat_id"] = _de_vat_id(rng)
        companies.append(company)

    persons: list[dict] = []
    requests: list[Request] = []
    for i in range(count):
        if persons and rng.random() < repeat_share:
            person, company = rng.choice(persons)
            person = dict(person)
            email = person["email"]
            person["email"] = rng.choice([email, email.upper(), f"  {email} ", email.title()])
            if rng.random() < 0.5:
                person["job_title"] = rng.choice(JOB_TITLES)
            if rng.random() < 0.3:
                company = dict(company, name=company["name"].upper())
        else:
            company = rng.choice(companies)
            female = rng.random() < 0.45
            first = fake.first_name_female() if female else fake.first_name_male()
            last = fake.last_name()
            person = {
                "salutation": "Frau" if female else "Herr",
                "first_name": first,
                "last_name": last,
                "job_title": rng.choice(JOB_TITLES),
                "language": rng.choice(["de"] * 8 + ["en", "de-AT"]),
            }
            if rng.random() < 0.12:
                person["title"] = rng.choice(["Dr.", "Prof. Dr.", "Dipl.-Ing."])
            domain = (
                urlsplit(company["website"]).hostname.removeprefix("www.")
                if "website" in company and rng.random() < 0.85
                else rng.choice(FREEMAIL)
            )
            # The index keeps addresses unique even when Faker repeats a name.
            person["email"] = f"{_ascii(first)}.{_ascii(last)}.{tag}{i}@{domain}"
            if rng.random() < 0.7:
                person["phone"] = fake.phone_number()
            persons.append((person, company))
        channel = rng.choice(fixtures.channels)
        body: dict = {
            "person": person,
            "company": company,
            "channel": channel,
            "product_interest": rng.choice(PRODUCTS),
            "message": rng.choice(MESSAGES)
            or (fake.paragraph(nb_sentences=3) if rng.random() < 0.5 else ""),
        }
        if fixtures.campaigns[channel] and rng.random() < 0.6:
            body["campaign"] = rng.choice(fixtures.campaigns[channel])
        if rng.random() < 0.4:
            body["external_id"] = f"crm-{tag}-{i:06d}"
        headers = {"Content-Type": "application/json"}
        if rng.random() < 0.25:
            headers["Idempotency-Key"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        requests.append(
            Request(
                body=json.dumps(body, ensure_ascii=False).encode(),
                headers=headers,
                email_key=person["email"].strip().casefold(),
            )
        )
    return requests


# --- the server ------------------------------------------------------------------------------
class Server:
    """gunicorn with the same arguments as ``leadwerk run`` (access log into the temp dir)."""

    def __init__(self, *, port: int, workers: int, threads: int, environment: Environment):
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.workers = workers
        self.threads = threads
        self.environment = environment
        self.proc: subprocess.Popen | None = None
        self.log_path = environment.var_dir / "gunicorn.log"

    def start(self) -> None:
        import httpx

        try:
            httpx.get(self.url + "/healthz", timeout=0.5)
        except httpx.TransportError:
            pass
        else:
            raise SystemExit(f"something already answers on {self.url}; pick another --port")
        env = {**os.environ, **self.environment.env}
        if not self.environment.database_url:
            env.pop("DATABASE_URL", None)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "leadwerk.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--access-logfile",
                str(self.environment.var_dir / "access.log"),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited at start:\n{self.log_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"the server did not answer within 60 s:\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return [int(x) for x in out.stdout.split()]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: master and workers
                self.proc.wait(timeout=10)
        self._log.close()
        self.proc = None


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine spent busy (Linux /proc/stat, all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (Linux /proc), for the CPU-share line."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class DatabaseProbe:
    """CPU time of the PostgreSQL backends serving the benchmark's database (server on this
    machine only: it reads /proc)."""

    def __init__(self, environment: Environment):
        import psycopg

        self.database = environment.pg_database
        self.conn = psycopg.connect(environment.database_url, autocommit=True)

    def snapshot(self) -> dict[int, float]:
        rows = self.conn.execute(
            "select pid from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
            [self.database],
        ).fetchall()
        return {pid: cpu_seconds([pid]) for (pid,) in rows}

    def close(self) -> None:
        self.conn.close()


def database_cpu(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


# --- the load --------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    path: str
    latencies: list[float]
    errors: list[tuple[int, str]]
    wall: float
    server_cpu: float
    client_cpu: float
    machine_cpu: float
    db_cpu: float | None

    @classmethod
    def combine(cls, parts: list[Result]) -> Result:
        """One result from the rounds of one endpoint: wall and CPU times add up."""
        db = [p.db_cpu for p in parts if p.db_cpu is not None]
        return cls(
            name=parts[0].name,
            path=parts[0].path,
            latencies=[x for p in parts for x in p.latencies],
            errors=[e for p in parts for e in p.errors],
            wall=sum(p.wall for p in parts),
            server_cpu=sum(p.server_cpu for p in parts),
            client_cpu=sum(p.client_cpu for p in parts),
            machine_cpu=sum(p.machine_cpu for p in parts),
            db_cpu=sum(db) if db else None,
        )

    @property
    def count(self) -> int:
        return len(self.latencies) + len(self.errors)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.wall if self.wall else 0.0

    @property
    def other_cpu(self) -> float:
        """CPU time of everything else on the machine during the run: disturbance."""
        ours = self.server_cpu + (self.db_cpu or 0.0) + self.client_cpu
        return max(0.0, self.machine_cpu - ours)

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the successful requests' latencies, in ms."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] * 1000


def run_load(
    *,
    server: Server,
    path: str,
    requests: list[Request],
    concurrency: int,
    token: str,
    name: str = "",
    probe: DatabaseProbe | None = None,
) -> Result:
    """Send every request once from ``concurrency`` threads, each with its own keep-alive
    connection; measure each request's latency and the wall time of the whole batch."""
    import httpx

    latencies: list[float] = []
    errors: list[tuple[int, str]] = []
    lock = threading.Lock()
    next_index = iter(range(len(requests)))
    start_gate = threading.Barrier(concurrency + 1)

    def client() -> None:
        mine: list[float] = []
        failed: list[tuple[int, str]] = []
        with httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ) as http:
            # Open the connection before the clock starts; if this fails, the posts say why.
            with contextlib.suppress(httpx.HTTPError):
                http.get("/healthz")
            start_gate.wait()
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    break
                req = requests[i]
                t0 = time.perf_counter()
                try:
                    response = http.post(path, content=req.body, headers=req.headers)
                except httpx.HTTPError as exc:
                    failed.append((0, f"{type(exc).__name__}: {exc}"))
                    continue
                elapsed = time.perf_counter() - t0
                if 200 <= response.status_code < 300:
                    mine.append(elapsed)
                else:
                    failed.append((response.status_code, response.text[:500]))
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    pids = server.worker_pids()
    start_gate.wait()
    server_cpu0 = cpu_seconds(pids)
    db_cpu0 = probe.snapshot() if probe else {}
    client_cpu0 = time.process_time()
    machine_cpu0 = machine_busy_seconds()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return Result(
        name=name,
        path=path,
        latencies=latencies,
        errors=errors,
        wall=wall,
        server_cpu=cpu_seconds(pids) - server_cpu0,
        client_cpu=time.process_time() - client_cpu0,
        machine_cpu=machine_busy_seconds() - machine_cpu0,
        db_cpu=database_cpu(db_cpu0, probe.snapshot()) if probe else None,
    )


# --- checks and report -----------------------------------------------------------------------
def database_counts() -> dict[str, int]:
    from django.db import connection
    from django.db.models import Count

    from bench.baseline.models import BaselineLead
    from leadwerk.activities.models import Activity
    from leadwerk.contacts.models import Company, Person
    from leadwerk.leads.models import IdempotencyKey, Lead, StageChange

    counts = {
        "leads": Lead.objects.count(),
        "persons": Person.objects.count(),
        "companies": Company.objects.count(),
        # Scoring at intake hands some leads to sales at once (a second stage change, its
        # timeline entry and routing's): count what the intake itself must write.
        "stage_changes": StageChange.objects.filter(from_stage="").count(),
        "activities": Activity.objects.filter(type="api_intake").count(),
        "handed_off": StageChange.objects.filter(from_stage="new", to_stage="mql").count(),
        "idempotency_keys": IdempotencyKey.objects.count(),
        "baseline_rows": BaselineLead.objects.count(),
    }
    # Companies that matching should have merged: sequential intake never creates two with
    # the same domain, nor two without a domain with the same name key and country.
    same_domain = (
        Company.objects.exclude(domain="").values("domain").annotate(n=Count("id")).filter(n__gt=1)
    )
    same_name = (
        Company.objects.filter(domain="")
        .values("name_key", "country")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    counts["duplicate_companies"] = sum(g["n"] - 1 for g in [*same_domain, *same_name])
    connection.close()
    return counts


def check_database(counts: dict[str, int], intake_requests: list[Request]) -> list[str]:
    """What the database must hold after every intake request succeeded once."""
    expected = {
        "leads": len(intake_requests),
        "stage_changes": len(intake_requests),
        "activities": len(intake_requests),
        "persons": len({r.email_key for r in intake_requests}),
        "idempotency_keys": sum("Idempotency-Key" in r.headers for r in intake_requests),
        "baseline_rows": len(intake_requests),
    }
    return [
        f"{name}: expected {want}, found {counts[name]}"
        for name, want in expected.items()
        if counts[name] != want
    ]


def print_report(
    *,
    args: argparse.Namespace,
    fixtures: Fixtures,
    server: Server,
    results: list[Result],
    counts: dict[str, int],
    intake_requests: list[Request],
    load_before: str,
) -> None:
    baseline, intake = results
    print()
    print("Leadwerk intake benchmark")
    print(
        f"  machine    {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    print(f"  database   {fixtures.database_label}")
    print(f"  load avg   {load_before} (1/5/15 min) before measuring")
    print(f"  server     gunicorn, {args.workers} workers x {args.threads} threads, {server.url}")
    print(
        f"  load       {args.n} requests per endpoint in {args.rounds} alternating rounds, "
        f"{args.concurrency} concurrent clients (keep-alive), {args.warmup} warm-up requests "
        "per endpoint before"
    )
    print()
    header = (
        f"{'endpoint':<28} {'requests':>8} {'errors':>6} {'leads/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'CPU: server':>11} {'db':>5} {'client':>6} "
        f"{'other':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name + ' POST ' + r.path:<28} {r.count:>8} {len(r.errors):>6} "
            f"{r.rate:>8.1f} {r.percentile(50):>7.1f} {r.percentile(99):>7.1f} "
            f"{r.percentile(100):>7.1f} {r.server_cpu / r.wall:>11.0%} "
            f"{'-' if r.db_cpu is None else format(r.db_cpu / r.wall, '.0%'):>5} "
            f"{r.client_cpu / r.wall:>6.0%} {r.other_cpu / r.wall:>6.0%}"
        )
    print()
    ratio = intake.rate / baseline.rate if baseline.rate else math.nan
    verdict = "met" if ratio >= 0.5 else "NOT met"
    print(f"intake / baseline throughput: {ratio:.1%}  (goal >= 50 %: {verdict})")
    print(
        "intake server CPU per lead: "
        f"{1000 * intake.server_cpu / max(intake.ok, 1):.2f} ms, baseline per row: "
        f"{1000 * baseline.server_cpu / max(baseline.ok, 1):.2f} ms"
    )
    returning = len(intake_requests) - len({r.email_key for r in intake_requests})
    print(
        f"database after the run: {counts['leads']} leads, {counts['persons']} persons "
        f"({returning} leads from returning persons), {counts['companies']} companies, "
        f"{counts['activities']} intake timeline entries, {counts['handed_off']} leads handed "
        f"to sales at intake by scoring; {counts['baseline_rows']} baseline rows"
    )
    if counts["duplicate_companies"]:
        print(
            f"WARNING: {counts['duplicate_companies']} duplicate companies (same domain, or same "
            "name and country without a domain): concurrent intakes of a new company each "
            "created one"
        )
    print(
        "(counts include the warm-up requests. CPU: share of one core used by the gunicorn\n"
        " workers, the PostgreSQL backends (SQLite runs inside the workers), this client, and\n"
        f" everything else on the machine ({os.cpu_count()} cores = {os.cpu_count()}00 %): "
        "'other' well above a few % means the figures were disturbed)"
    )


def print_errors(results: list[Result]) -> None:
    for r in results:
        if not r.errors:
            continue
        by_status: dict[int, int] = {}
        for status, _body in r.errors:
            by_status[status] = by_status.get(status, 0) + 1
        summary = ", ".join(
            f"{n} x {'connection error' if s == 0 else s}" for s, n in sorted(by_status.items())
        )
        print(f"\n{r.name}: {len(r.errors)} failed requests ({summary}); the first ones:")
        for status, body in r.errors[:5]:
            print(f"  {status or 'no answer'}: {body}")


# --- main ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    environment = prepare_environment(args)
    server = Server(
        port=args.port, workers=args.workers, threads=args.threads, environment=environment
    )
    probe: DatabaseProbe | None = None
    try:
        print("setting up a fresh database …", flush=True)
        fixtures = set_up_database()
        total = args.warmup + args.n
        requests = build_requests(
            count=total,
            fixtures=fixtures,
            seed=args.seed,
            repeat_share=args.repeat_share,
            tag=uuid.uuid4().hex[:6],
        )
        warm, measured = requests[: args.warmup], requests[args.warmup :]
        print(f"starting gunicorn on {server.url} …", flush=True)
        server.start()
        if environment.pg_database and urlsplit(environment.database_url).hostname in (
            None,
            "127.0.0.1",
            "localhost",
            "::1",
        ):
            probe = DatabaseProbe(environment)
        common = {
            "server": server,
            "concurrency": args.concurrency,
            "token": fixtures.token,
            "probe": probe,
        }
        warmup_results = []
        if warm:
            print(f"warming up ({len(warm)} requests per endpoint) …", flush=True)
            warmup_results = [
                run_load(path=BASELINE_PATH, requests=warm, name="baseline warm-up", **common),
                run_load(path=INTAKE_PATH, requests=warm, name="intake warm-up", **common),
            ]
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"measuring ({args.n} requests per endpoint) …", flush=True)
        rounds: dict[str, list[Result]] = {"baseline": [], "intake": []}
        for i in range(args.rounds):
            # Alternate in rounds, so that whatever else the machine does meanwhile
            # disturbs both endpoints alike.
            chunk = measured[i * args.n // args.rounds : (i + 1) * args.n // args.rounds]
            for name, path in (("baseline", BASELINE_PATH), ("intake", INTAKE_PATH)):
                rounds[name].append(run_load(path=path, requests=chunk, name=name, **common))
        results = [Result.combine(parts) for parts in rounds.values()]
        server.stop()
        failed = [r for r in warmup_results + results if r.errors]
        counts = database_counts()
        print_report(
            args=args,
            fixtures=fixtures,
            server=server,
            results=results,
            counts=counts,
            intake_requests=requests,
            load_before=load_before,
        )
        status = 0
        if failed:
            print_errors(warmup_results + results)
            status = 1
        else:
            mismatches = check_database(counts, requests)
            if mismatches:
                print("\nthe database does not hold what was posted:")
                for line in mismatches:
                    print(f"  {line}")
                status = 1
        if status:
            log = server.log_text().strip()
            if log:
                print(f"\nserver log (last lines):\n{log}")
        return status
    finally:
        server.stop()
        if probe is not None:
            probe.close()
        cleanup_environment(environment, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
