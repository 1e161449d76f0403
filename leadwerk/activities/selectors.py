"""Reads of the timeline, scoped to the acting user (the one door): activities of leads the
user may see, and restricted notes only for their author, the lead's owner, the managers of
its team and admins (marketing sees everything else)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from leadwerk.accounts.choices import Role
from leadwerk.accounts.selectors import team_ids_managed_by, user_sees_everything

from .models import Activity


def restricted_visible_q(user) -> Q | None:
    """Which restricted notes ``user`` may read; None means all of them."""
    if user.is_superuser or user.has_role(Role.ADMIN):
        return None
    q = Q(restricted=False) | Q(actor=user) | Q(lead__owner=user)
    if user.has_role(Role.SALES_MANAGER):
        teams = team_ids_managed_by(user)
        q |= Q(lead__team_id__in=teams) | Q(lead__owner__team_id__in=teams)
    return q


def activity_scope(*, user) -> QuerySet[Activity]:
    """Every activity ``user`` may see."""
    from leadwerk.leads.selectors import lead_scope

    if not user.is_authenticated or not user.is_active:
        return Activity.objects.none()
    qs = Activity.objects.all()
    if not user_sees_everything(user):
        qs = qs.filter(lead__in=lead_scope(user=user))
    restricted = restricted_visible_q(user)
    return qs if restricted is None else qs.filter(restricted)


def activity_timeline(*, user, lead=None, person=None, limit: int = 200) -> QuerySet[Activity]:
    """Newest first, for one lead or one person, as far as ``user`` may see them."""
    qs = activity_scope(user=user).select_related("actor", "lead__channel")
    if lead is not None:
        qs = qs.filter(lead=lead)
    elif person is not None:
        qs = qs.filter(person=person)
    else:
        raise ValueError("pass a lead or a person")
    return qs.order_by("-occurred_at", "-id")[:limit]
