"""leadwerk demo: load a deterministic German B2B demo data set."""

from __future__ import annotations

from datetime import date

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from leadwerk.demo.builder import DemoSize, build_demo, demo_loaded


class Command(BaseCommand):
    help = "Load the demo company's data (seeded, so every run creates the same data set)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--anchor",
            type=date.fromisoformat,
            default=None,
            help="The 'today' of the data set (YYYY-MM-DD); default: today.",
        )
        parser.add_argument("--small", action="store_true", help="A tenth of the size (tests).")
        parser.add_argument("--force", action="store_true", help="Load even if demo data exists.")

    def handle(self, *args, **opts):
        if demo_loaded() and not opts["force"]:
            raise CommandError("Demo data is already loaded (use --force to add another set).")
        size = DemoSize.small() if opts["small"] else DemoSize()
        stats = build_demo(
            seed=opts["seed"], anchor=opts["anchor"], size=size, log=self.stdout.write
        )
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data loaded: " + ", ".join(f"{n:,} {k}" for k, n in stats.items())
            )
        )
        call_command("rescore", quiet=True, stdout=self.stdout)
