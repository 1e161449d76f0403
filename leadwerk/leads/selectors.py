"""Reads of leads, always scoped to what the acting user may see (the one door)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from leadwerk.accounts.choices import Role
from leadwerk.accounts.selectors import team_ids_managed_by, user_sees_everything

from .choices import Stage
from .models import Lead, WebForm

# Stages sort in lifecycle order, not alphabetically.
_STAGE_ORDER = Case(
    *(When(stage=stage, then=Value(i)) for i, stage in enumerate(Stage.values)),
    default=Value(len(Stage.values)),
    output_field=IntegerField(),
)
# Leads without a company or owner come last in both directions, on every database
# (SQLite and PostgreSQL disagree on where NULLs go by default).
SORTS = {
    "created": F("created_at").asc(),
    "-created": F("created_at").desc(),
    "stage": _STAGE_ORDER.asc(),
    "-stage": _STAGE_ORDER.desc(),
    "name": Lower("person__last_name").asc(),
    "-name": Lower("person__last_name").desc(),
    "company": Lower("company__name").asc(nulls_last=True),
    "-company": Lower("company__name").desc(nulls_last=True),
    "channel": F("channel__rank").asc(),
    "-channel": F("channel__rank").desc(),
    "owner": Lower("owner__last_name").asc(nulls_last=True),
    "-owner": Lower("owner__last_name").desc(nulls_last=True),
    "updated": F("updated_at").asc(),
    "-updated": F("updated_at").desc(),
}
DEFAULT_SORT = "-created"


def lead_scope_q(user) -> Q | None:
    """The condition for leads ``user`` may see; None means every lead."""
    if user_sees_everything(user):
        return None
    q = Q(pk__in=[])
    if user.has_role(Role.SALES_MANAGER):
        teams = team_ids_managed_by(user)
        q |= Q(team_id__in=teams) | Q(owner__team_id__in=teams) | Q(owner=user)
    if user.has_role(Role.SALES_REP):
        q |= Q(owner=user)
        if user.team_id:
            q |= Q(team_id=user.team_id, owner__isnull=True)
    if user.has_role(Role.PARTNER) and user.partner_id:
        q |= Q(partner_id=user.partner_id)
    return q


def user_may_create_leads(user) -> bool:
    """Partners receive leads; only internal roles enter new ones."""
    return not (
        user.has_role(Role.PARTNER)
        and not user.has_role(
            Role.ADMIN, Role.MARKETING, Role.INSIDE_SALES, Role.SALES_REP, Role.SALES_MANAGER
        )
    )


def lead_scope(*, user) -> QuerySet[Lead]:
    """All leads ``user`` may see, unfiltered and unordered."""
    if not user.is_authenticated or not user.is_active:
        return Lead.objects.none()
    q = lead_scope_q(user)
    return Lead.objects.all() if q is None else Lead.objects.filter(q)


@dataclass
class LeadFilters:
    stages: list[str] | None = None
    owner: str = ""  # a user's UUID, "me" or "none"
    channel: str = ""  # slug
    campaign: str = ""  # slug
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str = ""
    sort: str = DEFAULT_SORT


def lead_list(*, user, filters: LeadFilters) -> QuerySet[Lead]:
    """The leads ``user`` may see, filtered and sorted, with what a list row shows."""
    qs = lead_scope(user=user).select_related(
        "person", "person__company", "company", "channel", "campaign", "owner"
    )
    f = filters
    if f.stages:
        qs = qs.filter(stage__in=f.stages)
    if f.owner == "me":
        qs = qs.filter(owner=user)
    elif f.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif f.owner:
        qs = qs.filter(owner__uuid=f.owner)
    if f.channel:
        qs = qs.filter(channel__slug=f.channel)
    if f.campaign:
        qs = qs.filter(campaign__slug=f.campaign)
    if f.created_from:
        qs = qs.filter(created_at__gte=f.created_from)
    if f.created_to:
        qs = qs.filter(created_at__lt=f.created_to)
    if f.q:
        qs = qs.filter(_text_q(f.q))
    order = SORTS.get(f.sort, SORTS[DEFAULT_SORT])
    return qs.order_by(order, "-id")


def _text_q(text: str) -> Q:
    q = Q()
    for word in text.split()[:5]:
        q &= (
            Q(person__first_name__icontains=word)
            | Q(person__last_name__icontains=word)
            | Q(person__email_normalized__icontains=word.casefold())
            | Q(company__name__icontains=word)
            | Q(product_interest__icontains=word)
            | Q(external_id=word)
        )
    return q


def lead_stage_counts(*, user, filters: LeadFilters) -> dict[str, int]:
    """How many of the user's visible leads are in each stage (other filters applied)."""
    f = LeadFilters(**{**filters.__dict__, "stages": None, "sort": DEFAULT_SORT})
    rows = lead_list(user=user, filters=f).order_by().values("stage").annotate(n=Count("id"))
    return {row["stage"]: row["n"] for row in rows}


def lead_get(*, user, uuid) -> Lead | None:
    """One lead by its public id if ``user`` may see it, else None (answer 404)."""
    return (
        lead_scope(user=user)
        .select_related(
            "person",
            "company",
            "channel",
            "campaign",
            "owner",
            "team",
            "partner",
            "person__company",
        )
        .filter(uuid=uuid)
        .first()
    )


def webform_get_public(*, uuid) -> WebForm | None:
    """An active public web form (no user: forms are public)."""
    return (
        WebForm.objects.select_related("channel", "campaign")
        .filter(uuid=uuid, is_active=True, channel__is_active=True)
        .first()
    )


def webform_list() -> QuerySet[WebForm]:
    return WebForm.objects.select_related("channel", "campaign")
