"""The intake benchmark works: it runs end to end against a real server, and it counts
failed requests instead of hiding them. No timings are asserted: benchmarks are not tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench.intake import INTAKE_PATH, Fixtures, build_requests, run_load

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_benchmark_posts_every_lead_to_both_endpoints_and_prints_the_table():
    args = [sys.executable, "bench/intake.py", "--n", "40", "--warmup", "6"]
    args += ["--concurrency", "3", "--port", str(_free_port())]
    if os.environ.get("DATABASE_URL"):
        args += ["--database-url", os.environ["DATABASE_URL"]]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    run = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    rows = {
        m.group(1): (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(r"^(baseline|intake) POST \S+\s+(\d+)\s+(\d+)\s", out, re.M)
    }
    assert rows == {"baseline": (40, 0), "intake": (40, 0)}, out
    assert "intake / baseline throughput:" in out
    # Warm-up and measured requests all arrived; returning persons were matched, not copied.
    counts = re.search(r"database after the run: (\d+) leads, (\d+) persons \((\d+) leads", out)
    leads, persons, returning = map(int, counts.groups())
    assert leads == 46
    assert returning > 0
    assert persons == leads - returning
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    assert f"database   {database}" in out


@pytest.mark.django_db(transaction=True)
def test_failed_requests_are_counted_with_their_status_and_answer(live_server):
    fixtures = Fixtures(
        token="lw_nothing_known", channels=["website"], campaigns={"website": []}, database_label=""
    )
    requests = build_requests(count=5, fixtures=fixtures, seed=1, repeat_share=0.3, tag="t")

    class Target:
        url = live_server.url

        def worker_pids(self) -> list[int]:
            return []

    result = run_load(
        server=Target(), path=INTAKE_PATH, requests=requests, concurrency=2, token="lw_a_b"
    )
    assert result.ok == 0
    assert result.count == 5
    assert [status for status, _body in result.errors] == [401] * 5
    assert "missing or invalid API token" in result.errors[0][1]
