"""leadwerk rescore: score every lead with the active model now, in this process."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from leadwerk.scoring.services import scores_rebuild, sweep_ensure_scheduled


class Command(BaseCommand):
    help = (
        "Rescore every lead with the active scoring model in this process (no worker needed), "
        "make the hand-offs and recyclings the scores call for, and schedule the decay sweep."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Print only the summary.")

    def handle(self, *args, **opts):
        started = time.monotonic()

        def progress(run):
            if not opts["quiet"]:
                self.stdout.write(f"  {run.done:,} / {run.total:,} leads")

        run = scores_rebuild(progress=progress)
        if run is None:
            raise CommandError("No scoring model is active.")
        sweep_ensure_scheduled()
        stats = run.stats
        self.stdout.write(
            self.style.SUCCESS(
                f"Rescored {run.done:,} leads with model v{run.model.number} in "
                f"{time.monotonic() - started:.1f} s: {stats.get('to_mql', 0):,} became MQLs, "
                f"{stats.get('to_recycled', 0):,} went back to nurturing."
            )
        )
