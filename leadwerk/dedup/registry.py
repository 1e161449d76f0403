"""Related rows that follow a record when it is merged into another, and back on unmerge.

By default every row of every table that points at the merged person or company (found by
introspection, so a new app's tables are covered without touching this module) is moved to
the surviving record. A row that cannot move because a unique constraint already holds the
survivor's equivalent (one consent per purpose, say) is serialised into the merge record
and removed, and comes back on unmerge.

Apps with their own rules register a handler in their ``AppConfig.ready()``::

    from leadwerk.dedup.registry import register

    class StricterConsentWins:
        def move(self, *, source, target) -> dict: ...      # returns JSON undo info
        def undo(self, *, source, target, info: dict) -> None: ...

    register("privacy.Consent", "person", StricterConsentWins())

``register(label, field, SKIP)`` leaves rows alone (they go with the merged record).
"""

from __future__ import annotations

from typing import Protocol

from django.apps import apps
from django.core import serializers
from django.db import IntegrityError, models, transaction


class RelatedRows(Protocol):
    def move(self, *, source: models.Model, target: models.Model) -> dict: ...

    def undo(self, *, source: models.Model, target: models.Model, info: dict) -> None: ...


class _Skip:
    def move(self, *, source, target) -> dict:
        return {}

    def undo(self, *, source, target, info) -> None:
        return None


SKIP = _Skip()
_handlers: dict[tuple[str, str], RelatedRows] = {}


def register(model_label: str, field_name: str, handler: RelatedRows) -> None:
    """Use ``handler`` for rows of ``model_label`` (e.g. 'privacy.Consent') whose
    ``field_name`` points at the merged record."""
    _handlers[(model_label.lower(), field_name)] = handler


class MoveRows:
    """The default: point the rows at the survivor; rows that a unique constraint refuses
    are kept serialised in the undo info and removed."""

    def __init__(self, model: type[models.Model], field_name: str):
        self.model = model
        self.field_name = field_name

    def _qs(self):
        return self.model._base_manager.all()

    def move(self, *, source, target) -> dict:
        qs = self._qs().filter(**{self.field_name: source})
        pks = list(qs.values_list("pk", flat=True))
        if not pks:
            return {}
        try:
            with transaction.atomic():
                self._qs().filter(pk__in=pks).update(**{self.field_name: target})
            return {"moved": pks}
        except IntegrityError:
            pass
        moved, removed = [], []
        for pk in pks:
            try:
                with transaction.atomic():
                    self._qs().filter(pk=pk).update(**{self.field_name: target})
                moved.append(pk)
            except IntegrityError:
                obj = self._qs().get(pk=pk)
                removed.append(serializers.serialize("json", [obj]))
                obj.delete()
        return {"moved": moved, "removed": removed}

    def undo(self, *, source, target, info) -> None:
        if info.get("moved"):
            self._qs().filter(pk__in=info["moved"]).update(**{self.field_name: source})
        for data in info.get("removed", []):
            for restored in serializers.deserialize("json", data):
                restored.save()


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def handlers_for(model: type[models.Model]) -> list[tuple[str, RelatedRows]]:
    """(key, handler) for every relation pointing at ``model``, registered or discovered,
    in a stable order."""
    found: list[tuple[str, RelatedRows]] = []
    for rel in model._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and rel.is_relation):
            continue
        if rel.many_to_many:
            through = rel.through
            fk = next(
                f
                for f in through._meta.fields
                if f.is_relation and f.related_model is model and f.model is through
            )
            related, field_name = through, fk.name
        else:
            related, field_name = rel.related_model, rel.field.name
        key = (_label(related), field_name)
        handler = _handlers.get(key) or MoveRows(related, field_name)
        found.append((f"{key[0]}.{key[1]}", handler))
    # Registered handlers for models that exist only by label (e.g. generic relations).
    for (label, field_name), handler in _handlers.items():
        name = f"{label}.{field_name}"
        if name not in {k for k, _ in found}:
            try:
                related = apps.get_model(label)
            except LookupError:
                continue
            field = related._meta.get_field(field_name)
            if getattr(field, "related_model", None) is model:
                found.append((name, handler))
    return sorted(found, key=lambda item: item[0])


def handler_by_key(model: type[models.Model], key: str) -> RelatedRows | None:
    return dict(handlers_for(model)).get(key)
