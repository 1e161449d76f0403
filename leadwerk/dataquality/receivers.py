"""Points for reviewing duplicates: a manual merge earns them, undoing it takes them back,
saying 'not a duplicate' earns a few."""

from __future__ import annotations

from django.dispatch import receiver

from leadwerk.contacts.models import Person
from leadwerk.dedup.choices import MergeHow
from leadwerk.dedup.services import candidate_dismissed, records_merged, records_unmerged

from .choices import POINTS, CareAction
from .services import points_award


def _target(sender, record_obj):
    return {"person": record_obj} if sender is Person else {"company": record_obj}


@receiver(records_merged)
def _merged(sender, survivor, merged_id, record, **kwargs):
    if record.how == MergeHow.MANUAL and record.actor is not None:
        points_award(
            user=record.actor,
            action=CareAction.MERGE,
            detail=record.merged_label,
            **_target(sender, survivor),
        )


@receiver(records_unmerged)
def _unmerged(sender, survivor, merged, record, **kwargs):
    if record.how == MergeHow.MANUAL and record.actor is not None:
        points_award(
            user=record.actor,
            action=CareAction.UNMERGE,
            points=-POINTS[CareAction.MERGE],
            detail=record.merged_label,
            **_target(sender, survivor),
        )


@receiver(candidate_dismissed)
def _dismissed(sender, candidate, actor, **kwargs):
    points_award(
        user=actor,
        action=CareAction.DISMISS,
        person=candidate.person_a,
        company=candidate.company_a,
        detail="not a duplicate",
    )
