"""Scores follow merges: a merged person's events now count for the survivor's leads, a
merged company's profile is now the survivor's, and an unmerge splits them again."""

from __future__ import annotations

from django.dispatch import receiver

from leadwerk.contacts.models import Company, Person
from leadwerk.dedup.services import records_merged, records_unmerged

from .services import persons_rescore


def _persons(sender, *records) -> list[int]:
    if sender is Person:
        return [r.pk for r in records]
    if sender is Company:
        return list(Person.objects.filter(company__in=records).values_list("pk", flat=True))
    return []


@receiver(records_merged)
def _merged(sender, survivor, merged_id, record, **kwargs):
    persons_rescore(person_ids=_persons(sender, survivor))


@receiver(records_unmerged)
def _unmerged(sender, survivor, merged, record, **kwargs):
    persons_rescore(person_ids=_persons(sender, survivor, merged))
