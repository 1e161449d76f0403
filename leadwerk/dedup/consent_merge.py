"""Merging people who both have consent states: the stricter state wins.

Consent records (the history) simply follow the person (the default mover). The current
state per purpose and channel (``consent.ConsentStatus``, one row per person, purpose and
channel) needs a rule: when both people have a state for the same purpose and channel, the
survivor keeps the stricter one (withdrawn before pending before granted); with equal
strictness the newer one. Unmerge restores both rows exactly.
"""

from __future__ import annotations

from django.core import serializers

STRICTNESS = {"withdrawn": 3, "pending": 2, "granted": 1}
_FIELDS = ("state", "legal_basis", "record_id", "updated_at")


class StricterConsentWins:
    def __init__(self, model):
        self.model = model

    def move(self, *, source, target) -> dict:
        qs = self.model._base_manager
        theirs = list(qs.filter(person=source))
        if not theirs:
            return {}
        mine = {(s.purpose, s.channel): s for s in qs.filter(person=target)}
        moved, replaced, removed = [], [], []
        for status in theirs:
            current = mine.get((status.purpose, status.channel))
            if current is None:
                qs.filter(pk=status.pk).update(person=target)
                moved.append(status.pk)
                continue
            stricter = (STRICTNESS.get(status.state, 0), status.updated_at) > (
                STRICTNESS.get(current.state, 0),
                current.updated_at,
            )
            if stricter:
                replaced.append(serializers.serialize("json", [current]))
                qs.filter(pk=current.pk).update(**{f: getattr(status, f) for f in _FIELDS})
            removed.append(serializers.serialize("json", [status]))
            status.delete()
        return {"moved": moved, "replaced": replaced, "removed": removed}

    def undo(self, *, source, target, info) -> None:
        qs = self.model._base_manager
        if info.get("moved"):
            qs.filter(pk__in=info["moved"]).update(person=source)
        for data in info.get("replaced", []):
            for obj in serializers.deserialize("json", data):
                qs.filter(pk=obj.object.pk).update(**{f: getattr(obj.object, f) for f in _FIELDS})
        for data in info.get("removed", []):
            for obj in serializers.deserialize("json", data):
                obj.save()


def register_consent_rule() -> None:
    from django.apps import apps

    from .registry import register

    if apps.is_installed("leadwerk.consent"):
        model = apps.get_model("consent", "ConsentStatus")
        register("consent.ConsentStatus", "person", StricterConsentWins(model))
