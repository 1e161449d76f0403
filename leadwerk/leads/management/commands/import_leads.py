"""leadwerk import FILE --channel SLUG: import a CSV list of leads through the intake contract.

Columns are recognised by German or English headers (Firma/Company, E-Mail/Email, PLZ/Postal
code, …). Each row is one use case: a bad row is reported with its line number and reason and
does not stop the others. The full list import (XLSX, mapping UI, dedup, resume) builds on this.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from leadwerk.accounts.models import User
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.leads.choices import LeadSource
from leadwerk.leads.column_mapping import detect_columns, row_to_payload
from leadwerk.leads.intake import LeadIn
from leadwerk.leads.services import lead_intake


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


class Command(BaseCommand):
    help = "Import leads from a CSV file (UTF-8 or Windows-1252; , ; or tab separated)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--channel", required=True, help="Channel slug for every row")
        parser.add_argument("--campaign", default="", help="Campaign slug for every row")
        parser.add_argument("--user", default="", help="Username recorded as the importer")
        parser.add_argument("--errors", type=Path, help="Write rejected rows with reasons here")

    def handle(self, *args, file: Path, channel: str, campaign: str, user: str, errors, **opts):
        if not file.exists():
            raise CommandError(f"{file}: no such file")
        actor = None
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"unknown user '{user}'")
        text = _read_text(file)
        first_line = text.split("\n", 1)[0]
        try:
            dialect = csv.Sniffer().sniff(text[:10_000], delimiters=",;\t")
        except csv.Error:
            if any(sep in first_line for sep in ",;\t"):
                raise CommandError(f"{file}: not a CSV table (rows do not line up)") from None
            dialect = csv.excel  # a single column
        reader = csv.reader(io.StringIO(text), dialect)
        header = next(reader, None)
        if not header:
            raise CommandError(f"{file}: empty file")
        mapping = detect_columns(header)
        if "email" not in mapping.values() and "last_name" not in mapping.values():
            raise CommandError(
                f"{file}: no column for e-mail or last name found in the header {header!r}"
            )
        rows = list(reader)
        created = failed = 0
        rejected: list[tuple[int, list[str], str]] = []
        with Progress(
            TextColumn("[bold]Import"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
        ) as progress:
            task = progress.add_task("rows", total=len(rows))
            for line_no, row in enumerate(rows, start=2):
                progress.advance(task)
                if not any(cell.strip() for cell in row):
                    continue
                payload = row_to_payload(header, row, mapping, channel=channel, campaign=campaign)
                try:
                    data = LeadIn.model_validate(payload)
                    lead_intake(
                        data=data,
                        source=LeadSource.IMPORT,
                        actor=actor,
                        context={"file": file.name, "line": line_no},
                    )
                    created += 1
                except ValidationError as exc:
                    reason = "; ".join(
                        f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors()
                    )
                    rejected.append((line_no, row, reason))
                except (DomainValidationError, Conflict) as exc:
                    rejected.append((line_no, row, str(exc)))
        failed = len(rejected)
        for line_no, _row, reason in rejected[:20]:
            self.stderr.write(f"line {line_no}: {reason}")
        if errors and rejected:
            with errors.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, delimiter=";")
                writer.writerow(["line", "reason", *header])
                for line_no, row, reason in rejected:
                    writer.writerow([line_no, reason, *row])
        self.stdout.write(f"{created} leads created, {failed} rows rejected.")
        if failed and not created:
            raise CommandError("no row could be imported")
