"""Keep the blocking keys of people and companies current when a record is saved or deleted
anywhere (bulk writes refresh them themselves; the full check rebuilds them all)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from leadwerk.contacts.models import Company, Person

from .choices import Entity
from .models import MatchKey
from .registry import SKIP, register

# Candidate pairs of a merged record are obsolete; they go with it (the merge record keeps
# the history).
for _side in ("person_a", "person_b", "company_a", "company_b"):
    register("dedup.DuplicateCandidate", _side, SKIP)

_IRRELEVANT = frozenset({"updated_at"})


@receiver(post_save, sender=Person)
@receiver(post_save, sender=Company)
def _refresh_keys(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    if update_fields is not None and set(update_fields) <= _IRRELEVANT:
        return
    from .services import COMPANY, PERSON, match_keys_refresh

    match_keys_refresh(PERSON if sender is Person else COMPANY, [instance.pk], fresh=created)


@receiver(post_delete, sender=Person)
@receiver(post_delete, sender=Company)
def _drop_keys(sender, instance, **kwargs):
    entity = Entity.PERSON if sender is Person else Entity.COMPANY
    MatchKey.objects.filter(entity=entity, object_id=instance.pk).delete()
