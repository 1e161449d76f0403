"""What the owner does with a new lead: accept it (SAL), reject it with a reason (back to
marketing, or disqualified), or, as a partner, return it for someone else."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from leadwerk.activities.choices import ActivityType
from leadwerk.activities.services import activity_record
from leadwerk.audit.choices import AuditAction
from leadwerk.audit.services import audit_record
from leadwerk.errors import Conflict, DomainValidationError, FieldError
from leadwerk.leads.choices import Stage
from leadwerk.leads.models import Lead
from leadwerk.leads.services import lead_log_activity, lead_transition, lead_update

from ..choices import AssignmentStatus, NotificationKind, RejectionKind, Trigger
from ..lead_facts import lead_facts
from ..lead_quality import lead_quality
from ..models import Assignment, LeadRejection, RejectionReason
from ..notifications import notify_user
from .assignment import ledger_reverse, timers_stop

# Stages from which a lead can be accepted or rejected (it has not been accepted yet).
WAITING_STAGES = frozenset({Stage.NEW, Stage.MQL, Stage.RECYCLED})


def _locked(lead: Lead) -> Lead:
    return (
        Lead.objects.select_for_update(of=("self",))
        .select_related("person", "channel", "company", "campaign", "owner", "partner")
        .get(pk=lead.pk)
    )


def _open_assignment(lead: Lead, actor) -> Assignment:
    if lead.owner_id != actor.pk:
        raise Conflict(_("Only the lead's owner can do this."), code="not_owner")
    assignment = (
        Assignment.objects.select_for_update()
        .filter(lead=lead, user=actor, status=AssignmentStatus.OPEN)
        .order_by("-assigned_at")
        .first()
    )
    if assignment is None or lead.stage not in WAITING_STAGES:
        raise Conflict(
            _("This lead has already been accepted; change its stage instead."),
            code="already_accepted",
        )
    return assignment


def lead_accept(*, lead: Lead, actor, contacted: bool = False, note: str = "") -> Lead:
    """The owner accepts the lead: stage SAL. With ``contacted`` the contact is logged as a
    call, which is the first response and stops the response-time clock."""
    note = note.strip()
    now = timezone.now()
    with transaction.atomic():
        lead = _locked(lead)
        assignment = _open_assignment(lead, actor)
        lead_transition(
            lead=lead,
            to_stage=Stage.SAL,
            actor=actor,
            reason=_("Accepted by %(owner)s") % {"owner": actor} + (f": {note}" if note else ""),
        )
        assignment.status = AssignmentStatus.ACCEPTED
        assignment.accepted_at = now
        assignment.save(update_fields=["status", "accepted_at"])
        if contacted:
            lead_log_activity(
                lead=lead,
                actor=actor,
                type=ActivityType.CALL,
                subject=note or _("Contacted when accepting the lead"),
            )
    lead.refresh_from_db()
    return lead


def rejection_reason_get(code: str) -> RejectionReason:
    reason = RejectionReason.objects.filter(code=code, is_active=True).first()
    if reason is None:
        known = ", ".join(
            RejectionReason.objects.filter(is_active=True).values_list("code", flat=True)
        )
        raise DomainValidationError(
            [FieldError(("reason",), f"unknown reason '{code}'; known: {known}", "unknown")]
        )
    return reason


def _feedback_facts(lead: Lead, assignment: Assignment) -> dict:
    facts = lead_facts(lead)
    return {
        "channel": facts["channel"],
        "campaign": facts["campaign"] or None,
        "fit_grade": facts.get("fit_grade"),
        "label": facts.get("label"),
        "score": facts.get("score"),
        "quality": round(lead_quality(facts), 3),
        "pool": assignment.pool.name if assignment.pool_id else None,
    }


def lead_reject(*, lead: Lead, actor, reason: str, text: str = "") -> LeadRejection:
    """The owner rejects the lead with a reason from the list (and an explanation where the
    reason needs one). The lead goes back to marketing (recycled) or is disqualified, as the
    reason says, and loses its owner; the rejection feeds the scoring feedback report."""
    text = text.strip()
    chosen = rejection_reason_get(reason)
    if chosen.requires_text and not text:
        raise DomainValidationError(
            [FieldError(("text",), _("Please explain the reason “%s”.") % chosen.label, "missing")]
        )
    now = timezone.now()
    with transaction.atomic():
        lead = _locked(lead)
        assignment = _open_assignment(lead, actor)
        facts = _feedback_facts(lead, assignment)
        assignment.status = AssignmentStatus.REJECTED
        assignment.ended_at = now
        assignment.save(update_fields=["status", "ended_at"])
        # In the company's language, whoever rejects: the scoring feedback report groups
        # rejections by this reason.
        with translation.override(settings.LANGUAGE_CODE):
            reason_text = _("Rejected by sales: %(reason)s") % {"reason": chosen.label}
        lead_transition(
            lead=lead,
            to_stage=chosen.outcome,
            actor=actor,
            reason=reason_text + (f" – {text}" if text else ""),
        )
        rejection = LeadRejection.objects.create(
            lead=lead,
            assignment=assignment,
            kind=RejectionKind.REJECTED,
            reason=chosen,
            text=text,
            by=actor,
            at=now,
            facts=facts,
        )
        timers_stop(lead=lead, reason="rejected", now=now)
        lead_update(lead=lead, actor=actor, changes={"owner": None})
    return rejection


def lead_return(*, lead: Lead, actor, reason: str, text: str = "") -> LeadRejection:
    """A partner gives a lead back: it leaves the partner's ledger and is routed to the next
    fair member, never to the same partner company again."""
    text = text.strip()
    if not actor.partner_id:
        raise Conflict(_("Only partners return leads; reject it instead."), code="not_partner")
    chosen = rejection_reason_get(reason)
    if not text:
        raise DomainValidationError(
            [FieldError(("text",), _("Please say why you return the lead."), "missing")]
        )
    now = timezone.now()
    with transaction.atomic():
        lead = _locked(lead)
        assignment = _open_assignment(lead, actor)
        facts = _feedback_facts(lead, assignment)
        assignment.status = AssignmentStatus.RETURNED
        assignment.ended_at = now
        assignment.save(update_fields=["status", "ended_at"])
        ledger_reverse(assignment=assignment, now=now)
        rejection = LeadRejection.objects.create(
            lead=lead,
            assignment=assignment,
            kind=RejectionKind.RETURNED,
            reason=chosen,
            text=text,
            by=actor,
            at=now,
            facts=facts,
        )
        timers_stop(lead=lead, reason="returned", now=now)
        partner = lead.partner or actor.partner
        lead.owner = None
        lead.partner = None
        lead.assigned_at = None
        lead.save(update_fields=["owner", "partner", "assigned_at", "updated_at"])
        audit_record(
            action=AuditAction.ASSIGN,
            actor=actor,
            object_type="lead",
            object_id=lead.uuid,
            person=lead.person,
            summary=f"owner: {actor} → - (returned by partner {partner})",
            before={"owner": str(actor), "partner": str(partner) if partner else None},
            after={"owner": None, "partner": None, "reason": chosen.code},
        )
        activity_record(
            person=lead.person,
            lead=lead,
            type=ActivityType.ASSIGNMENT,
            actor=actor,
            subject=_("Returned by partner %(partner)s: %(reason)s")
            % {"partner": partner, "reason": chosen.label},
            payload={"from": str(actor), "returned_to_pool": True, "text": text},
            occurred_at=now,
        )
        pool = assignment.pool
        if pool is not None and pool.team_id and pool.team.manager_id:
            notify_user(
                user=pool.team.manager,
                kind=NotificationKind.RETURNED,
                lead=lead,
                context={"partner": partner, "reason": chosen.label, "text": text},
            )
        returned_by = set(
            get_user_model().objects.filter(partner=partner).values_list("pk", flat=True)
        )
        earlier = set(
            Assignment.objects.filter(lead=lead, status=AssignmentStatus.RETURNED).values_list(
                "user__partner_id", flat=True
            )
        )
        returned_by |= set(
            get_user_model()
            .objects.filter(partner_id__in=[p for p in earlier if p])
            .values_list("pk", flat=True)
        )
        from .assignment import lead_route

        transaction.on_commit(
            partial(
                lead_route,
                lead_id=lead.pk,
                trigger=Trigger.PARTNER_RETURN,
                ready_at=assignment.ready_at,
                exclude_user_ids=frozenset(returned_by),
            ),
            robust=True,
        )
    return rejection
