"""A real `leadwerk import` process is killed (SIGKILL) half-way; the database holds only
whole rows, and running the command again resumes and finishes without doubling anything.

The import runs in its own process against its own database (a fresh SQLite file, or a
fresh database on the PostgreSQL server the tests use), because a killed process must not
share the test's connection.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

LEADWERK = str(Path(sys.executable).with_name("leadwerk"))
ROWS = 20_000


@pytest.fixture
def own_database(tmp_path, db):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("DATABASE_URL", None)
    env["LEADWERK_VAR_DIR"] = str(tmp_path)
    if connection.vendor == "postgresql":
        import psycopg

        s = connection.settings_dict
        name = f"lw_kill_{uuid.uuid4().hex[:10]}"
        server = {
            "host": s["HOST"] or "127.0.0.1",
            "port": s["PORT"] or 5432,
            "user": s["USER"],
            "password": s["PASSWORD"] or None,
        }
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{server['host']}:{server['port']}/{name}"

        def query(sql: str):
            with psycopg.connect(**server, dbname=name) as conn:
                return conn.execute(sql).fetchall()

        yield env, query
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:

        def query(sql: str):
            conn = sqlite3.connect(tmp_path / "leadwerk.sqlite3", timeout=20)
            try:
                return conn.execute(sql).fetchall()
            finally:
                conn.close()

        yield env, query


def _run(env, *args, check=True):
    return subprocess.run(
        [LEADWERK, *args], env=env, capture_output=True, text=True, check=check, timeout=600
    )


def _counts(query) -> dict:
    tables = {
        "leads": "leads_lead",
        "persons": "contacts_person",
        "activities": "activities_activity",
        "stage_changes": "leads_stagechange",
        "imported_rows": "imports_importedrow",
    }
    return {name: query(f"SELECT COUNT(*) FROM {table}")[0][0] for name, table in tables.items()}  # noqa: S608


def test_a_killed_import_resumes_and_leaves_no_half_written_row(own_database, tmp_path):
    env, query = own_database
    _run(env, "migrate", "-v0")
    _run(
        env,
        "shell",
        "-c",
        "from leadwerk.campaigns.models import Channel; "
        "Channel.objects.create(slug='trade-fair', name='Messen', kind='trade_fair', rank=4)",
    )
    source = tmp_path / "liste.csv"
    source.write_text(
        "Vorname;Nachname;E-Mail;Firma\n"
        + "".join(
            f"Vorname{i};Nachname{i};person{i}@firma{i % 500}.de;Firma {i % 500}\n"
            for i in range(ROWS)
        ),
        encoding="utf-8",
    )
    args = ("import", str(source), "--channel", "trade-fair", "--chunk-size", "200", "--quiet")
    process = subprocess.Popen(
        [LEADWERK, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        try:
            rows = query("SELECT rows_done FROM imports_importjob")
        except Exception:  # the table is locked or not written yet  # noqa: BLE001
            rows = []
        if rows and rows[0][0] >= 400:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the import finished before it could be killed"
    process.kill()
    process.wait()
    ((done, status, total),) = query("SELECT rows_done, status, total_rows FROM imports_importjob")
    assert status == "running" and 0 < done < total == ROWS
    counts = _counts(query)
    # whole chunks only: every committed row has its person, lead, stage change, activity
    assert counts == dict.fromkeys(counts, done)
    resumed = _run(env, *args)
    assert f"Resuming the interrupted import of liste.csv at row {done + 1}" in resumed.stdout
    assert f"{ROWS} leads created" in resumed.stdout  # the job's total over both runs
    assert _counts(query) == dict.fromkeys(counts, ROWS)
    assert query("SELECT COUNT(DISTINCT person_id) FROM leads_lead")[0][0] == ROWS
    again = _run(env, *args)
    summary = "0 leads created, 0 rows rejected, 0 imported with warnings, 0 duplicate rows"
    assert f"{summary}, {ROWS} already imported" in again.stdout
    assert _counts(query) == dict.fromkeys(counts, ROWS)
