"""Reads for the duplicate review: only pairs whose both records the user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from leadwerk.accounts.selectors import user_sees_everything
from leadwerk.contacts.selectors import company_scope, person_scope

from .choices import CandidateStatus, Entity
from .models import DuplicateCandidate, MergeRecord


def can_review(user) -> bool:
    """Merging touches records across teams: admins, marketing and inside sales decide."""
    return user.is_authenticated and user_sees_everything(user)


def candidate_list(*, user, entity: str = Entity.PERSON, status=CandidateStatus.OPEN) -> QuerySet:
    if not can_review(user):
        return DuplicateCandidate.objects.none()
    qs = DuplicateCandidate.objects.filter(entity=entity, status=status)
    if entity == Entity.PERSON:
        people = person_scope(user=user)
        qs = qs.filter(person_a__in=people, person_b__in=people).select_related(
            "person_a__company", "person_b__company"
        )
    else:
        companies = company_scope(user=user)
        qs = qs.filter(company_a__in=companies, company_b__in=companies).select_related(
            "company_a", "company_b"
        )
    return qs.order_by("-probability", "id")


def candidate_get(*, user, uuid) -> DuplicateCandidate | None:
    if not can_review(user):
        return None
    candidate = (
        DuplicateCandidate.objects.select_related(
            "person_a__company", "person_b__company", "company_a", "company_b"
        )
        .filter(uuid=uuid)
        .first()
    )
    return candidate


def candidate_counts(*, user) -> dict[str, int]:
    return {
        entity: candidate_list(user=user, entity=entity).count()
        for entity in (Entity.PERSON, Entity.COMPANY)
    }


def merge_list(*, user) -> QuerySet[MergeRecord]:
    if not can_review(user):
        return MergeRecord.objects.none()
    return MergeRecord.objects.select_related("actor", "undone_by").order_by("-created_at", "-id")


def merge_get(*, user, uuid) -> MergeRecord | None:
    return merge_list(user=user).filter(uuid=uuid).first()


def merges_of(*, entity: str, obj_id: int, limit: int = 20) -> list[MergeRecord]:
    """The merges a record survived (for its page)."""
    return list(
        MergeRecord.objects.filter(entity=entity, survivor_id=obj_id)
        .select_related("actor")
        .order_by("-created_at")[:limit]
    )
