"""Writes of consent: every change is a new record (history is never overwritten), the
current state moves with it, and each change is audited."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from leadwerk.audit.choices import AuditAction
from leadwerk.audit.context import current_request_meta
from leadwerk.audit.services import audit_record
from leadwerk.contacts.models import Person
from leadwerk.errors import Conflict, DomainValidationError, FieldError

from .choices import (
    PURPOSE_CHANNELS,
    ConsentSource,
    ConsentState,
    ContactChannel,
    LegalBasis,
    Purpose,
)
from .models import ConsentRecord, ConsentStatus, ConsentText, DoubleOptIn
from .tokens import BadLink, doi_token, doi_token_read


def _check_pair(purpose: str, channel: str) -> None:
    if purpose not in Purpose.values:
        raise DomainValidationError(
            [
                FieldError(
                    ("purpose",),
                    _("Unknown purpose “%(purpose)s”.") % {"purpose": purpose},
                    "unknown",
                )
            ]
        )
    if channel not in PURPOSE_CHANNELS[purpose]:
        allowed = ", ".join(str(ContactChannel(c).label) for c in PURPOSE_CHANNELS[purpose])
        names = {"purpose": Purpose(purpose).label, "channel": _channel_name(channel)}
        raise DomainValidationError(
            [
                FieldError(
                    ("channel",),
                    _("“%(purpose)s” cannot use the channel %(channel)s; possible: %(allowed)s.")
                    % {**names, "allowed": allowed},
                    "mismatch",
                )
            ]
        )


def _channel_name(channel: str) -> str:
    return ContactChannel(channel).label if channel in ContactChannel.values else channel


def consent_record(
    *,
    person: Person,
    purpose: str,
    channel: str,
    state: str,
    legal_basis: str,
    source: str,
    text: ConsentText | None = None,
    actor=None,
    evidence: str = "",
    ip: str | None = None,
    user_agent: str | None = None,
    double_opt_in: DoubleOptIn | None = None,
) -> ConsentRecord:
    """Append one consent event and make it the current state for the purpose and channel.

    Consent (as legal basis) needs the exact text version the person saw. The request's
    address and user agent are recorded unless given.
    """
    _check_pair(purpose, channel)
    errors = []
    if state not in ConsentState.values:
        errors.append(
            FieldError(("state",), _("Unknown state “%(state)s”.") % {"state": state}, "unknown")
        )
    if legal_basis not in LegalBasis.values:
        errors.append(
            FieldError(
                ("legal_basis",),
                _("Unknown legal basis “%(basis)s”.") % {"basis": legal_basis},
            )
        )
    if source not in ConsentSource.values:
        errors.append(
            FieldError(
                ("source",), _("Unknown source “%(source)s”.") % {"source": source}, "unknown"
            )
        )
    needs_text = state == ConsentState.PENDING or (
        state == ConsentState.GRANTED and legal_basis == LegalBasis.CONSENT
    )
    if needs_text and text is None:
        errors.append(
            FieldError(
                ("text_version",),
                _("Consent needs the version of the text the person was shown."),
                "missing",
            )
        )
    if text is not None and (text.purpose != purpose or text.channel != channel):
        errors.append(
            FieldError(("text_version",), _("The text belongs to another purpose or channel."))
        )
    if errors:
        raise DomainValidationError(errors)
    meta = current_request_meta()
    with transaction.atomic():
        # One writer per person at a time: the database orders concurrent changes.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        status = ConsentStatus.objects.filter(
            person=person, purpose=purpose, channel=channel
        ).first()
        now = timezone.now()
        record = ConsentRecord.objects.create(
            person=person,
            purpose=purpose,
            channel=channel,
            state=state,
            legal_basis=legal_basis,
            source=source,
            text=text,
            recorded_at=now,
            ip=ip if ip is not None else meta.ip,
            user_agent=(user_agent if user_agent is not None else meta.user_agent)[:300],
            recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
            evidence=evidence[:300],
            double_opt_in=double_opt_in,
        )
        before = {"state": status.state, "legal_basis": status.legal_basis} if status else {}
        if status is None:
            ConsentStatus.objects.create(
                person=person,
                purpose=purpose,
                channel=channel,
                state=state,
                legal_basis=legal_basis,
                record=record,
                updated_at=now,
            )
        else:
            status.state, status.legal_basis, status.record = state, legal_basis, record
            status.updated_at = now
            status.save(update_fields=["state", "legal_basis", "record", "updated_at"])
        audit_record(
            action=AuditAction.CONSENT_CHANGE,
            actor=actor,
            object_type="consent",
            object_id=record.uuid,
            person=person,
            summary=f"{purpose}/{channel}: {before.get('state', '-')} → {state}",
            before=before,
            after={
                "state": state,
                "legal_basis": legal_basis,
                "source": source,
                "text_version": text.version if text else None,
            },
        )
    return record


def consent_withdraw(
    *, person: Person, purpose: str, channel: str, source: str, actor=None, evidence: str = ""
) -> ConsentRecord:
    """Withdraw consent (or object to another basis) at once. Withdrawing twice records
    nothing new."""
    _check_pair(purpose, channel)
    status = (
        ConsentStatus.objects.select_related("record")
        .filter(person=person, purpose=purpose, channel=channel)
        .first()
    )
    if status is not None and status.state == ConsentState.WITHDRAWN:
        return status.record
    return consent_record(
        person=person,
        purpose=purpose,
        channel=channel,
        state=ConsentState.WITHDRAWN,
        legal_basis=status.legal_basis if status else LegalBasis.CONSENT,
        source=source,
        actor=actor,
        evidence=evidence,
    )


def consent_text_publish(
    *, purpose: str, channel: str, language: str, text: str, actor
) -> ConsentText:
    """A new version of a consent text; earlier versions stay as they were shown."""
    _check_pair(purpose, channel)
    text = text.strip()
    if not text:
        raise DomainValidationError([FieldError(("text",), _("The text is empty."), "missing")])
    if language not in dict(settings.LANGUAGES):
        raise DomainValidationError(
            [
                FieldError(
                    ("language",), _("Unknown language “%(language)s”.") % {"language": language}
                )
            ]
        )
    with transaction.atomic():
        # Lock the existing versions (PostgreSQL refuses FOR UPDATE with an aggregate); the
        # unique constraint catches two first versions written at once.
        latest = max(
            ConsentText.objects.select_for_update()
            .filter(purpose=purpose, channel=channel, language=language)
            .values_list("version", flat=True),
            default=0,
        )
        version = ConsentText.objects.create(
            purpose=purpose,
            channel=channel,
            language=language,
            version=latest + 1,
            text=text,
            created_by=actor,
        )
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            object_type="consent_text",
            object_id=version.uuid,
            summary=f"consent text {purpose}/{channel}/{language} v{version.version}",
            after={"text": text},
        )
    return version


def consent_doi_start(
    *,
    person: Person,
    purpose: str,
    channel: str,
    source: str,
    actor=None,
    evidence: str = "",
    ip: str | None = None,
    user_agent: str | None = None,
    text: ConsentText | None = None,
) -> DoubleOptIn:
    """Record the request as pending and mail the person a confirmation link (double opt-in).

    ``text`` is the version the person was shown (e.g. next to a form's checkbox); without
    it, the current version in the person's language.
    """
    from leadwerk.messaging.services import message_send

    from .selectors import consent_basis, consent_text_current

    _check_pair(purpose, channel)
    if not person.email:
        raise DomainValidationError(
            [FieldError(("person",), _("A double opt-in needs the person's e-mail address."))]
        )
    if consent_basis(person=person, purpose=purpose, channel=channel).ok:
        raise Conflict(
            _("“%(purpose)s” by %(channel)s is already granted.")
            % {"purpose": Purpose(purpose).label, "channel": _channel_name(channel)},
            code="already_granted",
        )
    if text is not None and (text.purpose, text.channel) != (purpose, channel):
        raise DomainValidationError(
            [
                FieldError(
                    ("text",),
                    _("The consent text is not the one for “%(purpose)s” by %(channel)s.")
                    % {"purpose": Purpose(purpose).label, "channel": _channel_name(channel)},
                    "mismatch",
                )
            ]
        )
    language = person.language or settings.LANGUAGE_CODE
    if text is None:
        text = consent_text_current(purpose=purpose, channel=channel, language=language)
    if text is None:
        raise DomainValidationError(
            [
                FieldError(
                    ("purpose",),
                    _(
                        "There is no consent text for “%(purpose)s” by %(channel)s yet; "
                        "publish one first."
                    )
                    % {"purpose": Purpose(purpose).label, "channel": _channel_name(channel)},
                    "missing",
                )
            ]
        )
    now = timezone.now()
    with transaction.atomic():
        doi = DoubleOptIn.objects.create(
            person=person,
            purpose=purpose,
            channel=channel,
            text=text,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.LEADWERK_DOI_MAX_AGE),
        )
        consent_record(
            person=person,
            purpose=purpose,
            channel=channel,
            state=ConsentState.PENDING,
            legal_basis=LegalBasis.CONSENT,
            source=source,
            text=text,
            actor=actor,
            evidence=evidence,
            ip=ip,
            user_agent=user_agent,
            double_opt_in=doi,
        )
        link = settings.LEADWERK_BASE_URL + reverse("consent:confirm", args=[doi_token(doi=doi)])
        with translation.override(text.language):
            subject = render_to_string(
                "consent/mail/confirm_subject.txt", {"purpose": Purpose(purpose).label}
            ).strip()
            body = render_to_string(
                "consent/mail/confirm_body.txt",
                {"person": person, "text": text, "link": link, "doi": doi},
            )
        message_send(
            purpose="consent_confirmation",
            person=person,
            subject=subject,
            body=body,
            actor=actor,
            context={"double_opt_in": str(doi.uuid)},
        )
    return doi


class ConfirmResult:
    CONFIRMED = "confirmed"
    ALREADY = "already"


def consent_doi_confirm(*, token: str, ip: str | None, user_agent: str) -> tuple[str, DoubleOptIn]:
    """Confirm a double opt-in from its link: once, before it expires, for exactly the
    person and purpose it was issued for. Records the proof (time, address, user agent,
    text version). Raises BadLink for a forged, altered or expired link."""
    data = doi_token_read(token)
    with transaction.atomic():
        doi = (
            DoubleOptIn.objects.select_for_update(of=("self",))
            .select_related("person", "text")
            .filter(uuid=data.get("d"))
            .first()
        )
        if (
            doi is None
            or str(doi.person.uuid) != data.get("p")
            or doi.purpose != data.get("u")
            or doi.channel != data.get("c")
        ):
            raise BadLink("invalid")
        if doi.confirmed_at is not None:
            return ConfirmResult.ALREADY, doi
        now = timezone.now()
        if doi.expires_at <= now:
            raise BadLink("expired")
        doi.confirmed_at = now
        doi.confirm_ip = ip or None
        doi.confirm_user_agent = user_agent[:300]
        doi.save(update_fields=["confirmed_at", "confirm_ip", "confirm_user_agent"])
        consent_record(
            person=doi.person,
            purpose=doi.purpose,
            channel=doi.channel,
            state=ConsentState.GRANTED,
            legal_basis=LegalBasis.CONSENT,
            source=ConsentSource.DOUBLE_OPT_IN,
            text=doi.text,
            ip=ip,
            user_agent=user_agent,
            double_opt_in=doi,
        )
    return ConfirmResult.CONFIRMED, doi


__all__ = [
    "BadLink",
    "ConfirmResult",
    "consent_doi_confirm",
    "consent_doi_start",
    "consent_record",
    "consent_text_publish",
    "consent_withdraw",
]
