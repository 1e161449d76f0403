"""The speed-to-lead benchmark works end to end (real server, real SMTP server, every lead
assigned and notified) and reports its figures. No timings are asserted: benchmarks are
not tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_lead_gets_an_owner_and_a_mail_and_the_figures_are_printed():
    args = [sys.executable, "bench/speed_to_lead.py", "--n", "12", "--warmup", "2"]
    args += ["--throughput", "10", "--concurrency", "3", "--service", "6", "--members", "5"]
    args += ["--port", str(_free_port()), "--smtp-port", str(_free_port())]
    if os.environ.get("DATABASE_URL"):
        args += ["--database-url", os.environ["DATABASE_URL"]]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    run = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert re.search(r"intake -> owner set \+ mail handed over: p50 [\d.]+ ms, p99 [\d.]+ ms", out)
    assert re.search(r"throughput 10 leads over HTTP, 3 clients: \d+ assignments/s", out)
    assert re.search(r"service    6 MQLs routed in-process: \d+ assignments/s", out)
    # 2 warm-up + 12 + 10 over HTTP, 6 in-process: each one owner, counts even (30 / 5).
    assert "check      30 leads, all with one owner; counts per member 6–6" in out, out
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    assert database in out.splitlines()[0] or database in out
