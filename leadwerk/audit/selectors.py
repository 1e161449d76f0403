"""Reads of the audit log: only auditors (and admins) may search it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from leadwerk.accounts.choices import Role

from .models import AuditEntry


def user_may_audit(user) -> bool:
    return bool(
        user.is_authenticated and user.is_active and user.has_role(Role.AUDITOR, Role.ADMIN)
    )


@dataclass
class AuditFilters:
    q: str = ""
    action: str = ""
    object_type: str = ""
    actor: str = ""  # username
    object_id: str = ""  # an object's or a person's public id
    at_from: datetime | None = None
    at_to: datetime | None = None


def audit_search(*, user, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Entries matching ``filters``, newest first; none for users who may not audit."""
    if not user_may_audit(user):
        return AuditEntry.objects.none()
    f = filters
    qs = AuditEntry.objects.all()
    if f.action:
        qs = qs.filter(action=f.action)
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
    if f.actor:
        qs = qs.filter(actor_label__iexact=f.actor)
    if f.object_id:
        qs = qs.filter(Q(object_id=f.object_id) | Q(person_uuid=_uuid_or_none(f.object_id)))
    if f.at_from:
        qs = qs.filter(at__gte=f.at_from)
    if f.at_to:
        qs = qs.filter(at__lt=f.at_to)
    for word in f.q.split()[:5]:
        qs = qs.filter(
            Q(summary__icontains=word) | Q(actor_label__icontains=word) | Q(object_id=word)
        )
    return qs.order_by("-at", "-id")


def _uuid_or_none(value: str):
    from uuid import UUID

    try:
        return UUID(value)
    except ValueError:
        return None


def audit_object_types() -> list[str]:
    return list(
        AuditEntry.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    )
