"""leadwerk retention: show which persons the retention rule would anonymise; --apply does
it; --schedule starts the daily background task."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from rich.console import Console
from rich.table import Table

from leadwerk.privacy.retention import retention_apply, retention_report
from leadwerk.privacy.tasks import retention_schedule


class Command(BaseCommand):
    help = "Report (default), apply or schedule the retention rule for quiet leads."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=settings.LEADWERK_RETENTION_MONTHS)
        parser.add_argument("--apply", action="store_true", help="Anonymise the candidates.")
        parser.add_argument("--schedule", action="store_true", help="Start the daily task.")

    def handle(self, *args, months: int, apply: bool, schedule: bool, **opts):
        if months < 1:
            self.stderr.write("--months must be at least 1")
            return
        if schedule:
            started = retention_schedule()
            self.stdout.write(
                "Daily retention task scheduled." if started else "Already scheduled."
            )
            return
        rows = retention_report(months=months)
        table = Table(title=f"Persons without activity or conversion for {months} months")
        for col in ("person", "name", "leads", "last activity", "created"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r.person_uuid,
                r.name,
                str(r.leads),
                r.last_activity.isoformat(timespec="minutes") if r.last_activity else "-",
                r.created_at.isoformat(timespec="minutes"),
            )
        console = Console(file=self.stdout, width=160)
        console.print(table)
        if apply:
            done = retention_apply(months=months)
            self.stdout.write(f"Anonymised {done} persons.")
        else:
            self.stdout.write(
                f"{len(rows)} persons would be anonymised. Run with --apply to do it."
            )
