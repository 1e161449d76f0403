"""leadwerk import FILE --channel SLUG: import a CSV or XLSX list of leads.

Columns are recognised by German or English headers (Firma/Company, E-Mail/Email, PLZ/Postal
code, …); ``--map "Spalte X=email"`` corrects or adds one. Every row is validated,
normalised, matched against existing people and companies and written with its lead and an
import activity; rows with problems are reported with their line and reason (``--errors``
writes them to a file) and do not stop the others. The run commits in chunks with a
checkpoint: run the same command again after an interruption and it resumes; run it again
after it finished and it creates nothing new.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from leadwerk.accounts.models import User
from leadwerk.campaigns.selectors import campaign_by_slug, channel_by_slug
from leadwerk.errors import DomainValidationError
from leadwerk.imports.choices import JobStatus
from leadwerk.imports.models import ImportJob
from leadwerk.imports.services import (
    job_create,
    job_issues_csv,
    job_mapping,
    job_run,
    job_set_mapping,
    mapping_problems,
)
from leadwerk.leads.column_mapping import TARGETS


class Command(BaseCommand):
    help = (
        "Import leads from a CSV or XLSX file (UTF-8, Windows-1252, Latin-1; , ; or tab "
        "separated). Re-running resumes an interrupted import and never imports a row twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--channel", required=True, help="Channel slug for every row")
        parser.add_argument("--campaign", default="", help="Campaign slug for every row")
        parser.add_argument("--user", default="", help="Username recorded as the importer")
        parser.add_argument("--errors", type=Path, help="Write problem rows with reasons here")
        parser.add_argument("--sheet", default="", help="Sheet of an XLSX workbook")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help=f"Map a column header to a field ({', '.join(TARGETS)}), or to '-' to skip it",
        )
        parser.add_argument("--chunk-size", type=int, default=1000, help="Rows per transaction")
        parser.add_argument("--quiet", action="store_true", help="No progress bar")

    def handle(self, *args, **opts):
        # One language on the terminal: the summary lines and the reasons alike.
        with translation.override("en"):
            return self._handle(*args, **opts)

    def _handle(self, *args, file: Path, channel: str, campaign: str, user: str, errors, **opts):
        if not file.exists():
            raise CommandError(f"{file}: no such file")
        actor = None
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"unknown user '{user}'")
        channel_obj = channel_by_slug(channel)
        if channel_obj is None or not channel_obj.is_active:
            raise CommandError(f"unknown channel '{channel}'")
        campaign_obj = None
        if campaign:
            campaign_obj = campaign_by_slug(campaign)
            if campaign_obj is None:
                raise CommandError(f"unknown campaign '{campaign}'")
        data = file.read_bytes()
        job = self._unfinished(data, channel_obj, campaign_obj)
        if job is not None:
            self.stdout.write(
                f"Resuming the interrupted import of {job.file_name} at row "
                f"{job.rows_done + 1} of {job.total_rows}."
            )
        else:
            try:
                job = job_create(
                    data=data,
                    file_name=file.name,
                    channel=channel_obj,
                    campaign=campaign_obj,
                    actor=actor,
                    sheet=opts["sheet"],
                    store_file=False,
                    chunk_size=max(1, opts["chunk_size"]),
                )
                if opts["map"]:
                    job = job_set_mapping(
                        job=job,
                        mapping=self._mapping(job, opts["map"]),
                        channel=channel_obj,
                        campaign=campaign_obj,
                    )
            except DomainValidationError as exc:
                raise CommandError(f"{file}: {'; '.join(e.msg for e in exc.errors)}") from None
        problems = mapping_problems(job_mapping(job))
        if problems:
            ImportJob.objects.filter(pk=job.pk).delete()
            raise CommandError(
                f"{file}: {' '.join(problems)} Columns found: {', '.join(job.header)}. "
                "Use --map 'Header=email' to say which column is which."
            )
        job = self._run(job, data, actor, quiet=opts["quiet"])
        self._report(job, errors)

    def _unfinished(self, data: bytes, channel, campaign) -> ImportJob | None:
        return (
            ImportJob.objects.filter(
                file_sha256=hashlib.sha256(data).hexdigest(),
                channel=channel,
                campaign=campaign,
                status__in=[
                    JobStatus.MAPPING,
                    JobStatus.QUEUED,
                    JobStatus.RUNNING,
                    JobStatus.FAILED,
                ],
            )
            .order_by("-created_at")
            .first()
        )

    def _mapping(self, job: ImportJob, pairs: list[str]) -> dict[int, str]:
        mapping = job_mapping(job)
        for pair in pairs:
            column, sep, target = pair.rpartition("=")
            if not sep or not column:
                raise CommandError(f"--map needs COLUMN=FIELD, got '{pair}'")
            if column not in job.header:
                raise CommandError(
                    f"--map: no column '{column}' (columns: {', '.join(job.header)})"
                )
            index = job.header.index(column)
            mapping = {k: v for k, v in mapping.items() if k != index and v != target}
            if target != "-":
                if target not in TARGETS:
                    raise CommandError(f"--map: unknown field '{target}'")
                mapping[index] = target
        return mapping

    def _run(self, job: ImportJob, data: bytes, actor, *, quiet: bool) -> ImportJob:
        if quiet:
            return job_run(job=job, actor=actor, data=data)
        with Progress(
            TextColumn("[bold]Import"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ) as progress:
            task = progress.add_task(
                "rows", total=job.total_rows, completed=job.rows_done, rate="–"
            )

            def tick(current: ImportJob) -> None:
                progress.update(
                    task,
                    completed=current.rows_done,
                    rate=f"{current.rows_per_second:,.0f}",
                )

            return job_run(job=job, actor=actor, data=data, progress=tick)

    def _report(self, job: ImportJob, errors: Path | None) -> None:
        issues = job.issues.order_by("row_index", "id")
        for issue in issues[:20]:
            self.stderr.write(f"line {issue.line}: {issue.get_kind_display()}: {issue.message}")
        if job.issues.count() > 20:
            self.stderr.write(f"… and {job.issues.count() - 20} more (see --errors)")
        if errors and job.issues.exists():
            with errors.open("w", newline="", encoding="utf-8-sig") as fh:
                writer = csv.writer(fh, delimiter=";")
                for row in job_issues_csv(job):
                    writer.writerow(row)
        self.stdout.write(
            f"{job.leads_created} leads created, {job.rows_rejected} rows rejected, "
            f"{job.rows_warned} imported with warnings, {job.rows_duplicate} duplicate rows, "
            f"{job.rows_already_imported} already imported "
            f"({job.persons_created} new persons, {job.persons_matched} matched; "
            f"{job.companies_created} new companies, {job.companies_matched} matched; "
            f"{job.duplicates_queued} possible duplicates to review; "
            f"{job.rows_per_second:,.0f} rows/s)."
        )
        if job.rows_rejected and not (job.leads_created or job.rows_already_imported):
            raise CommandError("no row could be imported")
