"""Reads of outbound messages and call tasks."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from leadwerk.consent.choices import ConsentState, ContactChannel
from leadwerk.consent.models import ConsentStatus

from .models import CallTask, OutboundMessage


def call_task_list(*, user) -> QuerySet[CallTask]:
    """The user's open call tasks whose person still allows the call: a withdrawal takes the
    task off the list at once."""
    granted = ConsentStatus.objects.filter(
        person=OuterRef("person"),
        purpose=OuterRef("purpose"),
        channel=ContactChannel.PHONE,
        state=ConsentState.GRANTED,
    )
    return (
        CallTask.objects.filter(assignee=user, done_at__isnull=True)
        .filter(Exists(granted))
        .select_related("person", "person__company")
    )


def message_list_for_person(*, person) -> QuerySet[OutboundMessage]:
    return OutboundMessage.objects.filter(person=person).select_related("consent_record__text")
