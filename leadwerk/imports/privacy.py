"""What list imports hold about a person, for the data-subject export and the erasure.

A person is in an import as the rows that made or filled their record (``ImportedRow``,
found through their leads and then by the rows' person key, which also finds later rows of
the same person in the same list), as problem rows (``ImportIssue`` keeps the raw cells of
rejected, warned and duplicate rows, also of rows that never made a lead) and inside the
uploaded file (``ImportFile``, kept in the database for the worker).

Erasure keeps every job with its counts (rows imported, rejected, duplicates: the import
history stays right) and removes the person: their rows' cells, values and person keys are
blanked; a finished job's file that contains them is deleted (nothing reads it any more);
the file of a job that can still run is rewritten as CSV with the person's rows emptied, so
that the job resumes at the same row and never imports them. The row fingerprints (SHA-256
of the whole row) stay, so re-running an old list does not bring the person back.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import zipfile
from dataclasses import dataclass

import phonenumbers
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from leadwerk.contacts.models import Person
from leadwerk.privacy.registry import REDACTED, ErasureContext, register_section

from .choices import JobStatus
from .models import ImportedRow, ImportFile, ImportIssue, ImportJob
from .readers import TableError, decode, open_table

_PARENTHESES = re.compile(r"\([^()]*\)")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _phone_tail(phone: str) -> str:
    """The national number (without country code and trunk 0), which every way of writing
    the number ends with."""
    if not phone:
        return ""
    try:
        tail = str(phonenumbers.parse(phone, "DE").national_number)
    except phonenumbers.NumberParseException:
        tail = _digits(phone).lstrip("0")
    return tail if len(tail) >= 6 else ""


@dataclass
class PersonRows:
    """Recognises the person's rows in a list: a cell with their e-mail address, full name
    or other strong identifier, their phone number however it is written, or their first
    and last name in two cells."""

    strong: list[str]
    phone_tail: str
    first: str
    last: str

    @classmethod
    def of(cls, person: Person, strong: list[str]) -> PersonRows:
        values = {*strong, person.email, person.email_normalized, person.full_name}
        return cls(
            strong=sorted({v.casefold() for v in values if v and len(v) >= 5}),
            phone_tail=_phone_tail(person.phone),
            first=person.first_name.strip().casefold(),
            last=person.last_name.strip().casefold(),
        )

    def needles(self) -> list[str]:
        """Substrings that every matching row contains one of (for a first, coarse look)."""
        return [n for n in (*self.strong, self.last, self.phone_tail[-4:]) if n]

    def row(self, cells: list[str]) -> bool:
        folded = [str(c).strip().casefold() for c in cells]
        joined = "\x1f".join(folded)
        if any(v in joined for v in self.strong):
            return True
        if self.phone_tail and any(
            len(d := _digits(c)) <= len(self.phone_tail) + 4 and d.endswith(self.phone_tail)
            for c in folded
            if c
        ):
            return True
        return bool(self.first and self.last and self.first in folded and self.last in folded)

    def text(self, text: str) -> bool:
        """Whether a whole file's text may hold the person (then its rows are read)."""
        folded = text.casefold()
        if any(v in folded for v in self.strong):
            return True
        if self.first and self.last and self.first in folded and self.last in folded:
            return True
        return bool(self.phone_tail) and self.phone_tail in _digits(folded)


# --- finding the person's rows --------------------------------------------------------------


def _imported_rows(person: Person):
    """The rows that made the person's leads, and the repeated rows of the same person in
    those lists (they carry no lead, only the same person key)."""
    first = list(
        ImportedRow.objects.filter(lead__person=person).values_list("job_id", "person_key")
    )
    if not first:
        return ImportedRow.objects.none()
    jobs = {job_id for job_id, _key in first}
    keys = {key for _job, key in first if key}
    return ImportedRow.objects.filter(
        Q(lead__person=person) | Q(job_id__in=jobs, person_key__in=keys)
    )


def _issues(person: Person, rows: PersonRows) -> list[ImportIssue]:
    """Problem rows of the person: those of their imported rows, and any other row whose
    cells name them (a rejected row never made a lead)."""
    known = set(_imported_rows(person).values_list("job_id", "row_index"))
    by_row = Q()
    for job_id in {job_id for job_id, _index in known}:
        by_row |= Q(job_id=job_id, row_index__in=[i for j, i in known if j == job_id])
    by_text = Q()
    for needle in rows.needles():
        # SQLite keeps JSON with non-ASCII characters escaped, PostgreSQL does not.
        for form in {needle, json.dumps(needle)[1:-1]}:
            by_text |= Q(cells_text__icontains=form)
    if not (by_row or by_text):
        return []
    found = []
    candidates = ImportIssue.objects.annotate(cells_text=Cast("cells", TextField()))
    for issue in candidates.filter(by_row | by_text).order_by("job_id", "row_index", "id"):
        if (issue.job_id, issue.row_index) in known or rows.row(issue.cells):
            found.append(issue)
    return found


def _file_text(data: bytes) -> str:
    """The text of a CSV, or of the XML parts of an .xlsx workbook (shared strings, sheets)."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                parts = [
                    archive.read(name).decode("utf-8", errors="replace")
                    for name in archive.namelist()
                    if name.endswith(".xml")
                ]
        except zipfile.BadZipFile:
            return ""
        return html.unescape("\n".join(parts))
    try:
        return decode(data)[0]
    except TableError:
        return ""


def _rows_in_file(job: ImportJob, data: bytes, rows: PersonRows, known: set[int]):
    """(table, indexes of the person's data rows) of a stored file, or (None, set())."""
    try:
        table = open_table(data, job.file_name, job.sheet)
        found = {index for index, _line, cells in table.rows() if index in known or rows.row(cells)}
    except TableError:
        return None, set()
    return table, found


def _without_rows(table, blank: set[int]) -> bytes:
    """The table as CSV (UTF-8, header on the first line, every data row at its index) with
    the given rows emptied."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(table.header)
    for index, _line, cells in table.rows():
        writer.writerow([""] * len(cells) if index in blank else cells)
    return out.getvalue().encode("utf-8")


# --- export ---------------------------------------------------------------------------------


def imports_export(person: Person) -> list[dict]:
    """The person's rows in every imported list: file, line, what happened, the cells."""
    rows = PersonRows.of(person, [])
    entries: dict[tuple[int, int], dict] = {}
    jobs = {}
    for row in _imported_rows(person).select_related("job", "lead"):
        jobs[row.job_id] = row.job
        entries[(row.job_id, row.row_index)] = {
            "line": row.line,
            "result": "imported" if row.lead_id else "filled in",
            "lead": None,
            "problems": [],
            "cells": None,
        }
        if row.lead_id:
            entries[(row.job_id, row.row_index)]["lead"] = str(row.lead.uuid)
    for issue in _issues(person, rows):
        jobs.setdefault(issue.job_id, None)
        entry = entries.setdefault(
            (issue.job_id, issue.row_index),
            {"line": issue.line, "result": "rejected", "lead": None, "problems": [], "cells": None},
        )
        entry["problems"].append({"kind": issue.kind, "message": issue.message})
        if issue.cells:
            entry["cells"] = issue.cells
    for job in ImportJob.objects.filter(pk__in=[k for k, v in jobs.items() if v is None]):
        jobs[job.pk] = job
    wanted: dict[int, set[int]] = {}
    for (job_id, index), entry in entries.items():
        if entry["cells"] is None:
            wanted.setdefault(job_id, set()).add(index)
    from_files = {
        (job_id, index): cells
        for job_id, indexes in wanted.items()
        for index, cells in _cells_from_file(jobs[job_id], indexes).items()
    }
    out = []
    for (job_id, index), entry in sorted(entries.items()):
        job = jobs[job_id]
        cells = entry["cells"] if entry["cells"] is not None else from_files.get((job_id, index))
        out.append(
            {
                "import": str(job.uuid),
                "file": job.file_name,
                "imported_at": job.created_at.isoformat(),
                "line": entry["line"],
                "result": entry["result"],
                "lead": entry["lead"],
                "problems": entry["problems"],
                "row": dict(zip(_labels(job.header, len(cells or [])), cells or [], strict=True)),
            }
        )
    return out


def _labels(header: list[str], n: int) -> list[str]:
    return [(header[i] if i < len(header) and header[i] else f"#{i + 1}") for i in range(n)]


def _cells_from_file(job: ImportJob, indexes: set[int]) -> dict[int, list[str]]:
    """The cells of the given data rows of a job's stored file (none once it is deleted)."""
    data = ImportFile.objects.filter(job=job).values_list("content", flat=True).first()
    if data is None:
        return {}
    try:
        table = open_table(bytes(data), job.file_name, job.sheet)
        return {i: cells for i, _line, cells in table.rows(start=min(indexes)) if i in indexes}
    except TableError:
        return {}


# --- erasure --------------------------------------------------------------------------------


def imports_erase(ctx: ErasureContext) -> int:
    person = ctx.person
    rows = PersonRows.of(person, ctx.strong)
    changed = 0
    known: dict[int, set[int]] = {}
    for job_id, index in _imported_rows(person).values_list("job_id", "row_index"):
        known.setdefault(job_id, set()).add(index)
    touched_jobs = set(known)
    for issue in _issues(person, rows):
        known.setdefault(issue.job_id, set()).add(issue.row_index)
        touched_jobs.add(issue.job_id)
        message = _PARENTHESES.sub(f"({REDACTED})", ctx.scrub(issue.message))
        ImportIssue.objects.filter(pk=issue.pk).update(cells=[], value="", message=message)
        changed += 1
    changed += _imported_rows(person).exclude(person_key="").update(person_key="")
    # Files that may hold the person: those of lists with their rows, of lists that can
    # still run, and of lists that skipped rows imported before (those rows left no trace).
    # Every other row of a finished list is an imported row, a problem row or empty.
    maybe = (
        Q(job_id__in=touched_jobs)
        | ~Q(job__status=JobStatus.DONE)
        | Q(job__rows_already_imported__gt=0)
    )
    for upload_id, job_id in list(ImportFile.objects.filter(maybe).values_list("pk", "job_id")):
        # One file in memory at a time: they can be large.
        data = bytes(ImportFile.objects.values_list("content", flat=True).get(pk=upload_id))
        job = ImportJob.objects.get(pk=job_id)
        if job.pk not in known and not rows.text(_file_text(data)):
            continue
        table, found = _rows_in_file(job, data, rows, known.get(job.pk, set()))
        if table is not None and not found:
            continue
        touched_jobs.add(job.pk)
        changed += 1
        if job.status == JobStatus.DONE or table is None:
            ImportFile.objects.filter(pk=upload_id).delete()
            continue
        _replace_file(job, upload_id, _without_rows(table, found))
    for job in ImportJob.objects.filter(pk__in=touched_jobs):
        name, error = ctx.scrub(job.file_name), ctx.scrub(job.error)
        if (name, error) != (job.file_name, job.error):
            ImportJob.objects.filter(pk=job.pk).update(file_name=name, error=error)
    return changed


def _replace_file(job: ImportJob, upload_id: int, data: bytes) -> None:
    table = open_table(data, "erased.csv")
    ImportFile.objects.filter(pk=upload_id).update(content=data)
    ImportJob.objects.filter(pk=job.pk).update(
        kind=table.kind,
        encoding=table.encoding,
        delimiter=table.delimiter,
        sheet="",
        header_line=table.header_line,
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_size=len(data),
    )


def register() -> None:
    register_section("imports", export=imports_export, erase=imports_erase, order=50)
