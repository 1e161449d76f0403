"""List imports: create a job from a file, map its columns, preview, run in chunks.

Each chunk of rows is one transaction that also moves the job's checkpoint, so a run that is
killed leaves only whole rows behind and the next run resumes after the last committed chunk.
Rows are validated and normalised (rows.py), matched against existing people and companies
(exact keys first, then the duplicate check of the dedup app), and written in bulk: person,
company, lead, stage change and an import activity that keeps the original row.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity
from leadwerk.campaigns.models import Campaign, Channel
from leadwerk.contacts.models import Company, Person
from leadwerk.dataquality.choices import FlagKind
from leadwerk.dataquality.models import RecordFlag
from leadwerk.dedup import engine
from leadwerk.dedup.choices import FoundBy
from leadwerk.dedup.models import DuplicateCandidate
from leadwerk.dedup.services import (
    COMPANY,
    PERSON,
    Kind,
    Match,
    _candidate_fields,
    _rows,
    key_hash,
    key_owners,
    match_keys_write,
    settings_get,
)
from leadwerk.errors import DomainValidationError, FieldError
from leadwerk.leads.choices import LeadSource, Stage
from leadwerk.leads.column_mapping import TARGETS, detect_columns
from leadwerk.leads.models import Lead, StageChange

from .choices import IssueKind, JobStatus
from .fastinsert import insert_rows
from .models import ImportedRow, ImportFile, ImportIssue, ImportJob
from .readers import Table, TableError, open_table
from .rows import PreparedRow, prepare_row
from .workers import Spec, prepare_chunk, setup

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class JobTakenOver(Exception):
    """Another run claimed the job (a resume while this one was still going)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mapping_problems(mapping: dict[int, str]) -> list[str]:
    """What is missing for rows to make leads (the missing required columns)."""
    targets = set(mapping.values())
    if "email" in targets:
        return []
    problems = []
    if "phone" not in targets:
        problems.append(
            _("No column for the e-mail address (E-Mail) and none for the phone number (Telefon).")
        )
    elif not targets & {"last_name", "full_name"}:
        problems.append(
            _("Without an e-mail column, a column for the last name (Nachname) is needed.")
        )
    return problems


def _duplicate_targets(mapping: dict[int, str]) -> list[str]:
    seen, dupes = set(), []
    for target in mapping.values():
        if target in seen:
            dupes.append(target)
        seen.add(target)
    return dupes


def _check_campaign(channel: Channel, campaign: Campaign | None) -> None:
    if campaign is not None and campaign.channel_id != channel.id:
        raise DomainValidationError(
            [
                FieldError(
                    ("campaign",),
                    _("campaign '%(c)s' belongs to channel '%(o)s', not '%(ch)s'")
                    % {"c": campaign.slug, "o": campaign.channel.slug, "ch": channel.slug},
                    "mismatch",
                )
            ]
        )


def job_create(
    *,
    data: bytes,
    file_name: str,
    channel: Channel,
    campaign: Campaign | None = None,
    actor=None,
    sheet: str = "",
    store_file: bool = True,
    chunk_size: int = 500,
) -> ImportJob:
    """Describe an uploaded file as an import job with the columns recognised; raise
    DomainValidationError naming the problem if the file is not a usable table."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainValidationError(
            [FieldError(("file",), _("The file is larger than 200 MB."), "too_large")]
        )
    _check_campaign(channel, campaign)
    try:
        table = open_table(data, file_name, sheet)
        total = table.count()
    except TableError as exc:
        raise DomainValidationError([FieldError(("file",), str(exc), "not_a_table")]) from None
    mapping = detect_columns(table.header)
    with transaction.atomic():
        job = ImportJob.objects.create(
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            file_name=file_name[:255],
            file_sha256=_sha256(data),
            file_size=len(data),
            kind=table.kind,
            encoding=table.encoding,
            delimiter=table.delimiter,
            sheet=table.sheet,
            header_line=table.header_line,
            header=table.header,
            mapping={str(k): v for k, v in mapping.items()},
            channel=channel,
            campaign=campaign,
            total_rows=total,
            chunk_size=chunk_size,
        )
        if store_file:
            ImportFile.objects.create(job=job, content=data)
    return job


def job_table(job: ImportJob, data: bytes | None = None) -> Table:
    if data is None:
        data = bytes(ImportFile.objects.get(job=job).content)
    if _sha256(data) != job.file_sha256:
        raise DomainValidationError(
            [FieldError(("file",), _("This is not the file the import was started with."))]
        )
    return open_table(data, job.file_name, job.sheet)


def job_mapping(job: ImportJob) -> dict[int, str]:
    return {int(k): v for k, v in job.mapping.items()}


def job_set_mapping(
    *, job: ImportJob, mapping: dict[int, str], channel: Channel, campaign: Campaign | None
) -> ImportJob:
    """Change the column mapping, channel and campaign before the run."""
    if job.status != JobStatus.MAPPING:
        raise DomainValidationError([FieldError(("mapping",), _("The import has started."))])
    errors = []
    unknown = sorted({t for t in mapping.values() if t not in TARGETS})
    if unknown:
        errors.append(FieldError(("mapping",), _("unknown fields: %s") % ", ".join(unknown)))
    dupes = _duplicate_targets(mapping)
    if dupes:
        errors.append(
            FieldError(("mapping",), _("more than one column for: %s") % ", ".join(dupes))
        )
    if errors:
        raise DomainValidationError(errors)
    _check_campaign(channel, campaign)
    job.mapping = {str(k): v for k, v in sorted(mapping.items())}
    job.channel, job.campaign = channel, campaign
    job.save(update_fields=["mapping", "channel", "campaign"])
    return job


def job_preview(job: ImportJob, *, limit: int = 20, data: bytes | None = None) -> list:
    """The first rows as they would be imported, with their problems (nothing is written)."""
    table = job_table(job, data)
    mapping = job_mapping(job)
    out = []
    rows_seen: dict[str, int] = {}
    people_seen: dict[str, int] = {}
    for index, line, cells in table.rows():
        row = prepare_row(
            index,
            line,
            cells,
            mapping,
            header_width=len(table.header),
            channel=job.channel.slug,
            campaign=job.campaign.slug if job.campaign else "",
        )
        if row is not None:
            if not row.error:
                if row.fingerprint in rows_seen:
                    row.warn(
                        "",
                        _("the same row as line %s: will be skipped") % rows_seen[row.fingerprint],
                    )
                elif row.person_key in people_seen:
                    row.warn(
                        "",
                        _("the same person as line %s: no second lead")
                        % people_seen[row.person_key],
                    )
                rows_seen.setdefault(row.fingerprint, line)
                people_seen.setdefault(row.person_key, line)
            out.append(row)
        if len(out) >= limit:
            break
    return out


def job_ready(*, job: ImportJob) -> ImportJob:
    """Check that the job can run; raise DomainValidationError naming what is missing."""
    problems = mapping_problems(job_mapping(job))
    if problems:
        raise DomainValidationError([FieldError(("mapping",), p, "missing") for p in problems])
    return job


def job_enqueue(*, job: ImportJob) -> ImportJob:
    """Hand the job to a background worker (the UI answers at once)."""
    from .tasks import import_run_task

    job_ready(job=job)
    if job.status in (JobStatus.DONE,):
        raise DomainValidationError([FieldError(("status",), _("The import is finished."))])
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, error="")
    transaction.on_commit(lambda: import_run_task.enqueue(str(job.uuid)))
    job.refresh_from_db()
    return job


# --- the run ---------------------------------------------------------------------------


def job_run(
    *,
    job: ImportJob,
    actor=None,
    data: bytes | None = None,
    progress: Callable[[ImportJob], None] | None = None,
) -> ImportJob:
    """Run (or resume) the import from its checkpoint to the end."""
    job_ready(job=job)
    token = uuid.uuid4()
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status == JobStatus.DONE:
            return job
        job.run_token = token
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.error = ""
        job.save(update_fields=["run_token", "status", "started_at", "heartbeat_at", "error"])
    actor = actor or job.created_by
    try:
        table = job_table(job, data)
        mapping = job_mapping(job)
        context = _RunContext(
            job=job,
            token=token,
            actor=actor,
            mapping=mapping,
            header=table.header,
            channel=job.channel,
            campaign=job.campaign,
        )
        remaining = job.total_rows - job.rows_done
        with _preparer(remaining) as prepare:
            pending: deque = deque()
            for chunk in _chunks(table.rows(start=job.rows_done), job.chunk_size):
                pending.append((chunk, prepare(context.spec, chunk)))
                if len(pending) <= _PREFETCH:
                    continue
                job = _finish_chunk(context, *pending.popleft(), progress)
            while pending:
                job = _finish_chunk(context, *pending.popleft(), progress)
    except JobTakenOver:
        job.refresh_from_db()
        return job
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk, run_token=token).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    ImportJob.objects.filter(pk=job.pk, run_token=token).update(
        status=JobStatus.DONE, finished_at=timezone.now(), rows_done=job.total_rows
    )
    job.refresh_from_db()
    return job


@dataclass
class _RunContext:
    job: ImportJob
    token: uuid.UUID
    actor: object
    mapping: dict[int, str]
    header: list[str]
    channel: Channel
    campaign: Campaign | None
    last_tick: float = field(default_factory=time.perf_counter)

    @property
    def spec(self) -> Spec:
        return Spec(
            self.mapping,
            len(self.header),
            self.channel.slug,
            self.campaign.slug if self.campaign else "",
        )


# Lists from this size on are prepared (validated, normalised) in worker processes while
# the main process writes the previous chunk; LEADWERK_IMPORT_WORKERS=0 turns this off.
POOL_MIN_ROWS = 20_000
_PREFETCH = 2


def _chunks(rows, size: int):
    chunk: list = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Done:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


@contextmanager
def _preparer(rows: int):
    """A function (spec, chunk) -> future of the prepared rows: in worker processes for big
    lists, else right here."""
    workers = int(os.environ.get("LEADWERK_IMPORT_WORKERS", str(max(1, (os.cpu_count() or 2) - 1))))
    if rows < POOL_MIN_ROWS or workers < 1:
        yield lambda spec, chunk: _Done(prepare_chunk(spec, chunk))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=setup, initargs=(os.getpid(),)
    ) as pool:
        yield lambda spec, chunk: pool.submit(prepare_chunk, spec, chunk)


def _finish_chunk(ctx: _RunContext, chunk, future, progress) -> ImportJob:
    job = _run_chunk(ctx, chunk, future.result())
    if progress:
        progress(job)
    return job


@dataclass
class _Counts:
    leads_created: int = 0
    persons_created: int = 0
    persons_matched: int = 0
    companies_created: int = 0
    companies_matched: int = 0
    duplicates_queued: int = 0
    rows_warned: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_already_imported: int = 0
    rows_empty: int = 0


def _run_chunk(ctx: _RunContext, chunk: list[tuple[int, int, list[str]]], prepared) -> ImportJob:
    for attempt in range(3):
        try:
            with transaction.atomic():
                job = ImportJob.objects.select_for_update().get(pk=ctx.job.pk)
                if job.run_token != ctx.token or job.rows_done != chunk[0][0]:
                    raise JobTakenOver
                counts = _Counts(rows_empty=sum(1 for p in prepared if p is None))
                _write(ctx, job, [p for p in prepared if p is not None], counts)
                for name, value in counts.__dict__.items():
                    setattr(job, name, getattr(job, name) + value)
                job.rows_done = chunk[-1][0] + 1
                job.heartbeat_at = timezone.now()
                now = time.perf_counter()
                job.seconds_running += now - ctx.last_tick
                job.save()
                ctx.last_tick = now
                return job
        except IntegrityError:
            # A concurrent intake created the same person or company: match again.
            if attempt == 2:
                raise
            prepared = prepare_chunk(ctx.spec, chunk)
    raise AssertionError("unreachable")


# --- writing one chunk -------------------------------------------------------------------


@dataclass
class _Resolved:
    """Where a row's person or company ended up."""

    obj_id: int | None = None
    created: bool = False
    match: Match | None = None  # an automatic match by the duplicate check
    review: list[Match] = field(default_factory=list)
    filled: dict = field(default_factory=dict)
    differing: dict = field(default_factory=dict)


_COMPANY_VALUE_FIELDS = (
    "legal_form",
    "website",
    "domain",
    "industry",
    "employees",
    "employee_band",
    "country",
    "postal_code",
    "city",
    "federal_state",
    "vat_id",
)
_PERSON_VALUE_FIELDS = (
    "salutation",
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "language",
)


def _issue_rows(job: ImportJob, row: PreparedRow, kind: str, message: str = "") -> ImportIssue:
    issues = [i for i in row.issues if (i.severity == "error") == (kind == IssueKind.ERROR)]
    text = message or "; ".join(
        f"{i.field}: {i.message}" + (f" ({i.value})" if i.value else "") if i.field else i.message
        for i in issues
    )
    first = issues[0] if issues and not message else None
    return ImportIssue(
        job=job,
        row_index=row.index,
        line=row.line,
        kind=kind,
        field=(first.field if first else "")[:40],
        message=text[:500],
        value=(first.value if first else "")[:300],
        cells=row.cells,
    )


def _write(ctx: _RunContext, job: ImportJob, rows: list[PreparedRow], counts: _Counts) -> None:
    issues: list[ImportIssue] = []
    ok: list[PreparedRow] = []
    for row in rows:
        if row.error:
            issues.append(_issue_rows(job, row, IssueKind.ERROR))
            counts.rows_rejected += 1
        else:
            ok.append(row)
    # 1. the same row imported before (re-run) or earlier in this file
    known = {
        fp: (job_id, line)
        for fp, job_id, line in ImportedRow.objects.filter(
            fingerprint__in=[r.fingerprint for r in ok]
        ).values_list("fingerprint", "job_id", "line")
    }
    fresh: list[PreparedRow] = []
    for row in ok:
        seen = known.get(row.fingerprint)
        if seen is None:
            known[row.fingerprint] = (job.id, row.line)
            fresh.append(row)
        elif seen[0] == job.id:
            issues.append(
                _issue_rows(
                    job,
                    row,
                    IssueKind.DUPLICATE,
                    _("the same row as line %(line)s; skipped") % {"line": seen[1]},
                )
            )
            counts.rows_duplicate += 1
        else:
            counts.rows_already_imported += 1
    # 2. external ids that exist in the channel already
    ext_ids = [r.lead["external_id"] for r in fresh if r.lead["external_id"]]
    taken = set(
        Lead.objects.filter(channel=ctx.channel, external_id__in=ext_ids)
        .exclude(external_id="")  # lets SQLite use the partial unique index
        .order_by()
        .values_list("external_id", flat=True)
    )
    kept: list[PreparedRow] = []
    for row in fresh:
        ext = row.lead["external_id"]
        if ext and ext in taken:
            row.fail(
                "external_id",
                _("a lead with this external ID exists in channel '%(ch)s' already")
                % {"ch": ctx.channel.slug},
                ext,
            )
            issues.append(_issue_rows(job, row, IssueKind.ERROR))
            counts.rows_rejected += 1
            continue
        if ext:
            taken.add(ext)
        kept.append(row)
    # 3. a second row of the same person in this file: no second lead
    earlier = {
        key: (line, person_id)
        for key, line, person_id in ImportedRow.objects.filter(
            job=job, person_key__in=[r.person_key for r in kept]
        ).values_list("person_key", "line", "lead__person_id")
    }
    first_rows: list[PreparedRow] = []
    repeats: list[tuple[PreparedRow, PreparedRow | int]] = []
    in_chunk: dict[str, PreparedRow] = {}
    for row in kept:
        if row.person_key in earlier:
            repeats.append((row, earlier[row.person_key][1]))
        elif row.person_key in in_chunk:
            repeats.append((row, in_chunk[row.person_key]))
        else:
            in_chunk[row.person_key] = row
            first_rows.append(row)
    companies = _resolve_companies(kept)
    people = _resolve_people(first_rows, companies)
    repeat_people = _fill_repeats(repeats, people, companies)
    now = timezone.now()
    _write_flags(kept, people, repeat_people, companies)
    # 4. leads, stage changes, timeline, fingerprints
    actor_id = getattr(ctx.actor, "pk", None)
    lead_rows = [
        {
            "person_id": people[id(row)].obj_id,
            "company_id": companies[id(row)].obj_id if id(row) in companies else None,
            "channel_id": ctx.channel.pk,
            "campaign_id": ctx.campaign.pk if ctx.campaign else None,
            "source": LeadSource.IMPORT.value,
            "product_interest": row.lead["product_interest"],
            "message": row.lead["message"],
            "external_id": row.lead["external_id"],
            "created_by_id": actor_id,
            "created_at": now,
            "stage": Stage.NEW.value,
            "stage_changed_at": now,
        }
        for row in first_rows
    ]
    lead_ids = insert_rows(Lead, lead_rows, returning="id")
    insert_rows(
        StageChange,
        [
            {
                "lead_id": lead_id,
                "from_stage": "",
                "to_stage": Stage.NEW.value,
                "at": now,
                "by_id": actor_id,
            }
            for lead_id in lead_ids
        ],
    )
    header = ctx.header
    activities = []
    for row, lead_id, lead_row in zip(first_rows, lead_ids, lead_rows, strict=True):
        person, company = people[id(row)], companies.get(id(row))
        payload = {
            "file": job.file_name,
            "line": row.line,
            "import": str(job.uuid),
            "channel": ctx.channel.slug,
            "campaign": ctx.campaign.slug if ctx.campaign else None,
            "product_interest": row.lead["product_interest"],
            "message": row.lead["message"],
            "person_created": person.created,
            "row": {
                (header[i] if i < len(header) and header[i] else f"#{i + 1}"): v
                for i, v in enumerate(row.cells)
                if v.strip()
            },
        }
        if company is not None:
            payload["company_created"] = company.created
        for label, res in (("person", person), ("company", company)):
            if res is None:
                continue
            if res.match is not None:
                payload[f"{label}_matched_by_duplicate_check"] = {
                    "probability": round(res.match.probability, 4),
                    "reasons": [r["reason"] for r in res.match.reasons],
                }
            if res.filled:
                payload[f"{label}_filled"] = res.filled
            if res.differing:
                payload[f"{label}_differing"] = res.differing
        warnings = [f"{i.field}: {i.message}" for i in row.issues if i.severity == "warning"]
        if warnings:
            payload["warnings"] = warnings
        activities.append(
            {
                "person_id": lead_row["person_id"],
                "lead_id": lead_id,
                "type": ActivityType.IMPORT.value,
                "actor_id": actor_id,
                "subject": (row.lead["product_interest"] or job.file_name)[:300],
                "payload": payload,
                "occurred_at": now,
                "created_at": now,
            }
        )
    insert_rows(Activity, activities)
    # repeated rows of one person are remembered too, so a re-run skips them as well
    insert_rows(
        ImportedRow,
        [
            {
                "job_id": job.pk,
                "fingerprint": row.fingerprint,
                "person_key": row.person_key[:300],
                "row_index": row.index,
                "line": row.line,
                "lead_id": lead_id,
            }
            for row, lead_id in [
                *zip(first_rows, lead_ids, strict=True),
                *((r, None) for r, _first in repeats),
            ]
        ],
    )
    for row, first in repeats:
        line = first.line if isinstance(first, PreparedRow) else None
        message = (
            _("the same person as line %(line)s: no second lead; new values filled in")
            % {"line": line}
            if line
            else _("the same person as an earlier row: no second lead; new values filled in")
        )
        issues.append(_issue_rows(job, row, IssueKind.DUPLICATE, message))
        counts.rows_duplicate += 1
    for row in kept:
        if any(i.severity == "warning" for i in row.issues):
            issues.append(_issue_rows(job, row, IssueKind.WARNING))
            counts.rows_warned += 1
    insert_rows(
        ImportIssue,
        [
            {
                "job_id": job.pk,
                "row_index": i.row_index,
                "line": i.line,
                "kind": i.kind,
                "field": i.field,
                "message": i.message,
                "value": i.value,
                "cells": i.cells,
            }
            for i in issues
        ],
    )
    counts.duplicates_queued += _queue_reviews(people, companies)
    counts.leads_created += len(lead_ids)
    seen_people: set[int] = set()
    for row in first_rows:
        res = people[id(row)]
        if res.obj_id in seen_people:
            continue
        seen_people.add(res.obj_id)
        if res.created:
            counts.persons_created += 1
        else:
            counts.persons_matched += 1
    seen_companies: set[int] = set()
    for res in companies.values():
        if res.obj_id in seen_companies:
            continue
        seen_companies.add(res.obj_id)
        if res.created:
            counts.companies_created += 1
        else:
            counts.companies_matched += 1


def _fill(obj_values: dict, new_values: dict, names: Iterable[str]) -> tuple[dict, dict]:
    filled, differing = {}, {}
    for name in names:
        new = new_values.get(name)
        if new in ("", None):
            continue
        old = obj_values.get(name)
        if old in ("", None):
            obj_values[name] = new
            filled[name] = new
        elif old != new:
            differing[name] = {"current": old, "submitted": new}
    return filled, differing


def _resolve_companies(rows: list[PreparedRow]) -> dict[int, _Resolved]:
    """Find or create the company of every row; returns id(row) -> where it went."""
    with_company = [r for r in rows if r.company]
    if not with_company:
        return {}
    domains = {r.company["domain"] for r in with_company if r.company["domain"]}
    keys = {r.company["name_key"] for r in with_company if r.company["name_key"]}
    value_fields = ["id", "name", "name_key", *_COMPANY_VALUE_FIELDS]
    # two queries, so that each can use its index (an OR over two columns may scan)
    found_companies = {
        c["id"]: c
        for c in Company.objects.filter(domain__in=domains).order_by().values(*value_fields)
    }
    found_companies.update(
        {
            c["id"]: c
            for c in Company.objects.filter(name_key__in=keys).order_by().values(*value_fields)
        }
    )
    existing = [found_companies[k] for k in sorted(found_companies)]
    by_domain: dict[str, dict] = {}
    by_key: dict[str, list[dict]] = {}
    for c in existing:
        if c["domain"]:
            by_domain.setdefault(c["domain"], c)
        by_key.setdefault(c["name_key"], []).append(c)
    out: dict[int, _Resolved] = {}
    groups: dict[str, list[PreparedRow]] = {}
    for row in with_company:
        c = row.company
        found = by_domain.get(c["domain"]) if c["domain"] else None
        if found is None:
            for cand in by_key.get(c["name_key"], []):
                if c["country"] and cand["country"] not in (c["country"], ""):
                    continue
                if c["domain"] and cand["domain"]:
                    continue
                found = cand
                break
        if found is not None:
            out[id(row)] = _Resolved(found["id"])
        else:
            group = c["domain"] or f"{c['name_key']}|{c['country']}"
            groups.setdefault(group, []).append(row)
    # new companies: the duplicate check against the database, then create
    firsts = [members[0] for members in groups.values()]
    first_features = [COMPANY.features(_company_feature_row(r.company)) for r in firsts]
    first_keys = _keys(COMPANY, first_features)
    decisions = _duplicate_check(COMPANY, first_features, first_keys)
    to_create: list[tuple[str, Company]] = []
    existing_by_id = {c["id"]: c for c in existing}
    for (group, members), decision in zip(groups.items(), decisions, strict=True):
        if decision.match is not None:
            for row in members:
                out[id(row)] = _Resolved(decision.match.other_id, match=decision.match)
            continue
        c = members[0].company
        company = Company(
            name=c["name"],
            name_key=c["name_key"],
            **{k: c[k] for k in _COMPANY_VALUE_FIELDS},
        )
        for row in members[1:]:
            values = {k: getattr(company, k) for k in _COMPANY_VALUE_FIELDS}
            _fill(values, row.company, _COMPANY_VALUE_FIELDS)
            for k, v in values.items():
                setattr(company, k, v)
        to_create.append((group, company))
        for row in members:
            out[id(row)] = _Resolved(None, created=True, review=decision.review)
    company_fields = ("name", "name_key", *_COMPANY_VALUE_FIELDS)
    new_ids = insert_rows(
        Company,
        [{name: getattr(c, name) for name in company_fields} for _, c in to_create],
        returning="id",
    )
    for (_group, c), new_id in zip(to_create, new_ids, strict=True):
        c.id = new_id
    created_by_group = {group: company.id for group, company in to_create}
    for group, members in groups.items():
        if group in created_by_group:
            for row in members:
                out[id(row)].obj_id = created_by_group[group]
    if to_create:
        feature_rows = [
            COMPANY.features(_company_feature_row({**c.__dict__})) for _, c in to_create
        ]
        match_keys_write(
            COMPANY, [c.id for _, c in to_create], _keys(COMPANY, feature_rows), fresh=True
        )
    # matched companies: fill their gaps
    matched_ids = {res.obj_id for res in out.values() if not res.created}
    missing = matched_ids - set(existing_by_id)
    if missing:
        for c in Company.objects.filter(id__in=missing).values(*value_fields):
            existing_by_id[c["id"]] = c
    changed: dict[int, Company] = {}
    for row in with_company:
        res = out[id(row)]
        if res.created:
            continue
        values = existing_by_id[res.obj_id]
        res.filled, res.differing = _fill(values, row.company, _COMPANY_VALUE_FIELDS)
        if res.filled:
            obj = changed.setdefault(res.obj_id, Company(id=res.obj_id))
            for k, v in res.filled.items():
                setattr(obj, k, v)
    _bulk_fill(Company, changed)
    return out


def _bulk_fill(model, changed: dict) -> None:
    """Write filled-in gaps, grouped by the set of fields (one UPDATE per group)."""
    by_fields: dict[tuple[str, ...], list] = {}
    for obj in changed.values():
        names = tuple(sorted(k for k in obj.__dict__ if k in _ALL_FILL_FIELDS))
        by_fields.setdefault(names, []).append(obj)
    now = timezone.now()
    for names, objs in by_fields.items():
        for obj in objs:
            obj.updated_at = now
        model.objects.bulk_update(objs, [*names, "updated_at"], batch_size=500)


_ALL_FILL_FIELDS = frozenset(_COMPANY_VALUE_FIELDS + _PERSON_VALUE_FIELDS + ("phone_valid",))


def _company_feature_row(c: dict) -> dict:
    return {
        k: c.get(k, "") or ""
        for k in ("name", "domain", "website", "vat_id", "postal_code", "city", "legal_form")
    }


def _keys(kind: Kind, feature_rows: list[dict]) -> list[list[int]]:
    feats = engine.features_from_rows(feature_rows, kind.names)
    return [
        [key_hash(k) for k in keys] for keys in engine.all_block_keys(feats, kind.scheme.blocking)
    ]


@dataclass
class _Decision:
    match: Match | None = None  # certain: use this existing record
    review: list[Match] = field(default_factory=list)  # doubtful: create and queue


def _duplicate_check(
    kind: Kind, feature_rows: list[dict], keys: list[list[int]]
) -> list[_Decision]:
    """The duplicate check of the dedup app, for many new records at once: one look-up of
    all their blocking keys, one load of the candidates, scoring per record."""
    if not feature_rows:
        return []
    owners = key_owners(kind, {k for ks in keys for k in ks})
    candidate_ids = sorted({i for ids in owners.values() for i in ids})
    candidates = {}
    if candidate_ids:
        for row in _rows(kind, kind.model.objects.filter(id__in=candidate_ids).order_by()):
            candidates[row["id"]] = kind.features(row)
    config = settings_get()
    # every (new record, candidate) pair of the chunk is scored in one vectorised pass
    cand_ids = list(candidates)
    cand_pos = {cid: len(feature_rows) + n for n, cid in enumerate(cand_ids)}
    left: list[int] = []
    right: list[int] = []
    for n, ks in enumerate(keys):
        ids = sorted({i for k in ks for i in owners.get(k, ()) if i in candidates})[:200]
        left.extend([n] * len(ids))
        right.extend(cand_pos[i] for i in ids)
    decisions = [_Decision() for _ in feature_rows]
    if not left:
        return decisions
    feats = engine.features_from_rows(
        [*feature_rows, *(candidates[i] for i in cand_ids)], kind.names
    )
    scored = engine.score(kind.scheme, feats, np.asarray(left), np.asarray(right))
    best: dict[int, list[tuple[float, int]]] = {}
    for pair, (n, p) in enumerate(zip(left, scored.probability.tolist(), strict=True)):
        if p >= config.review_threshold:
            best.setdefault(n, []).append((p, pair))
    for n, found in best.items():
        found.sort(reverse=True)
        matches = [
            Match(
                cand_ids[right[pair] - len(feature_rows)],
                p,
                engine.reasons(kind.scheme, scored.levels[pair]),
            )
            for p, pair in found
        ]
        if matches[0].probability >= config.auto_merge_threshold:
            decisions[n].match = matches[0]
        else:
            decisions[n].review = matches
    return decisions


def _person_feature_row(row: PreparedRow, company: _Resolved | None) -> dict:
    c = row.company or {}
    return {
        "first_name": row.person["first_name"],
        "last_name": row.person["last_name"],
        "email": row.person["email"] if row.person["email_normalized"] else "",
        "phone": row.person["phone"] if row.person["phone_valid"] else "",
        "company_id": company.obj_id if company else "",
        "company_name": c.get("name", ""),
        "company_domain": c.get("domain", ""),
    }


def _resolve_people(rows: list[PreparedRow], companies: dict[int, _Resolved]) -> dict:
    """Find or create the person of every row; returns id(row) -> where it went."""
    out: dict[int, _Resolved] = {}
    value_fields = ["id", "company_id", "phone_valid", *_PERSON_VALUE_FIELDS]
    emails = [r.person["email_normalized"] for r in rows if r.person["email_normalized"]]
    by_email = {
        p["email_normalized"]: p
        for p in Person.objects.filter(email_normalized__in=emails)
        .exclude(email_normalized="")  # lets SQLite use the partial unique index
        .order_by()
        .values("email_normalized", *value_fields)
    }
    new_rows = []
    for row in rows:
        key = row.person["email_normalized"]
        found = by_email.get(key) if key else None
        if found is not None:
            out[id(row)] = _Resolved(found["id"])
        else:
            new_rows.append(row)
    # within this chunk: certain duplicates among the new rows become one person
    feature_rows = [PERSON.features(_person_feature_row(r, companies.get(id(r)))) for r in new_rows]
    new_keys = _keys(PERSON, feature_rows)
    same_as: dict[int, int] = {}
    if len(new_rows) > 1:
        feats = engine.features_from_rows(feature_rows, PERSON.names)
        i, j = engine.candidate_pairs(feats, PERSON.scheme.blocking)
        if len(i):
            scored = engine.score(PERSON.scheme, feats, i, j)
            threshold = settings_get().auto_merge_threshold
            for a, b, p in zip(i.tolist(), j.tolist(), scored.probability.tolist(), strict=True):
                if p >= threshold and b not in same_as:
                    same_as[b] = same_as.get(a, a)
    leaders = [k for k in range(len(new_rows)) if k not in same_as]
    decisions = _duplicate_check(
        PERSON, [feature_rows[k] for k in leaders], [new_keys[k] for k in leaders]
    )
    decision_of = dict(zip(leaders, decisions, strict=True))
    to_create: dict[int, Person] = {}
    for k in leaders:
        row, decision = new_rows[k], decision_of[k]
        if decision.match is not None:
            out[id(row)] = _Resolved(decision.match.other_id, match=decision.match)
            continue
        company = companies.get(id(row))
        p = row.person
        to_create[k] = Person(
            company_id=company.obj_id if company else None,
            email_normalized=p["email_normalized"],
            phone_valid=p["phone_valid"],
            **{name: p[name] for name in _PERSON_VALUE_FIELDS},
        )
        out[id(row)] = _Resolved(None, created=True, review=decision.review)
    for b, a in same_as.items():
        leader = a
        while leader in same_as:
            leader = same_as[leader]
        row, lead_row = new_rows[b], new_rows[leader]
        if leader in to_create:
            obj = to_create[leader]
            values = {name: getattr(obj, name) for name in _PERSON_VALUE_FIELDS}
            _fill(values, row.person, _PERSON_VALUE_FIELDS)
            for name, value in values.items():
                setattr(obj, name, value)
            obj.email_normalized = obj.email_normalized or row.person["email_normalized"]
            out[id(row)] = out[id(lead_row)]
        else:
            out[id(row)] = _Resolved(out[id(lead_row)].obj_id, match=out[id(lead_row)].match)
    person_fields = ("company_id", "email_normalized", "phone_valid", *_PERSON_VALUE_FIELDS)
    new_ids = insert_rows(
        Person,
        [{name: getattr(obj, name) for name in person_fields} for obj in to_create.values()],
        returning="id",
    )
    for obj, new_id in zip(to_create.values(), new_ids, strict=True):
        obj.id = new_id
    for k, obj in to_create.items():
        out[id(new_rows[k])].obj_id = obj.id
    if to_create:
        match_keys_write(
            PERSON,
            [obj.id for obj in to_create.values()],
            [new_keys[k] for k in to_create],
            fresh=True,
        )
    # matched people: fill their gaps
    matched = {res.obj_id for res in out.values() if not res.created}
    current = {p["id"]: p for p in Person.objects.filter(id__in=matched).values(*value_fields)}
    changed: dict[int, Person] = {}
    for row in rows:
        res = out[id(row)]
        if res.created:
            continue
        values = current[res.obj_id]
        new = {**row.person}
        if not row.person["email_normalized"]:
            new["email"] = ""  # an invalid address does not overwrite or fill anything
        res.filled, res.differing = _fill(values, new, _PERSON_VALUE_FIELDS)
        obj = None
        if res.filled:
            obj = changed.setdefault(res.obj_id, Person(id=res.obj_id))
            for k, v in res.filled.items():
                setattr(obj, k, v)
            if "phone" in res.filled:
                obj.phone_valid = row.person["phone_valid"]
            if "email" in res.filled:
                obj.email_normalized = row.person["email_normalized"]
        company = companies.get(id(row))
        if company is not None and values.get("company_id") is None:
            values["company_id"] = company.obj_id
            obj = obj or changed.setdefault(res.obj_id, Person(id=res.obj_id))
            obj.company_id = company.obj_id
            res.filled["company"] = company.obj_id
    for obj in changed.values():
        if "email" in obj.__dict__ and "email_normalized" not in obj.__dict__:
            obj.email_normalized = ""
    _bulk_fill_people(changed)
    return out


def _bulk_fill_people(changed: dict[int, Person]) -> None:
    by_fields: dict[tuple[str, ...], list[Person]] = {}
    allowed = set(_PERSON_VALUE_FIELDS) | {"phone_valid", "email_normalized", "company_id"}
    for obj in changed.values():
        names = tuple(sorted(k for k in obj.__dict__ if k in allowed))
        by_fields.setdefault(names, []).append(obj)
    now = timezone.now()
    for names, objs in by_fields.items():
        for obj in objs:
            obj.updated_at = now
        Person.objects.bulk_update(objs, [*names, "updated_at"], batch_size=500)


def _fill_repeats(repeats, people, companies) -> dict[int, int]:
    """A later row of a person already in this file fills that person's gaps."""
    out: dict[int, int] = {}
    if not repeats:
        return out
    targets = {}
    for row, first in repeats:
        person_id = people[id(first)].obj_id if isinstance(first, PreparedRow) else first
        out[id(row)] = person_id
        targets.setdefault(person_id, []).append(row)
    value_fields = ["id", "phone_valid", *_PERSON_VALUE_FIELDS]
    changed = {}
    for p in Person.objects.filter(id__in=list(targets)).values(*value_fields):
        for row in targets[p["id"]]:
            new = {**row.person}
            if not row.person["email_normalized"]:
                new["email"] = ""
            filled, _differing = _fill(p, new, _PERSON_VALUE_FIELDS)
            if filled:
                obj = changed.setdefault(p["id"], Person(id=p["id"]))
                for k, v in filled.items():
                    setattr(obj, k, v)
                if "phone" in filled:
                    obj.phone_valid = row.person["phone_valid"]
                if "email" in filled:
                    obj.email_normalized = row.person["email_normalized"]
    _bulk_fill_people(changed)
    return out


def _write_flags(rows, people, repeat_people, companies) -> None:
    """Flag every invalid value that a record now holds (or could not hold at all)."""
    person_ids = {people[id(r)].obj_id for r in rows if id(r) in people}
    person_ids |= set(repeat_people.values())
    company_ids = {res.obj_id for res in companies.values()}
    person_values = {
        p["id"]: p
        for p in Person.objects.filter(id__in=person_ids).values(
            "id", "email", "phone", "salutation", "language"
        )
    }
    company_values = {
        c["id"]: c
        for c in Company.objects.filter(id__in=company_ids).values(
            "id",
            "country",
            "website",
            "postal_code",
            "vat_id",
            "employees",
            "employee_band",
            "federal_state",
        )
    }
    open_flags = set()
    if person_ids or company_ids:
        open_flags = {
            row
            for where in ({"person_id__in": person_ids}, {"company_id__in": company_ids})
            for row in RecordFlag.objects.filter(**where, resolved_at__isnull=True).values_list(
                "person_id", "company_id", "field", "value"
            )
        }
    flags = []
    for row in rows:
        for entity, name, value, reason in row.flags:
            if entity == "person":
                obj_id = people[id(row)].obj_id if id(row) in people else repeat_people.get(id(row))
                current = person_values.get(obj_id, {})
                key = (obj_id, None, name, value[:300])
            else:
                obj_id = companies[id(row)].obj_id if id(row) in companies else None
                current = company_values.get(obj_id, {})
                key = (None, obj_id, name, value[:300])
            if obj_id is None:
                continue
            held = current.get(name)
            if name in ("country", "employees", "federal_state", "salutation", "language"):
                applies = held in ("", None)
            else:
                applies = held == value
            if not applies or key in open_flags:
                continue
            open_flags.add(key)
            flags.append(
                RecordFlag(
                    person_id=key[0],
                    company_id=key[1],
                    field=name,
                    kind=FlagKind.INVALID,
                    value=value[:300],
                    reason=reason[:300],
                    source="import",
                )
            )
    insert_rows(
        RecordFlag,
        [
            {
                "person_id": f.person_id,
                "company_id": f.company_id,
                "field": f.field,
                "kind": f.kind,
                "value": f.value,
                "reason": f.reason,
                "source": f.source,
            }
            for f in flags
        ],
    )


def _queue_reviews(people: dict, companies: dict) -> int:
    queued = 0
    candidates = []
    seen = set()
    for kind, resolved in ((PERSON, people), (COMPANY, companies)):
        for res in resolved.values():
            for match in res.review:
                if res.obj_id is None or match.other_id == res.obj_id:
                    continue
                fields = _candidate_fields(kind, res.obj_id, match.other_id)
                key = tuple(sorted(fields.items()))
                if key in seen:
                    continue
                seen.add(key)
                candidates.append(
                    DuplicateCandidate(
                        **fields,
                        probability=match.probability,
                        reasons=match.reasons,
                        found_by=FoundBy.IMPORT,
                    )
                )
    if candidates:
        before = DuplicateCandidate.objects.count()
        DuplicateCandidate.objects.bulk_create(candidates, ignore_conflicts=True)
        queued = DuplicateCandidate.objects.count() - before
    return queued


def job_issues_csv(job: ImportJob) -> Iterable[list[str]]:
    """The problem rows as a table: line, what happened, why, then the original cells."""
    yield [_("line"), _("result"), _("reason"), *job.header]
    labels = dict(IssueKind.choices)
    for issue in job.issues.order_by("row_index", "id").iterator(chunk_size=2000):
        yield [str(issue.line), str(labels[issue.kind]), issue.message, *issue.cells]


def job_stale(job: ImportJob, *, seconds: int = 120) -> bool:
    """A running job whose worker has not reported for a while was probably killed."""
    return (
        job.status in (JobStatus.RUNNING, JobStatus.QUEUED)
        and job.heartbeat_at is not None
        and (timezone.now() - job.heartbeat_at).total_seconds() > seconds
    )
