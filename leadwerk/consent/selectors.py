"""Reads of consent: the current state, the history, the legal basis for a message."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from .choices import PURPOSE_CHANNELS, ConsentState, Purpose
from .models import ConsentRecord, ConsentStatus, ConsentText, DoubleOptIn


@dataclass(frozen=True)
class Basis:
    """Whether a message for a purpose and channel may go to a person, and why (not)."""

    ok: bool
    legal_basis: str = ""
    record: ConsentRecord | None = None
    reason: str = ""


def consent_basis(*, person, purpose: str, channel: str) -> Basis:
    """The legal basis in force right now: the newest record must grant the purpose."""
    if purpose not in Purpose.values or channel not in PURPOSE_CHANNELS.get(purpose, ()):
        return Basis(False, reason=f"'{purpose}' cannot use the channel '{channel}'")
    status = (
        ConsentStatus.objects.select_related("record")
        .filter(person=person, purpose=purpose, channel=channel)
        .first()
    )
    if status is None:
        return Basis(False, reason=f"no consent or other legal basis for {purpose} by {channel}")
    if status.state == ConsentState.WITHDRAWN:
        return Basis(False, record=status.record, reason=f"{purpose} by {channel} was withdrawn")
    if status.state == ConsentState.PENDING:
        return Basis(
            False, record=status.record, reason=f"{purpose} by {channel} is not confirmed yet"
        )
    return Basis(True, legal_basis=status.legal_basis, record=status.record)


def doi_open_for(*, person, purpose: str, channel: str) -> DoubleOptIn | None:
    """The newest unconfirmed, unexpired confirmation request."""
    return (
        DoubleOptIn.objects.filter(
            person=person,
            purpose=purpose,
            channel=channel,
            confirmed_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-created_at")
        .first()
    )


def consent_statuses(*, person) -> list[ConsentStatus]:
    return list(
        ConsentStatus.objects.filter(person=person)
        .select_related("record__text", "record__recorded_by")
        .order_by("purpose", "channel")
    )


def consent_overview(*, person) -> list[dict]:
    """Every purpose and channel with its current state (or none), for pages and the API."""
    current = {(s.purpose, s.channel): s for s in consent_statuses(person=person)}
    rows = []
    for purpose, channels in PURPOSE_CHANNELS.items():
        for channel in channels:
            status = current.get((purpose, channel))
            rows.append(
                {
                    "purpose": purpose,
                    "purpose_label": Purpose(purpose).label,
                    "channel": channel,
                    "status": status,
                    "state": status.state if status else "",
                }
            )
    return rows


def consent_history(*, person) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(person=person).select_related(
        "text", "recorded_by", "double_opt_in"
    )


def consent_text_current(*, purpose: str, channel: str, language: str = "de") -> ConsentText | None:
    """The newest text version for the language, else the newest German one."""
    qs = ConsentText.objects.filter(purpose=purpose, channel=channel)
    return (
        qs.filter(language=language).order_by("-version").first()
        or qs.filter(language="de").order_by("-version").first()
    )


def consent_text_get(*, purpose: str, channel: str, language: str, version: int):
    return ConsentText.objects.filter(
        purpose=purpose, channel=channel, language=language, version=version
    ).first()


def consent_text_list() -> QuerySet[ConsentText]:
    return ConsentText.objects.select_related("created_by")
