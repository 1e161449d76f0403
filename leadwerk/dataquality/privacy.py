"""What data quality holds about a person, for the data-subject export and the erasure.

- ``RecordFlag``: a value known to be wrong as it was given (a bounced e-mail address, a
  phone number that does not parse) with the reason and where it was found.
- ``CarePoints``: points users earned for caring for the person's record; ``detail`` may
  name the person (a merge books the merged record's name).
- ``Verification``: only who confirmed the record and when (no personal value).

Erasure keeps the rows (flag counts by kind, the leaderboard's points) and removes the
values: a flag's value goes, its reason and source are scrubbed, and open flags are
resolved (the address they were about is gone); care-point details are scrubbed. An erased
person is no data-care task any more (``selectors.care_tasks`` and the worst-records list
leave them out), so nobody is asked to fill their data in again.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from leadwerk.contacts.models import Person
from leadwerk.privacy.registry import ErasureContext, register_section

from .models import CarePoints, RecordFlag, Verification
from .selectors import person_quality


def _dt(value):
    return value.isoformat() if value else None


def quality_export(person: Person) -> dict:
    quality = person_quality(person=person)
    return {
        "completeness": round(quality["score"], 3),
        "missing": [name for name, _label in quality["missing"]],
        "flags": [
            {
                "field": f.field,
                "kind": f.kind,
                "value": f.value,
                "reason": f.reason,
                "found_by": f.source,
                "at": _dt(f.created_at),
                "resolved_at": _dt(f.resolved_at),
            }
            for f in RecordFlag.objects.filter(person=person).order_by("created_at", "id")
        ],
        "verified_at": [
            _dt(at)
            for at in Verification.objects.filter(person=person)
            .order_by("verified_at", "id")
            .values_list("verified_at", flat=True)
        ],
        "care": [
            {"action": p.action, "detail": p.detail, "at": _dt(p.occurred_at)}
            for p in CarePoints.objects.filter(person=person).order_by("occurred_at", "id")
        ],
    }


def quality_erase(ctx: ErasureContext) -> int:
    changed = 0
    now = timezone.now()
    for flag in RecordFlag.objects.filter(person=ctx.person):
        RecordFlag.objects.filter(pk=flag.pk).update(
            value="",
            reason=ctx.scrub(flag.reason),
            source=ctx.scrub(flag.source),
            resolved_at=flag.resolved_at or now,
            resolved_by_id=(
                flag.resolved_by_id if flag.resolved_at else getattr(ctx.actor, "pk", None)
            ),
        )
        changed += 1
    # Points for a record merged into the person (or undone since) may name them elsewhere.
    quoted = Q(person=ctx.person)
    for value in ctx.strong:
        quoted |= Q(detail__icontains=value)
    for points in CarePoints.objects.filter(quoted).exclude(detail=""):
        detail = ctx.scrub(points.detail)
        if detail != points.detail:
            CarePoints.objects.filter(pk=points.pk).update(detail=detail)
            changed += 1
    return changed


def register() -> None:
    register_section("data_quality", export=quality_export, erase=quality_erase, order=70)
