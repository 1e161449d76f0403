"""Export and erasure of the personal data that the core apps hold about a person."""

from __future__ import annotations

from urllib.parse import quote

from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity, Visitor
from leadwerk.audit.models import AuditEntry
from leadwerk.audit.services import audit_redact_person
from leadwerk.consent.models import ConsentRecord, ConsentStatus, DoubleOptIn
from leadwerk.contacts.models import Person
from leadwerk.leads.models import IdempotencyKey, Lead, StageChange
from leadwerk.messaging.models import CallTask, OutboundMessage

from .registry import ErasureContext, register_section

PERSON_FIELDS = (
    "salutation",
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "language",
)


def _dt(value):
    return value.isoformat() if value else None


# --- person -----------------------------------------------------------------------


def person_export(person: Person) -> dict:
    data = {"id": str(person.uuid), **{f: getattr(person, f) for f in PERSON_FIELDS}}
    data["created_at"] = _dt(person.created_at)
    data["updated_at"] = _dt(person.updated_at)
    if person.company_id:
        c = person.company
        data["company"] = {
            "id": str(c.uuid),
            "name": c.name,
            "legal_form": c.legal_form,
            "website": c.website,
            "city": c.city,
            "country": c.country,
        }
    return data


# What erasure leaves of a person record (also in copies of it, e.g. merge snapshots).
ERASED_PERSON_VALUES = {
    "salutation": "",
    "title": "",
    "first_name": "",
    "last_name": "",
    "email": "",
    "email_normalized": "",
    "phone": "",
    "phone_valid": True,
    "job_title": "",
}


def person_erase(ctx: ErasureContext) -> int:
    Person.objects.filter(pk=ctx.person.pk).update(**ERASED_PERSON_VALUES)
    return 1


# --- leads --------------------------------------------------------------------------


def leads_export(person: Person) -> list[dict]:
    out = []
    for lead in Lead.objects.filter(person=person).select_related(
        "channel", "campaign", "company", "owner"
    ):
        out.append(
            {
                "id": str(lead.uuid),
                "created_at": _dt(lead.created_at),
                "channel": lead.channel.name,
                "campaign": lead.campaign.name if lead.campaign_id else None,
                "company": str(lead.company) if lead.company_id else None,
                "stage": lead.stage,
                "owner": str(lead.owner) if lead.owner_id else None,
                "product_interest": lead.product_interest,
                "message": lead.message,
                "external_id": lead.external_id,
                "stage_changes": [
                    {"from": c.from_stage, "to": c.to_stage, "at": _dt(c.at), "reason": c.reason}
                    for c in lead.stage_changes.order_by("at", "id")
                ],
            }
        )
    return out


def leads_identifiers(person: Person) -> list[str]:
    """The person's IDs in other systems (external_id) identify them as well."""
    return [
        v for v in Lead.objects.filter(person=person).values_list("external_id", flat=True) if v
    ]


def leads_erase(ctx: ErasureContext) -> int:
    """Leads stay (stage, channel, campaign, dates: the funnel counts); their free text and
    identifiers go."""
    leads = list(Lead.objects.filter(person=ctx.person))
    for lead in leads:
        Lead.objects.filter(pk=lead.pk).update(
            message="", external_id="", product_interest=ctx.scrub(lead.product_interest)
        )
    for change in StageChange.objects.filter(lead__person=ctx.person).exclude(reason=""):
        StageChange.objects.filter(pk=change.pk).update(reason=ctx.scrub(change.reason))
    # Retry keys hold only a hash of the original request; it is no use once the lead is gone.
    IdempotencyKey.objects.filter(lead__person=ctx.person).delete()
    return len(leads)


# --- activities ---------------------------------------------------------------------

# Payload keys that carry no personal data and feed reports (stage moves, channel).
KEEP_PAYLOAD_KEYS = frozenset(
    {"channel", "campaign", "from", "to", "person_created", "company_created"}
)
FREE_TEXT_TYPES = frozenset(
    {
        ActivityType.CALL,
        ActivityType.EMAIL,
        ActivityType.MEETING,
        ActivityType.NOTE,
        ActivityType.COMPLAINT,
        ActivityType.SERVICE_REQUEST,
        ActivityType.PURCHASE,
    }
)


def activities_export(person: Person) -> list[dict]:
    return [
        {
            "id": str(a.uuid),
            "type": a.type,
            "occurred_at": _dt(a.occurred_at),
            "lead": str(a.lead.uuid) if a.lead_id else None,
            "subject": a.subject,
            "details": a.payload,
            "by": str(a.actor) if a.actor_id else None,
        }
        for a in Activity.objects.filter(person=person).select_related("lead", "actor")
    ]


def activities_erase(ctx: ErasureContext) -> int:
    n = 0
    for a in Activity.objects.filter(person=ctx.person):
        payload = {k: v for k, v in a.payload.items() if k in KEEP_PAYLOAD_KEYS}
        subject = "" if a.type in FREE_TEXT_TYPES else ctx.scrub(a.subject)
        Activity.objects.filter(pk=a.pk).update(payload=ctx.scrub(payload), subject=subject)
        n += 1
    return n


# --- website tracking ---------------------------------------------------------------


def tracking_export(person: Person) -> list[dict]:
    """The browsers joined to the person (their page views are on the timeline)."""
    return [
        {
            "visitor_id": str(v.id),
            "first_seen": _dt(v.first_seen_at),
            "joined": _dt(v.identified_at),
        }
        for v in Visitor.objects.filter(person=person).order_by("first_seen_at")
    ]


def tracking_identifiers(person: Person) -> list[str]:
    """The visitor ids (the tracking cookie's value), and the e-mail address as it looks in
    a URL, identify the person too (page URLs, event properties)."""
    ids = [str(v) for v in Visitor.objects.filter(person=person).values_list("id", flat=True)]
    encoded = quote(person.email, safe="")
    return [*ids, *([encoded] if encoded != person.email else [])]


def tracking_erase(ctx: ErasureContext) -> int:
    """The visitor rows go: a later visit of the same browser starts an anonymous visitor.
    (The web visits on the timeline are activities: that section keeps only their type and
    time.)"""
    return Visitor.objects.filter(person=ctx.person).delete()[1].get("activities.Visitor", 0)


# --- consent ------------------------------------------------------------------------


def consent_export(person: Person) -> dict:
    return {
        "current": [
            {
                "purpose": s.purpose,
                "channel": s.channel,
                "state": s.state,
                "legal_basis": s.legal_basis,
                "since": _dt(s.updated_at),
            }
            for s in ConsentStatus.objects.filter(person=person)
        ],
        "history": [
            {
                "purpose": r.purpose,
                "channel": r.channel,
                "state": r.state,
                "legal_basis": r.legal_basis,
                "source": r.source,
                "at": _dt(r.recorded_at),
                "text": r.text.text if r.text_id else None,
                "text_version": r.text.version if r.text_id else None,
                "ip": r.ip,
                "user_agent": r.user_agent,
                "evidence": r.evidence,
            }
            for r in ConsentRecord.objects.filter(person=person).select_related("text")
        ],
    }


def consent_erase(ctx: ErasureContext) -> int:
    """The history stays (which purpose, when, on which basis); the person's addresses and
    free-text evidence go. Every purpose ends withdrawn (the privacy service records that)."""
    n = ConsentRecord.objects.filter(person=ctx.person).update(ip=None, user_agent="", evidence="")
    DoubleOptIn.objects.filter(person=ctx.person).update(confirm_ip=None, confirm_user_agent="")
    return n


# --- messages -----------------------------------------------------------------------


def messages_export(person: Person) -> list[dict]:
    return [
        {
            "at": _dt(m.created_at),
            "purpose": m.purpose,
            "channel": m.channel,
            "to": m.to_address,
            "subject": m.subject,
            "status": m.status,
            "legal_basis": m.legal_basis,
        }
        for m in OutboundMessage.objects.filter(person=person)
    ]


def messages_erase(ctx: ErasureContext) -> int:
    n = 0
    for m in OutboundMessage.objects.filter(person=ctx.person):
        OutboundMessage.objects.filter(pk=m.pk).update(to_address="", subject=ctx.scrub(m.subject))
        n += 1
    CallTask.objects.filter(person=ctx.person).update(note="")
    return n


# --- audit --------------------------------------------------------------------------


def audit_export(person: Person) -> list[dict]:
    """Who did what with the person's data (Art. 15: recipients and processing)."""
    return [
        {
            "at": _dt(e.at),
            "by": e.actor_label or None,
            "action": e.action,
            "object": e.object_type,
            "summary": e.summary,
        }
        for e in AuditEntry.objects.filter(person_uuid=person.uuid).order_by("at", "id")
    ]


def audit_erase(ctx: ErasureContext) -> int:
    return audit_redact_person(
        person_uuid=ctx.person.uuid,
        values=[*ctx.values, *ctx.addresses],
        global_values=ctx.strong,
    )


register_section("person", export=person_export, erase=person_erase, order=1000)
register_section(
    "leads", export=leads_export, erase=leads_erase, order=10, identifiers=leads_identifiers
)
register_section("activities", export=activities_export, erase=activities_erase, order=20)
register_section(
    "tracking",
    export=tracking_export,
    erase=tracking_erase,
    order=25,
    identifiers=tracking_identifiers,
)
register_section("consent", export=consent_export, erase=consent_erase, order=30)
register_section("messages", export=messages_export, erase=messages_erase, order=40)
# The audit log last but one: the other sections' erasures are audited before it scrubs.
register_section("audit", export=audit_export, erase=audit_erase, order=900)
