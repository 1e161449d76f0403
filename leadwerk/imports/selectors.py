"""Reads of import jobs. Imports touch every record, so only users who see every lead, person
and company (admins, marketing, inside sales) see and start them."""

from __future__ import annotations

from django.db.models import QuerySet

from leadwerk.accounts.selectors import user_sees_everything

from .models import ImportJob


def can_import(user) -> bool:
    return user.is_authenticated and user_sees_everything(user)


def job_list(*, user) -> QuerySet[ImportJob]:
    if not can_import(user):
        return ImportJob.objects.none()
    return ImportJob.objects.select_related("channel", "campaign", "created_by").order_by(
        "-created_at", "-id"
    )


def job_get(*, user, uuid) -> ImportJob | None:
    return job_list(user=user).filter(uuid=uuid).first()
