"""The scoring benchmark runs end to end (tiny sizes) and checks what it posted. Timings are
never asserted here; docs/benchmarks.md has the figures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_scoring_benchmark_runs_all_parts_and_finds_what_it_posted():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "bench/scoring.py",
            "--port",
            str(_free_port()),
            "--persons",
            "40",
            "--events",
            "400",
            "--batch",
            "100",
            "--concurrency",
            "2",
            "--latency-n",
            "5",
            "--rescore-leads",
            "300",
            "--rescore-events",
            "3000",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "(a) api     : 400 events in 4 batches of 100" in out
    assert "statuses {201: 4}" in out
    assert "(b) MQL" in out and "(n=5" in out
    assert "(c) full rescore with a new model version" in out
    # (c) rescores every lead in the database: its own 300 and those of (a) and (b).
    assert "for 350 leads and" in out
    assert "MISMATCH" not in out
