"""What duplicate handling holds about a person, for the data-subject export and the erasure.

- ``MatchKey``: hashed blocking keys of the person's name, e-mail address and phone number.
- ``DuplicateCandidate``: pairs with the person still to review (the reasons name only the
  compared fields, e.g. "same e-mail address").
- ``MergeRecord``: labels (the names) and JSON snapshots of both records of a merge, and the
  values taken over. A record merged INTO the person was the same human being, so its
  snapshot is theirs too, and so on down the chain of merges; its values are further
  identifiers of the person (removed everywhere, the audit log of the merged record
  included).

Erasure deletes the blocking keys and the open review pairs, blanks the person's values in
every merge snapshot and label (the merge history, how and when, stays), and a merge with an
erased person can no longer be undone (``merge_undo`` refuses), so nothing comes back.
"""

from __future__ import annotations

from django.db.models import Q

from leadwerk.audit.services import audit_redact_person
from leadwerk.contacts.models import Person
from leadwerk.privacy.builtin_sections import ERASED_PERSON_VALUES
from leadwerk.privacy.registry import REDACTED, ErasureContext, register_section

from .choices import CandidateStatus, Entity
from .models import DuplicateCandidate, MatchKey, MergeRecord

SURVIVOR, MERGED = "survivor", "merged"


def person_merges(person: Person) -> list[tuple[MergeRecord, set[str]]]:
    """The merge records that hold the person's values, each with the sides that are the
    person: the survivor side of their merges; the merged side too while the merge stands
    (that record became the person), following merges into merged records; the merged side
    of an undone merge of the person into someone else."""
    ids = {person.pk}
    found: dict[int, tuple[MergeRecord, set[str]]] = {}
    frontier = {person.pk}
    while frontier:
        records = MergeRecord.objects.filter(entity=Entity.PERSON).filter(
            Q(survivor_id__in=frontier) | Q(merged_id__in=frontier)
        )
        frontier = set()
        for record in records.order_by("created_at", "id"):
            sides = found.setdefault(record.pk, (record, set()))[1]
            if record.survivor_id in ids:
                sides.add(SURVIVOR)
                if record.undone_at is None:
                    sides.add(MERGED)
                    if record.merged_id not in ids:
                        ids.add(record.merged_id)
                        frontier.add(record.merged_id)
            if record.merged_id in ids and record.undone_at is not None:
                sides.add(MERGED)
    return list(found.values())


def _name(values: dict) -> str:
    return " ".join(str(values.get(k) or "") for k in ("first_name", "last_name")).strip()


def dedup_identifiers(person: Person) -> list[str]:
    """The names, addresses and numbers of records merged into the person."""
    out: list[str] = []
    for record, sides in person_merges(person):
        if MERGED in sides and record.merged_id != person.pk:
            values = record.snapshot.get(MERGED, {})
            out += [str(values.get(k) or "") for k in ("first_name", "last_name", "email")]
            out += [str(values.get(k) or "") for k in ("email_normalized", "phone")]
            out.append(_name(values))
            out.append(record.merged_label)
    return [v for v in out if v and v != REDACTED]


def dedup_export(person: Person) -> dict:
    merges = []
    for record, sides in person_merges(person):
        merges.append(
            {
                "id": str(record.uuid),
                "at": record.created_at.isoformat(),
                "how": record.how,
                "probability": record.probability,
                "reasons": [r.get("reason") for r in record.reasons if isinstance(r, dict)],
                "undone_at": record.undone_at.isoformat() if record.undone_at else None,
                "records": {side: record.snapshot.get(side, {}) for side in sorted(sides)},
                "values_taken": record.values_taken if sides == {SURVIVOR, MERGED} else {},
            }
        )
    pairs = DuplicateCandidate.objects.filter(
        Q(person_a=person) | Q(person_b=person), entity=Entity.PERSON
    )
    return {
        "merges": merges,
        "possible_duplicates": [
            {
                "id": str(c.uuid),
                "status": c.status,
                "probability": c.probability,
                "reasons": [r.get("reason") for r in c.reasons if isinstance(r, dict)],
                "found_at": c.created_at.isoformat(),
            }
            for c in pairs.order_by("created_at", "id")
        ],
    }


def _blank(values: dict, ctx: ErasureContext) -> dict:
    return {k: ERASED_PERSON_VALUES.get(k, ctx.scrub(v)) for k, v in values.items()}


def dedup_erase(ctx: ErasureContext) -> int:
    person = ctx.person
    changed = MatchKey.objects.filter(entity=Entity.PERSON, object_id=person.pk).delete()[0]
    changed += DuplicateCandidate.objects.filter(
        Q(person_a=person) | Q(person_b=person),
        entity=Entity.PERSON,
        status=CandidateStatus.OPEN,
    ).delete()[0]
    merged_in = set()
    for record, sides in person_merges(person):
        snapshot = dict(record.snapshot)
        for side in sides:
            snapshot[side] = _blank(snapshot.get(side, {}), ctx)
        if sides == {SURVIVOR, MERGED}:
            taken = {
                name: {k: ERASED_PERSON_VALUES.get(name, ctx.scrub(v)) for k, v in change.items()}
                for name, change in record.values_taken.items()
            }
        else:
            taken = ctx.scrub(record.values_taken)
        MergeRecord.objects.filter(pk=record.pk).update(
            snapshot=snapshot,
            values_taken=taken,
            moves=ctx.scrub(record.moves),  # rows removed in the merge are kept serialised
            reasons=ctx.scrub(record.reasons),
            survivor_label=REDACTED if SURVIVOR in sides else ctx.scrub(record.survivor_label),
            merged_label=REDACTED if MERGED in sides else ctx.scrub(record.merged_label),
        )
        if MERGED in sides and record.merged_uuid != person.uuid:
            merged_in.add(record.merged_uuid)
        changed += 1
    # The audit entries of a record merged into the person name the person too.
    for merged_uuid in merged_in:
        audit_redact_person(person_uuid=merged_uuid, values=[*ctx.values, *ctx.addresses])
    return changed


def register() -> None:
    register_section(
        "duplicates",
        export=dedup_export,
        erase=dedup_erase,
        identifiers=dedup_identifiers,
        order=60,
    )
