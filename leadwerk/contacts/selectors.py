"""Reads of people and companies, scoped through the leads a user may see."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from leadwerk.accounts.choices import Role
from leadwerk.accounts.selectors import user_sees_everything
from leadwerk.leads.selectors import lead_scope

from .models import Company, Person
from .normalization import company_name_key, email_key

# Fields of a company a partner does not see (internal qualification data).
PARTNER_HIDDEN_COMPANY_FIELDS = frozenset({"vat_id", "employees"})


def contact_fields_limited(user) -> bool:
    """Partners (without an internal role) see persons and companies with limited fields."""
    return (
        user.has_role(Role.PARTNER)
        and not user_sees_everything(user)
        and not user.has_role(Role.SALES_REP, Role.SALES_MANAGER)
    )


def person_scope(*, user) -> QuerySet[Person]:
    if not user.is_authenticated or not user.is_active:
        return Person.objects.none()
    if user_sees_everything(user):
        return Person.objects.all()
    return Person.objects.filter(Exists(lead_scope(user=user).filter(person_id=OuterRef("pk"))))


def company_scope(*, user) -> QuerySet[Company]:
    if not user.is_authenticated or not user.is_active:
        return Company.objects.none()
    if user_sees_everything(user):
        return Company.objects.all()
    return Company.objects.filter(Exists(lead_scope(user=user).filter(company_id=OuterRef("pk"))))


def _visible_lead_count(user, relation: str = "leads") -> Count:
    """Count only the leads ``user`` may see: counts must not reveal hidden leads."""
    if user_sees_everything(user):
        return Count(relation, distinct=True)
    visible = lead_scope(user=user).values("pk")
    return Count(relation, filter=Q(**{f"{relation}__pk__in": visible}), distinct=True)


def _visible_person_count(user) -> Count:
    if user_sees_everything(user):
        return Count("persons", distinct=True)
    visible = person_scope(user=user).values("pk")
    return Count("persons", filter=Q(persons__pk__in=visible), distinct=True)


def person_list(*, user, q: str = "", company_uuid=None) -> QuerySet[Person]:
    qs = (
        person_scope(user=user)
        .select_related("company")
        .annotate(lead_count=_visible_lead_count(user))
    )
    for word in q.split()[:5]:
        qs = qs.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email_normalized__icontains=word.casefold())
            | Q(company__name__icontains=word)
        )
    if company_uuid:
        qs = qs.filter(company__uuid=company_uuid)
    return qs.order_by("last_name", "first_name", "id")


def person_get(*, user, uuid) -> Person | None:
    return person_scope(user=user).select_related("company").filter(uuid=uuid).first()


def person_find_by_email(*, user, email: str) -> Person | None:
    """The person with this e-mail (normalised), if the user may see them."""
    key = email_key(email)
    if not key:
        return None
    return (
        person_scope(user=user)
        .select_related("company")
        .annotate(lead_count=_visible_lead_count(user))
        .filter(email_normalized=key)
        .exclude(email_normalized="")  # lets SQLite use the partial unique index
        .first()
    )


def company_list(*, user, q: str = "") -> QuerySet[Company]:
    qs = company_scope(user=user).annotate(
        person_count=_visible_person_count(user), lead_count=_visible_lead_count(user)
    )
    for word in q.split()[:5]:
        # name_key is transliterated and case-folded: "öztürk" finds "Öztürk" and
        # "Oeztuerk" on every database (SQLite's LIKE folds ASCII letters only).
        key = company_name_key(word)
        qs = qs.filter(
            Q(name__icontains=word)
            | (Q(name_key__contains=key) if key else Q(pk__in=[]))
            | Q(legal_form__icontains=word)
            | Q(domain__icontains=word)
            | Q(city__icontains=word)
        )
    return qs.order_by("name", "id")


def company_get(*, user, uuid) -> Company | None:
    return company_scope(user=user).filter(uuid=uuid).first()


def person_lead_uuids(*, user, person: Person) -> list:
    """Public ids of the person's leads that ``user`` may see, newest first."""
    return list(
        lead_scope(user=user)
        .filter(person=person)
        .order_by("-created_at")
        .values_list("uuid", flat=True)
    )


def company_related_uuids(*, user, company: Company) -> tuple[list, list]:
    """Public ids of the company's persons and leads that ``user`` may see."""
    persons = list(
        person_scope(user=user)
        .filter(company=company)
        .order_by("last_name", "first_name")
        .values_list("uuid", flat=True)
    )
    leads = list(
        lead_scope(user=user)
        .filter(company=company)
        .order_by("-created_at")
        .values_list("uuid", flat=True)
    )
    return persons, leads
