"""Data-subject rights: export everything about a person, erase (anonymise) a person
everywhere, and the retention rule that anonymises persons whose leads went quiet."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from leadwerk.activities.models import Activity
from leadwerk.audit.choices import AuditAction
from leadwerk.audit.models import AuditEntry
from leadwerk.audit.services import audit_record
from leadwerk.consent.choices import ConsentSource, ConsentState
from leadwerk.consent.models import ConsentRecord, ConsentStatus, DoubleOptIn
from leadwerk.consent.services import consent_withdraw
from leadwerk.contacts.models import Person
from leadwerk.errors import Conflict

from .choices import ErasureReason
from .models import Erasure
from .registry import ErasureContext, sections


def person_export_data(*, person: Person, actor) -> dict:
    """Everything Leadwerk holds about the person (Art. 15 GDPR), section by section.
    The export itself is audited."""
    data = {
        "generated_at": timezone.now().isoformat(),
        "person_id": str(person.uuid),
        "sections": {s.name: s.export(person) for s in sections()},
    }
    with transaction.atomic():
        audit_record(
            action=AuditAction.EXPORT,
            actor=actor,
            object_type="person",
            object_id=person.uuid,
            person=person,
            summary="data subject export",
            after={"sections": sorted(data["sections"])},
        )
    return data


def _identifying_values(person: Person) -> list[str]:
    extra = [v for s in sections() if s.identifiers for v in s.identifiers(person)]
    values = {
        *extra,
        person.first_name,
        person.last_name,
        person.full_name,
        person.email,
        person.email_normalized,
        person.phone,
        f"{person.first_name} {person.last_name}".strip(),
    }
    return sorted({v for v in values if v and len(v) >= 2}, key=len, reverse=True)


def _addresses(person: Person) -> list[str]:
    """The IP addresses the person used (forms, consent confirmations, own audit entries)."""
    found: set[str] = set()
    found.update(
        ip for ip in ConsentRecord.objects.filter(person=person).values_list("ip", flat=True) if ip
    )
    found.update(
        ip
        for ip in DoubleOptIn.objects.filter(person=person).values_list("confirm_ip", flat=True)
        if ip
    )
    for payload in Activity.objects.filter(person=person).values_list("payload", flat=True):
        context = payload.get("context") if isinstance(payload, dict) else None
        if isinstance(context, dict) and context.get("ip"):
            found.add(str(context["ip"]))
    found.update(
        ip
        for ip in AuditEntry.objects.filter(
            person_uuid=person.uuid, actor__isnull=True
        ).values_list("ip", flat=True)
        if ip
    )
    return sorted(found)


def person_is_erased(person: Person) -> bool:
    return Erasure.objects.filter(person=person).exists()


def person_erase(*, person: Person, actor, reason: str = ErasureReason.REQUEST) -> Erasure:
    """Anonymise the person everywhere (Art. 17 GDPR), in one transaction.

    Every purpose is withdrawn first, so nothing can be sent any more. Then each registered
    section removes the person's identifying values from its rows; rows stay where anonymous
    counts need them (leads keep stage, channel, campaign, dates). The audit log keeps who
    did what, with the person's values replaced.
    """
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        if Erasure.objects.filter(person=person).exists():
            raise Conflict("this person has already been erased", code="already_erased")
        open_states = (ConsentState.GRANTED, ConsentState.PENDING)
        for status in ConsentStatus.objects.filter(person=person, state__in=open_states):
            consent_withdraw(
                person=person,
                purpose=status.purpose,
                channel=status.channel,
                source=ConsentSource.ERASURE,
                actor=actor,
            )
        DoubleOptIn.objects.filter(person=person, confirmed_at__isnull=True).update(
            expires_at=timezone.now()
        )
        ctx = ErasureContext(
            person=person,
            actor=actor,
            values=_identifying_values(person),
            addresses=_addresses(person),
        )
        counts = {section.name: section.erase(ctx) for section in sections()}
        erasure = Erasure.objects.create(
            person=person, reason=reason, requested_by=actor, counts=counts
        )
        audit_record(
            action=AuditAction.ERASURE,
            actor=actor,
            object_type="person",
            object_id=person.uuid,
            person=person,
            summary=f"person anonymised ({reason})",
            after={"reason": reason, "rows": counts},
        )
    return erasure
