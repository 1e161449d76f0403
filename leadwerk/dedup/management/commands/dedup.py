"""leadwerk dedup [--persons|--companies] [--no-merge]: check the whole database for
duplicates now (in this process), with a summary."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from leadwerk.dedup.choices import Entity
from leadwerk.dedup.services import dedup_run


class Command(BaseCommand):
    help = "Find duplicate people and companies in the whole database."

    def add_arguments(self, parser):
        parser.add_argument("--persons", action="store_true")
        parser.add_argument("--companies", action="store_true")
        parser.add_argument(
            "--no-merge", action="store_true", help="Queue certain duplicates for review too"
        )

    def handle(self, *args, persons, companies, no_merge, **options):
        entities = []
        if companies or not persons:
            entities.append(Entity.COMPANY)
        if persons or not companies:
            entities.append(Entity.PERSON)
        for entity in entities:
            stats = dedup_run(entity=entity, auto_merge=not no_merge, progress=self.stdout.write)
            timing = ", ".join(f"{k} {v:.1f}s" for k, v in stats.seconds.items())
            self.stdout.write(
                f"{entity}: {stats.records} records, {stats.pairs_compared} pairs compared, "
                f"{stats.queued} queued for review, {stats.merged} merged ({timing})."
            )
