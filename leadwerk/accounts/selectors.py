"""Reads of users and teams."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .choices import Role
from .models import Team, User

# Roles that see every lead, person and company.
WIDE_ROLES = (Role.ADMIN, Role.MARKETING, Role.INSIDE_SALES)


def user_sees_everything(user: User) -> bool:
    return user.is_active and (user.is_superuser or user.has_role(*WIDE_ROLES))


def user_assignable_list(*, user: User) -> QuerySet[User]:
    """Users a lead can be assigned to, as far as ``user`` may choose them."""
    qs = User.objects.filter(is_active=True).select_related("team", "partner")
    if user_sees_everything(user):
        return qs
    if user.has_role(Role.SALES_MANAGER):
        return qs.filter(Q(team__in=Team.objects.filter(manager=user)) | Q(pk=user.pk))
    return qs.filter(pk=user.pk)


def team_ids_managed_by(user: User) -> list[int]:
    return list(Team.objects.filter(manager=user).values_list("id", flat=True))
