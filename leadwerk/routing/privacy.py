"""What routing holds about a person, for the data-subject export and the erasure.

- ``Assignment``, ``LedgerEntry``, ``SlaTimer``: who got the person's leads, when, under
  which rule, the response-time clock (no personal value: ids, times, numbers).
- ``Notification`` (the users' inbox) and its e-mail (``OutboundMessage`` to the user):
  the title and text name the person ("New lead for you: <name> (<company>)").
- ``LeadRejection``: the rep's explanation may name the person.
- ``UnassignedLead``: the routing trail (rule names and what each found).

Erasure keeps every row (the fairness ledger, SLA statistics and rejection reasons stay
right) and scrubs the person's values from the texts.
"""

from __future__ import annotations

from django.db.models import Q

from leadwerk.contacts.models import Person
from leadwerk.messaging.models import OutboundMessage
from leadwerk.privacy.registry import ErasureContext, register_section

from .models import Assignment, LeadRejection, Notification, SlaTimer, UnassignedLead


def _dt(value):
    return value.isoformat() if value else None


def routing_export(person: Person) -> dict:
    leads = Q(lead__person=person)
    return {
        "assignments": [
            {
                "lead": str(a.lead.uuid),
                "to": str(a.user) if a.user_id else None,
                "pool": a.pool.name if a.pool_id else None,
                "rule": a.rule_name,
                "trigger": a.trigger,
                "assigned_at": _dt(a.assigned_at),
                "status": a.status,
                "accepted_at": _dt(a.accepted_at),
                "ended_at": _dt(a.ended_at),
            }
            for a in Assignment.objects.filter(leads)
            .select_related("lead", "user", "pool")
            .order_by("assigned_at", "id")
        ],
        "response_times": [
            {
                "lead": str(t.lead.uuid),
                "owner": str(t.owner),
                "started_at": _dt(t.started_at),
                "due_at": _dt(t.due_at),
                "responded_at": _dt(t.responded_at),
                "breached_at": _dt(t.breached_at),
                "state": t.state,
            }
            for t in SlaTimer.objects.filter(leads)
            .select_related("lead", "owner")
            .order_by("started_at", "id")
        ],
        "rejections": [
            {
                "lead": str(r.lead.uuid),
                "kind": r.kind,
                "reason": r.reason.code if r.reason_id else None,
                "text": r.text,
                "at": _dt(r.at),
            }
            for r in LeadRejection.objects.filter(leads)
            .select_related("lead", "reason")
            .order_by("at", "id")
        ],
        "notifications": [
            {"to": str(n.user), "kind": n.kind, "at": _dt(n.created_at), "title": n.title}
            for n in Notification.objects.filter(leads)
            .select_related("user")
            .order_by("created_at", "id")
        ],
    }


def routing_erase(ctx: ErasureContext) -> int:
    changed = 0
    leads = Q(lead__person=ctx.person)
    for n in Notification.objects.filter(leads):
        Notification.objects.filter(pk=n.pk).update(
            title=ctx.scrub(n.title), body=ctx.scrub(n.body)
        )
        changed += 1
    # The notifications' e-mails went to users (no person on the message); find them by
    # the values they quote.
    quoted = Q()
    for value in ctx.strong:
        quoted |= Q(subject__icontains=value)
    if quoted:
        for m in OutboundMessage.objects.filter(quoted, person__isnull=True):
            OutboundMessage.objects.filter(pk=m.pk).update(subject=ctx.scrub(m.subject))
            changed += 1
    for r in LeadRejection.objects.filter(leads):
        LeadRejection.objects.filter(pk=r.pk).update(
            text=ctx.scrub(r.text), facts=ctx.scrub(r.facts)
        )
        changed += 1
    for u in UnassignedLead.objects.filter(leads):
        UnassignedLead.objects.filter(pk=u.pk).update(reasons=ctx.scrub(u.reasons))
        changed += 1
    return changed


def register() -> None:
    register_section("routing", export=routing_export, erase=routing_erase, order=90)
