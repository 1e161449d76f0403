"""Duplicate detection and merging of people and companies.

* :func:`person_intake_check` / :func:`company_intake_check` — the fast check for one new
  record at intake (one indexed look-up of its blocking keys, then scoring of the few
  candidates): merge automatically above the high threshold, queue for review between the
  thresholds.
* :func:`dedup_run` — the full check over the whole database (background task).
* :func:`record_merge` / :func:`merge_undo` — merge with survivorship rules, the related
  rows moved through the registry, a snapshot for an exact unmerge, the merge on the timeline.
* :func:`candidate_decide` — a reviewer's decision on a queued pair.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Max, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.activities.choices import ActivityType
from leadwerk.activities.services import activity_record
from leadwerk.audit.choices import AuditAction
from leadwerk.audit.services import audit_record
from leadwerk.contacts.models import Company, Person
from leadwerk.contacts.normalization import company_name_key, domain_from_website, email_key
from leadwerk.errors import Conflict, DomainValidationError, FieldError
from leadwerk.privacy.models import Erasure

from . import engine
from .choices import CandidateStatus, Entity, FoundBy, MergeHow, Survivorship
from .models import DedupSettings, DuplicateCandidate, MatchKey, MergeRecord
from .registry import handler_by_key, handlers_for
from .schemes import (
    COMPANY_FEATURES,
    COMPANY_SCHEME,
    PERSON_FEATURES,
    PERSON_SCHEME,
    company_features,
    person_features,
)

# Sent after a merge and after an unmerge, so other apps can recompute what depends on
# the records (scores, for example): sender is the model, kwargs survivor, merged_id, record.
records_merged = Signal()
records_unmerged = Signal()
# Sent when a reviewer says a queued pair is not a duplicate: kwargs candidate, actor.
candidate_dismissed = Signal()

PERSON_MERGE_FIELDS = (
    "salutation",
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "language",
    "company",
)
COMPANY_MERGE_FIELDS = (
    "name",
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
DEFAULT_TRUST = ["manual", "form", "api", "import", "demo"]
_CANDIDATE_LIMIT = 200


@dataclass(frozen=True)
class Kind:
    entity: str
    model: type[models.Model]
    scheme: engine.Scheme
    names: tuple[str, ...]
    features: Callable[[dict], dict]
    merge_fields: tuple[str, ...]


def _person_rows(qs) -> list[dict]:
    return [
        {
            "id": r[0],
            "first_name": r[1],
            "last_name": r[2],
            "email": r[3],
            "phone": r[4],
            "company_id": r[5],
            "company_name": r[6] or "",
            "company_domain": r[7] or "",
        }
        for r in qs.values_list(
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company_id",
            "company__name",
            "company__domain",
        )
    ]


def _company_rows(qs) -> list[dict]:
    fields = ("id", "name", "domain", "website", "vat_id", "postal_code", "city", "legal_form")
    return [dict(zip(fields, r, strict=True)) for r in qs.values_list(*fields)]


PERSON = Kind(
    Entity.PERSON,
    Person,
    PERSON_SCHEME,
    PERSON_FEATURES,
    person_features,
    PERSON_MERGE_FIELDS,
)
COMPANY = Kind(
    Entity.COMPANY,
    Company,
    COMPANY_SCHEME,
    COMPANY_FEATURES,
    company_features,
    COMPANY_MERGE_FIELDS,
)
KINDS = {Entity.PERSON: PERSON, Entity.COMPANY: COMPANY}


def _rows(kind: Kind, qs) -> list[dict]:
    return _person_rows(qs) if kind is PERSON else _company_rows(qs)


def settings_get() -> DedupSettings:
    obj = DedupSettings.objects.order_by("id").first()
    return obj or DedupSettings(source_trust=DEFAULT_TRUST)


# --- blocking keys -----------------------------------------------------------------------


def key_hash(key: str) -> int:
    """A 63-bit hash of a blocking key (fits a signed BIGINT on every database)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def keys_of(kind: Kind, feature_rows: Sequence[dict]) -> list[list[int]]:
    feats = engine.features_from_rows(feature_rows, kind.names)
    return [
        [key_hash(k) for k in keys] for keys in engine.all_block_keys(feats, kind.scheme.blocking)
    ]


def match_keys_write(
    kind: Kind, ids: Sequence[int], keys: Sequence[Sequence[int]], *, fresh: bool = False
) -> None:
    """Replace the stored blocking keys of these records (``fresh``: they have none yet).

    Written with one multi-row INSERT per batch: there are several keys per record and
    imports write them for thousands of records at a time."""
    if not fresh:
        MatchKey.objects.filter(entity=kind.entity, object_id__in=list(ids)).delete()
    rows = [(kind.entity, obj_id, k) for obj_id, ks in zip(ids, keys, strict=True) for k in set(ks)]
    q = connection.ops.quote_name
    table = q(MatchKey._meta.db_table)
    columns = ", ".join(q(c) for c in ("entity", "object_id", "key"))
    sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s)"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 10_000):
            cursor.executemany(sql, rows[start : start + 10_000])


def match_keys_refresh(kind: Kind, ids: Sequence[int], *, fresh: bool = False) -> None:
    """Recompute and store the blocking keys of these records (``fresh``: just created,
    nothing stored yet)."""
    rows = _rows(kind, kind.model.objects.filter(id__in=list(ids)).order_by())
    feature_rows = [kind.features(r) for r in rows]
    match_keys_write(kind, [r["id"] for r in rows], keys_of(kind, feature_rows), fresh=fresh)


# --- scoring ----------------------------------------------------------------------------


@dataclass
class Match:
    other_id: int
    probability: float
    reasons: list[dict]


def score_against(
    kind: Kind, new_features: dict, candidates: Sequence[dict], *, candidate_ids: Sequence[int]
) -> list[Match]:
    """Score one record (features) against candidate records (features), best first."""
    if not candidates:
        return []
    feats = engine.features_from_rows([new_features, *candidates], kind.names)
    j = np.arange(1, len(candidates) + 1)
    i = np.zeros(len(candidates), dtype=np.int64)
    scored = engine.score(kind.scheme, feats, i, j)
    out = [
        Match(int(cid), float(p), engine.reasons(kind.scheme, levels))
        for cid, p, levels in zip(candidate_ids, scored.probability, scored.levels, strict=True)
    ]
    return sorted(out, key=lambda m: -m.probability)


# A blocking key shared by more records than this says too little to compare them all
# (think of 'Müller, Thomas' in a million people); the other keys still find the pair.
MAX_KEY_OWNERS = 60


def useful_keys(kind: Kind, hashes) -> list[int]:
    """The keys among ``hashes`` that are not too common to block on."""
    return list(key_owners(kind, hashes))


def key_owners(kind: Kind, hashes) -> dict[int, set[int]]:
    """For each useful key among ``hashes``: the ids of the records that have it. Plain SQL
    in batches: an import asks for thousands of keys at a time."""
    hashes = sorted(set(hashes))
    if not hashes:
        return {}
    q = connection.ops.quote_name
    table = q(MatchKey._meta.db_table)
    key_col, obj_col, entity_col = q("key"), q("object_id"), q("entity")
    batch_size = (connection.features.max_query_params or 30_000) - 10
    common: set[int] = set()
    owners: dict[int, set[int]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(hashes), batch_size):
            batch = hashes[start : start + batch_size]
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(
                f"SELECT {key_col} FROM {table} WHERE {entity_col} = %s "  # noqa: S608
                f"AND {key_col} IN ({marks}) GROUP BY {key_col} HAVING COUNT(*) > %s",
                [kind.entity, *batch, MAX_KEY_OWNERS],
            )
            common.update(row[0] for row in cursor.fetchall())
            useful = [h for h in batch if h not in common]
            if not useful:
                continue
            marks = ", ".join(["%s"] * len(useful))
            cursor.execute(
                f"SELECT {key_col}, {obj_col} FROM {table} WHERE {entity_col} = %s "  # noqa: S608
                f"AND {key_col} IN ({marks})",
                [kind.entity, *useful],
            )
            for key, obj_id in cursor.fetchall():
                owners.setdefault(key, set()).add(obj_id)
    return owners


def candidates_for(kind: Kind, row: dict, *, exclude_id: int | None = None) -> list[Match]:
    """The stored records that share a blocking key with ``row``, scored."""
    feats = kind.features(row)
    hashes = keys_of(kind, [feats])[0]
    if not hashes:
        return []
    owners = key_owners(kind, hashes)
    ids = sorted({i for found in owners.values() for i in found if i != exclude_id})
    ids = ids[:_CANDIDATE_LIMIT]
    if not ids:
        return []
    rows = _rows(kind, kind.model.objects.filter(id__in=ids).order_by())
    return score_against(
        kind, feats, [kind.features(r) for r in rows], candidate_ids=[r["id"] for r in rows]
    )


def _candidate_fields(kind: Kind, a_id: int, b_id: int) -> dict:
    a_id, b_id = min(a_id, b_id), max(a_id, b_id)
    if kind is PERSON:
        return {"entity": kind.entity, "person_a_id": a_id, "person_b_id": b_id}
    return {"entity": kind.entity, "company_a_id": a_id, "company_b_id": b_id}


def candidate_upsert(kind: Kind, a_id: int, b_id: int, match: Match, found_by: str) -> None:
    """Queue a pair for review unless it is queued or was decided already."""
    lookup = _candidate_fields(kind, a_id, b_id)
    if DuplicateCandidate.objects.filter(**lookup).exists():
        return
    DuplicateCandidate.objects.create(
        **lookup, probability=match.probability, reasons=match.reasons, found_by=found_by
    )


def _shares_a_key(kind: Kind, obj_id: int) -> bool | None:
    """Whether another record has one of the blocking keys stored for this one, in one
    indexed query; None when none are stored for it (the caller then computes them)."""
    q = connection.ops.quote_name
    table = q(MatchKey._meta.db_table)
    key_col, obj_col, entity_col = q("key"), q("object_id"), q("entity")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT mine.{key_col}, COUNT(other.{obj_col}) FROM {table} mine "  # noqa: S608
            f"LEFT JOIN {table} other ON other.{entity_col} = mine.{entity_col} "
            f"AND other.{key_col} = mine.{key_col} AND other.{obj_col} <> mine.{obj_col} "
            f"WHERE mine.{entity_col} = %s AND mine.{obj_col} = %s GROUP BY mine.{key_col}",
            [kind.entity, obj_id],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    return any(count for _key, count in rows)


def _intake_check(kind: Kind, obj, *, found_by: str, actor=None):
    """Check a newly created record against the database; returns the record to use (the
    existing one after an automatic merge)."""
    # Usually no other record shares a blocking key with a new one: the keys written when
    # it was saved tell so in one query, without loading and scoring anything.
    if _shares_a_key(kind, obj.id) is False:
        return obj
    row = _rows(kind, kind.model.objects.filter(id=obj.id))[0]
    matches = candidates_for(kind, row, exclude_id=obj.id)
    if not matches:
        return obj
    config = settings_get()
    best = matches[0]
    if best.probability >= config.auto_merge_threshold:
        survivor = kind.model.objects.get(id=best.other_id)
        record_merge(
            kind=kind,
            survivor=survivor,
            merged=obj,
            actor=actor,
            how=MergeHow.AUTO,
            probability=best.probability,
            reasons=best.reasons,
        )
        survivor.refresh_from_db()
        return survivor
    for match in matches:
        if match.probability >= config.review_threshold:
            candidate_upsert(kind, obj.id, match.other_id, match, found_by)
    return obj


def person_intake_check(*, person: Person, found_by: str = FoundBy.INTAKE, actor=None) -> Person:
    """The fast duplicate check for a person just created at intake. Call inside the
    intake's transaction."""
    return _intake_check(PERSON, person, found_by=found_by, actor=actor)


def company_intake_check(
    *, company: Company, found_by: str = FoundBy.INTAKE, actor=None
) -> Company:
    """The fast duplicate check for a company just created at intake."""
    return _intake_check(COMPANY, company, found_by=found_by, actor=actor)


# --- survivorship -----------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value in ("", None)


def _trust_rank(kind: Kind, obj, trust: list[str]) -> int:
    """The rank of the most trusted source among the record's leads (lower is better)."""
    from leadwerk.leads.models import Lead

    sources = set(
        Lead.objects.filter(**{kind.entity: obj}).values_list("source", flat=True).distinct()
    )
    ranks = [trust.index(s) for s in sources if s in trust]
    return min(ranks) if ranks else len(trust)


def resolve_values(
    *, kind: Kind, survivor, merged, choices: dict[str, str] | None = None
) -> dict[str, Any]:
    """The value of each field after the merge, by the configured rules; ``choices`` (field
    -> 'survivor' | 'merged') are a reviewer's decisions and win over the rules."""
    config = settings_get()
    trust = config.source_trust or DEFAULT_TRUST
    choices = choices or {}
    ranks: tuple[int, int] | None = None
    out: dict[str, Any] = {}
    for name in kind.merge_fields:
        attname = kind.model._meta.get_field(name).attname
        mine, theirs = getattr(survivor, attname), getattr(merged, attname)
        choice = choices.get(name)
        rule = config.field_rules.get(name, config.default_rule) if config.field_rules else None
        rule = rule or config.default_rule
        if choice == "merged":
            value = theirs
        elif choice == "survivor":
            value = mine
        elif _empty(mine):
            value = theirs
        elif _empty(theirs) or rule == Survivorship.SURVIVOR:
            value = mine
        elif rule == Survivorship.NEWEST:
            value = theirs if merged.updated_at > survivor.updated_at else mine
        elif rule == Survivorship.TRUSTED:
            if ranks is None:
                ranks = (
                    _trust_rank(kind, survivor, trust),
                    _trust_rank(kind, merged, trust),
                )
            value = theirs if ranks[1] < ranks[0] else mine
        else:
            value = mine
        out[attname] = value
    return out


# --- merge and unmerge ------------------------------------------------------------------


class _ExactEncoder(DjangoJSONEncoder):
    """Like Django's encoder, but datetimes keep their microseconds (an unmerge must
    restore them exactly)."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


def _snapshot(obj) -> dict:
    data = {f.attname: f.value_from_object(obj) for f in obj._meta.concrete_fields}
    return json.loads(json.dumps(data, cls=_ExactEncoder))


def _restore(model, data: dict):
    values = {}
    for f in model._meta.concrete_fields:
        if f.attname in data:
            values[f.attname] = f.to_python(data[f.attname])
    return values


def _label(obj) -> str:
    return str(obj)[:300]


def _derived(kind: Kind, values: dict) -> dict:
    """Fields computed from others: the e-mail key, phone validity, the company name key."""
    extra: dict[str, Any] = {}
    if kind is PERSON:
        extra["email_normalized"] = email_key(values.get("email", "") or "")
    else:
        extra["name_key"] = company_name_key(values.get("name", "") or "")
        if not values.get("domain") and values.get("website"):
            extra["domain"] = domain_from_website(values["website"])
    return extra


@transaction.atomic
def record_merge(
    *,
    kind: Kind,
    survivor,
    merged,
    actor=None,
    how: str = MergeHow.MANUAL,
    choices: dict[str, str] | None = None,
    probability: float | None = None,
    reasons: list | None = None,
) -> MergeRecord:
    """Merge ``merged`` into ``survivor``: every related row moves over, the fields follow
    the survivorship rules (and the reviewer's choices), the merge goes on the timeline,
    and a snapshot makes it undoable. ``merged`` is deleted."""
    if survivor.pk == merged.pk:
        raise DomainValidationError(
            [FieldError(("merged",), _("A record cannot be merged with itself."))]
        )
    model = kind.model
    survivor = model.objects.select_for_update().get(pk=survivor.pk)
    merged = model.objects.select_for_update().get(pk=merged.pk)
    snapshot = {"survivor": _snapshot(survivor), "merged": _snapshot(merged)}
    values = resolve_values(kind=kind, survivor=survivor, merged=merged, choices=choices)
    values.update(_derived(kind, values))
    if kind is PERSON and values.get("phone") == merged.phone != survivor.phone:
        values["phone_valid"] = merged.phone_valid
    taken = {
        name: {"from": snapshot["survivor"].get(name), "to": value}
        for name, value in values.items()
        if getattr(survivor, name) != value
    }
    not_taken = {
        name: snapshot["merged"].get(name)
        for name in values
        if not _empty(getattr(merged, name))
        and getattr(merged, name) != values[name]
        and name not in ("email_normalized", "name_key", "phone_valid")
    }
    moves = []
    for key, handler in handlers_for(model):
        info = handler.move(source=merged, target=survivor)
        if info:
            moves.append({"key": key, "info": info})
    merged_label, merged_uuid, merged_id = _label(merged), merged.uuid, merged.pk
    MatchKey.objects.filter(entity=kind.entity, object_id=merged_id).delete()
    model.objects.filter(pk=merged_id).delete()
    for name, value in values.items():
        setattr(survivor, name, value)
    survivor.save()
    record = MergeRecord.objects.create(
        entity=kind.entity,
        survivor_id=survivor.pk,
        survivor_uuid=survivor.uuid,
        merged_id=merged_id,
        merged_uuid=merged_uuid,
        merged_label=merged_label,
        survivor_label=_label(survivor),
        snapshot=snapshot,
        moves=moves,
        values_taken=json.loads(json.dumps(taken, cls=_ExactEncoder)),
        probability=probability,
        reasons=reasons or [],
        how=how,
        actor=actor,
    )
    for uuid_, role in ((survivor.uuid, "survivor"), (merged_uuid, "merged")):
        audit_record(
            action=AuditAction.MERGE,
            object_type=kind.entity,
            object_id=uuid_,
            actor=actor,
            person=uuid_ if kind is PERSON else None,
            summary=f"{merged_label} merged into {_label(survivor)} ({how})"[:300],
            after={
                "role": role,
                "survivor": str(survivor.uuid),
                "merged": str(merged_uuid),
                "merge": str(record.uuid),
                "values_taken": record.values_taken,
            },
        )
    if kind is PERSON:
        activity_record(
            person=survivor,
            type=ActivityType.UPDATE,
            actor=actor,
            subject=_("Merged with duplicate %(name)s") % {"name": merged_label},
            payload={
                "kind": "merge",
                "merge": str(record.uuid),
                "how": how,
                "probability": probability,
                "reasons": [r["reason"] for r in (reasons or [])],
                "values_not_taken": not_taken,
            },
        )
    records_merged.send(sender=model, survivor=survivor, merged_id=merged_id, record=record)
    return record


def person_merge(*, survivor: Person, merged: Person, actor=None, **kwargs) -> MergeRecord:
    return record_merge(kind=PERSON, survivor=survivor, merged=merged, actor=actor, **kwargs)


def company_merge(*, survivor: Company, merged: Company, actor=None, **kwargs) -> MergeRecord:
    return record_merge(kind=COMPANY, survivor=survivor, merged=merged, actor=actor, **kwargs)


def _erased(*person_ids: int) -> bool:
    return Erasure.objects.filter(person_id__in=person_ids).exists()


@transaction.atomic
def merge_undo(*, record: MergeRecord, actor=None) -> tuple[models.Model, models.Model]:
    """Undo a merge: the merged record comes back with its id, its values and its related
    rows; the survivor gets its values from before the merge back (fields edited since
    the merge keep their new value and are reported on the timeline)."""
    record = MergeRecord.objects.select_for_update().get(pk=record.pk)
    if record.undone_at is not None:
        raise Conflict(_("This merge was undone already."), code="merge_undone")
    kind = KINDS[record.entity]
    model = kind.model
    if kind is PERSON and _erased(record.survivor_id, record.merged_id):
        # The snapshots hold no values any more; undoing would make up a person.
        raise Conflict(
            _("This merge involves an erased person and cannot be undone."), code="person_erased"
        )
    later = MergeRecord.objects.filter(
        entity=record.entity, merged_id=record.survivor_id, undone_at__isnull=True
    ).exists()
    survivor = model.objects.select_for_update().filter(pk=record.survivor_id).first()
    if survivor is None or later:
        raise Conflict(
            _("The surviving record was merged or deleted since; undo that first."),
            code="survivor_gone",
        )
    before = _restore(model, record.snapshot["survivor"])
    kept: dict[str, Any] = {}
    for name, change in record.values_taken.items():
        current = getattr(survivor, name)
        to_value = model._meta.get_field(name).to_python(change["to"])
        if current == to_value:
            setattr(survivor, name, before[name])
        else:
            kept[name] = current
    survivor.save()
    if not kept:
        model.objects.filter(pk=survivor.pk).update(updated_at=before["updated_at"])
    merged_values = _restore(model, record.snapshot["merged"])
    merged = model(**merged_values)
    merged.save(force_insert=True)
    model.objects.filter(pk=merged.pk).update(updated_at=merged_values["updated_at"])
    for move in reversed(record.moves):
        handler = handler_by_key(model, move["key"])
        if handler is not None:
            handler.undo(source=merged, target=survivor, info=move["info"])
    record.undone_at = timezone.now()
    record.undone_by = actor
    record.save(update_fields=["undone_at", "undone_by"])
    if kind is PERSON:
        payload = {"kind": "unmerge", "merge": str(record.uuid)}
        if kept:
            payload["kept_values_changed_since"] = json.loads(
                json.dumps(kept, cls=DjangoJSONEncoder, default=str)
            )
        for person, other in ((survivor, merged), (merged, survivor)):
            activity_record(
                person=person,
                type=ActivityType.UPDATE,
                actor=actor,
                subject=_("Merge with %(name)s undone") % {"name": _label(other)},
                payload=payload,
            )
    for obj in (survivor, merged):
        audit_record(
            action=AuditAction.UPDATE,
            object_type=kind.entity,
            object_id=obj.uuid,
            actor=actor,
            person=obj.uuid if kind is PERSON else None,
            summary=f"merge of {record.merged_label} into {record.survivor_label} undone"[:300],
            after={"merge": str(record.uuid), "kept_values_changed_since": sorted(kept)},
        )
    records_unmerged.send(sender=model, survivor=survivor, merged=merged, record=record)
    survivor.refresh_from_db()
    merged.refresh_from_db()
    return survivor, merged


# --- review decisions -------------------------------------------------------------------


@transaction.atomic
def candidate_decide(
    *,
    candidate: DuplicateCandidate,
    actor,
    merge: bool,
    survivor_side: str = "a",
    choices: dict[str, str] | None = None,
) -> MergeRecord | None:
    """A reviewer's decision on a queued pair: merge it (keeping record ``survivor_side``,
    with per-field ``choices`` of 'a' or 'b'), or mark it as not a duplicate."""
    candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status != CandidateStatus.OPEN:
        raise Conflict(_("This pair was decided already."), code="candidate_decided")
    kind = KINDS[candidate.entity]
    if not merge:
        candidate.status = CandidateStatus.DISMISSED
        candidate.decided_at = timezone.now()
        candidate.decided_by = actor
        candidate.save(update_fields=["status", "decided_at", "decided_by"])
        candidate_dismissed.send(sender=DuplicateCandidate, candidate=candidate, actor=actor)
        return None
    a, b = candidate.a, candidate.b
    survivor, merged = (a, b) if survivor_side != "b" else (b, a)
    side_of = {"a": "survivor" if survivor_side != "b" else "merged"}
    side_of["b"] = "merged" if side_of["a"] == "survivor" else "survivor"
    mapped = {name: side_of[side] for name, side in (choices or {}).items() if side in side_of}
    probability, reasons = candidate.probability, candidate.reasons
    return record_merge(
        kind=kind,
        survivor=survivor,
        merged=merged,
        actor=actor,
        how=MergeHow.MANUAL,
        choices=mapped,
        probability=probability,
        reasons=reasons,
    )


# --- the full check ---------------------------------------------------------------------


@dataclass
class RunStats:
    entity: str
    records: int = 0
    pairs_compared: int = 0
    queued: int = 0
    merged: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _iter_rows(kind: Kind, batch: int = 20_000) -> Iterable[list[dict]]:
    last = 0
    while True:
        rows = _rows(kind, kind.model.objects.filter(id__gt=last).order_by("id")[:batch])
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


def dedup_run(
    *,
    entity: str,
    auto_merge: bool = True,
    actor=None,
    progress: Callable[[str], None] | None = None,
) -> RunStats:
    """Check the whole database for duplicates of one kind: refresh every record's blocking
    keys, compare all blocked pairs, queue the doubtful ones for review and merge the
    certain ones (into the oldest record of each group)."""
    import time

    kind = KINDS[entity]
    stats = RunStats(entity=entity)
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    ids: list[int] = []
    feature_rows: list[dict] = []
    for rows in _iter_rows(kind):
        ids.extend(r["id"] for r in rows)
        feature_rows.extend(kind.features(r) for r in rows)
    stats.records = len(ids)
    say(f"{len(ids)} records read")
    stats.seconds["read"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    feats = engine.features_from_rows(feature_rows, kind.names)
    del feature_rows
    i, j = engine.candidate_pairs(
        feats, kind.scheme.blocking, max_block=kind.scheme.max_block, window=kind.scheme.window
    )
    stats.pairs_compared = len(i)
    scored = engine.score(kind.scheme, feats, i, j)
    stats.seconds["compare"] = time.perf_counter() - t1
    say(f"{len(i)} pairs compared")
    t2 = time.perf_counter()
    _keys_rebuild(kind, ids, feats)
    stats.seconds["keys"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    config = settings_get()
    ids_arr = np.asarray(ids, dtype=np.int64)
    doubtful = np.nonzero(
        (scored.probability >= config.review_threshold)
        & ((scored.probability < config.auto_merge_threshold) | (not auto_merge))
    )[0]
    decided = _decided_pairs(kind)
    new_candidates = []
    for idx in doubtful.tolist():
        a, b = int(ids_arr[scored.i[idx]]), int(ids_arr[scored.j[idx]])
        if (min(a, b), max(a, b)) in decided:
            continue
        new_candidates.append(
            DuplicateCandidate(
                **_candidate_fields(kind, a, b),
                probability=float(scored.probability[idx]),
                reasons=engine.reasons(kind.scheme, scored.levels[idx]),
                found_by=FoundBy.JOB,
            )
        )
    with transaction.atomic():
        DuplicateCandidate.objects.bulk_create(
            new_candidates, batch_size=1000, ignore_conflicts=True
        )
    stats.queued = len(new_candidates)
    stats.seconds["queue"] = time.perf_counter() - t3
    say(f"{stats.queued} pairs queued for review")
    if auto_merge:
        t4 = time.perf_counter()
        certain = np.nonzero(scored.probability >= config.auto_merge_threshold)[0]
        stats.merged = _merge_clusters(kind, ids_arr, scored, certain, actor)
        stats.seconds["merge"] = time.perf_counter() - t4
        say(f"{stats.merged} records merged automatically")
    return stats


def _decided_pairs(kind: Kind) -> set[tuple[int, int]]:
    a, b = ("person_a_id", "person_b_id") if kind is PERSON else ("company_a_id", "company_b_id")
    return set(DuplicateCandidate.objects.filter(entity=kind.entity).values_list(a, b))


def _keys_rebuild(kind: Kind, ids: list[int], feats: engine.Features) -> None:
    """Bring the stored blocking keys in line with the records: in batches, keys that are
    stored already stay, missing ones are added, outdated ones removed (a repeated full
    check writes next to nothing); keys of records that no longer exist are dropped."""
    all_keys = engine.all_block_keys(feats, kind.scheme.blocking)
    q = connection.ops.quote_name
    table = q(MatchKey._meta.db_table)
    entity_col, obj_col, key_col = q("entity"), q("object_id"), q("key")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE {entity_col} = %s AND {obj_col} NOT IN "  # noqa: S608
                f"(SELECT id FROM {q(kind.model._meta.db_table)})",
                [kind.entity],
            )
        step = min(5000, (connection.features.max_query_params or 30_000) - 10)
        for start in range(0, len(ids), step):
            part = ids[start : start + step]
            wanted = {
                (obj_id, key_hash(k))
                for obj_id, ks in zip(part, all_keys[start : start + step], strict=True)
                for k in ks
            }
            with connection.cursor() as cursor:
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(
                    f"SELECT {obj_col}, {key_col} FROM {table} WHERE {entity_col} = %s "  # noqa: S608
                    f"AND {obj_col} IN ({marks})",
                    [kind.entity, *part],
                )
                stored = set(cursor.fetchall())
                outdated = stored - wanted
                if outdated:
                    cursor.executemany(
                        f"DELETE FROM {table} WHERE {entity_col} = %s AND {obj_col} = %s "  # noqa: S608
                        f"AND {key_col} = %s",
                        [(kind.entity, o, k) for o, k in outdated],
                    )
                missing = sorted(wanted - stored)
                if missing:
                    cursor.executemany(
                        f"INSERT INTO {table} ({entity_col}, {obj_col}, {key_col}) "  # noqa: S608
                        "VALUES (%s, %s, %s)",
                        [(kind.entity, o, k) for o, k in missing],
                    )


def _merge_clusters(kind: Kind, ids_arr, scored: engine.Scored, certain, actor) -> int:
    """Merge every group of certain duplicates into its oldest record (lowest id)."""
    if len(certain) == 0:
        return 0
    groups = engine.clusters(len(ids_arr), scored.i[certain], scored.j[certain])
    best = {}
    for idx in certain.tolist():
        a, b = int(scored.i[idx]), int(scored.j[idx])
        best[(a, b)] = idx
    merged = 0
    for group in groups:
        members = sorted(group, key=lambda g: ids_arr[g])
        survivor_ix = members[0]
        for other_ix in members[1:]:
            idx = best.get((min(survivor_ix, other_ix), max(survivor_ix, other_ix)))
            probability = float(scored.probability[idx]) if idx is not None else None
            reason_list = engine.reasons(kind.scheme, scored.levels[idx]) if idx is not None else []
            survivor = kind.model.objects.filter(id=int(ids_arr[survivor_ix])).first()
            other = kind.model.objects.filter(id=int(ids_arr[other_ix])).first()
            if survivor is None or other is None:
                continue
            record_merge(
                kind=kind,
                survivor=survivor,
                merged=other,
                actor=actor,
                how=MergeHow.AUTO,
                probability=probability,
                reasons=reason_list,
            )
            merged += 1
    return merged


def last_run_at(entity: str):
    return DuplicateCandidate.objects.filter(entity=entity, found_by=FoundBy.JOB).aggregate(
        at=Max("created_at")
    )["at"]


def open_candidates_q() -> Q:
    return Q(status=CandidateStatus.OPEN)


def dedup_settings_save(
    *,
    auto_merge_threshold: float,
    review_threshold: float,
    default_rule: str | None = None,
    field_rules: dict[str, str] | None = None,
    source_trust: list[str] | None = None,
) -> DedupSettings:
    """Change the thresholds (the review threshold must not be above the automatic one) and,
    if given, the survivorship rules."""
    if not 0 < review_threshold <= auto_merge_threshold <= 1:
        raise DomainValidationError(
            [
                FieldError(
                    ("review_threshold",),
                    _("the review threshold must be between 0 and the automatic threshold"),
                )
            ]
        )
    config = DedupSettings.objects.order_by("id").first() or DedupSettings(
        source_trust=DEFAULT_TRUST
    )
    bad = [
        r
        for r in [default_rule, *(field_rules or {}).values()]
        if r and r not in Survivorship.values
    ]
    if bad:
        raise DomainValidationError([FieldError(("rules",), _("unknown rule: %s") % bad[0])])
    config.auto_merge_threshold = auto_merge_threshold
    config.review_threshold = review_threshold
    if default_rule:
        config.default_rule = default_rule
    if field_rules is not None:
        config.field_rules = field_rules
    if source_trust is not None:
        config.source_trust = source_trust
    config.save()
    return config
