"""leadwerk quality_snapshot: record today's data-quality figures (run it daily, e.g. from
cron; the dashboard also asks a worker for it when today's is missing)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from leadwerk.dataquality.services import snapshot_take


class Command(BaseCommand):
    help = "Record today's data-quality figures for the trend on the dashboard."

    def handle(self, *args, **options):
        snapshot = snapshot_take()
        m = snapshot.metrics
        self.stdout.write(
            f"{snapshot.day}: {m['persons']} persons, completeness "
            f"{m['person_completeness']:.0%}, {m['persons_stale']} stale, "
            f"{m['open_duplicates']} possible duplicates."
        )
