"""leadwerk run: migrate, load the demo data once, then serve the app with a task worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from leadwerk.demo.builder import DEMO_PASSWORD, demo_admin_token, demo_loaded, demo_users


class Command(BaseCommand):
    help = "Migrate, load the demo data (once), and serve Leadwerk with a background worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("LEADWERK_HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("LEADWERK_PORT", "8000"))
        )
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("LEADWERK_WEB_WORKERS", "2"))
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("LEADWERK_WEB_THREADS", "4"))
        )
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")
        parser.add_argument("--no-worker", action="store_true", help="Run no task worker here.")

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write("Database ready: " + _db_label())
        if not opts["no_demo"] and not demo_loaded():
            self.stdout.write("Loading demo data (once; about a minute)…")
            call_command("demo")
        url = f"http://{opts['host']}:{opts['port']}"
        self._banner(url, show_demo=demo_loaded())
        procs: list[subprocess.Popen] = []
        if not opts["no_worker"]:
            procs.append(
                subprocess.Popen([sys.executable, "-m", "leadwerk.cli", "worker"])  # noqa: S603
            )
        web = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "leadwerk.wsgi:application",
                "--bind",
                f"{opts['host']}:{opts['port']}",
                "--workers",
                str(opts["workers"]),
                "--threads",
                str(opts["threads"]),
                "--access-logfile",
                "-",
                "--log-level",
                "warning",
            ]
        )
        procs.append(web)

        def stop(*_):
            for p in procs:
                if p.poll() is None:
                    p.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            web.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for p in procs:
                p.wait(timeout=15)

    def _banner(self, url: str, *, show_demo: bool) -> None:
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS(f"Leadwerk is running at {url}/"))
        out.write(f"  API docs:  {url}/api/v1/docs")
        if show_demo:
            out.write(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
            for username, role in demo_users():
                out.write(f"    {username:<12} {role}")
            token = demo_admin_token()
            if token:
                out.write(f"  API token for admin:  {token}")
                out.write(
                    f'  Try: curl -H "Authorization: Bearer {token}" {url}/api/v1/leads?page_size=1'
                )
        out.write("  Stop with Ctrl+C.")
        out.write("")


def _db_label() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite {db['NAME']}"
    return f"PostgreSQL {db.get('HOST') or 'localhost'}/{db['NAME']}"
