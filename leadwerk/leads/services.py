"""Writes for leads: intake from every channel, stage transitions, edits, logged activities.

Each public function is one use case in one transaction; the timeline entry is written in
the same transaction as the change it describes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.activities.choices import RESPONSE_TYPES, ActivityType
from leadwerk.activities.models import Activity
from leadwerk.activities.services import activity_record
from leadwerk.activities.tracking import visitor_identify
from leadwerk.audit.choices import AuditAction
from leadwerk.audit.services import audit_entry, audit_record, audit_record_many
from leadwerk.campaigns.selectors import campaign_by_slug, channel_by_slug
from leadwerk.contacts.services import company_match_or_create, person_match_or_create
from leadwerk.errors import Conflict, DomainValidationError, FieldError
from leadwerk.routing import hooks as routing_hooks

from .choices import CLOSED_STAGES, REASON_REQUIRED, TRANSITIONS, LeadSource, Stage
from .intake import LeadIn
from .models import IdempotencyKey, Lead, StageChange

_INTAKE_ACTIVITY = {
    LeadSource.API: ActivityType.API_INTAKE,
    LeadSource.FORM: ActivityType.FORM_SUBMIT,
    LeadSource.MANUAL: ActivityType.MANUAL_ENTRY,
    LeadSource.IMPORT: ActivityType.IMPORT,
    LeadSource.DEMO: ActivityType.API_INTAKE,
}


@dataclass
class IntakeResult:
    lead: Lead
    replayed: bool = False
    person_created: bool = False
    # For scoring in the same transaction: the intake's timeline entry, and whether matching
    # changed what fit rules see (a gap of the person or company filled).
    activity: Activity | None = None
    facts_changed: bool = False


def _body_hash(data: LeadIn) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _resolve_channel_and_campaign(data: LeadIn):
    """Look up the channel and campaign by slug; return them with the errors found (not
    raised: the caller raises them after the idempotency check)."""
    errors: list[FieldError] = []
    campaign = campaign_by_slug(data.campaign) if data.campaign else None
    if campaign is not None and campaign.channel.slug == data.channel:
        channel = campaign.channel  # loaded with the campaign: no second query
    else:
        channel = channel_by_slug(data.channel)
    if channel is None or not channel.is_active:
        errors.append(FieldError(("channel",), f"unknown channel '{data.channel}'", "unknown"))
    if data.campaign:
        if campaign is None or not campaign.is_active:
            errors.append(
                FieldError(("campaign",), f"unknown campaign '{data.campaign}'", "unknown")
            )
        elif channel is not None and campaign.channel_id != channel.id:
            errors.append(
                FieldError(
                    ("campaign",),
                    f"campaign '{campaign.slug}' belongs to channel "
                    f"'{campaign.channel.slug}', not '{channel.slug}'",
                    "mismatch",
                )
            )
    return channel, campaign, errors


def lead_intake(
    *,
    data: LeadIn,
    source: LeadSource,
    actor=None,
    idempotency_key: str = "",
    context: dict | None = None,
    visitor_id: str = "",
) -> IntakeResult:
    """Create a lead from any channel: match or create the company and the person, create the
    lead in stage *new* and put the intake on the timeline.

    ``visitor_id`` (the website tracking snippet's id, sent along by a public form) joins the
    visitor's earlier page views to the person, in the same transaction.

    With an ``idempotency_key`` (per acting user), a retry with the same body returns the
    first lead; the same key with a different body raises :class:`Conflict`.
    ``context`` (e.g. the form's page URL, the client IP) goes into the timeline entry.
    """
    body_hash = _body_hash(data) if idempotency_key else ""
    # Channels and campaigns are reference data: read them before the transaction, so that
    # on SQLite (write lock taken at BEGIN) other intakes do not wait for these reads.
    channel, campaign, errors = _resolve_channel_and_campaign(data)
    try:
        with transaction.atomic():
            if idempotency_key:
                replay = _idempotent_replay(actor=actor, key=idempotency_key, body_hash=body_hash)
                if replay is not None:
                    return IntakeResult(replay, replayed=True)
            if errors:
                raise DomainValidationError(errors)
            result = _intake(
                data=data,
                channel=channel,
                campaign=campaign,
                source=source,
                actor=actor,
                context=context,
            )
            if visitor_id:
                visitor_identify(visitor_id=visitor_id, person=result.lead.person)
            _score_intake(result, visitor_joined=bool(visitor_id))
            # Direct inquiries of channels that skip marketing qualification: route at once.
            transaction.on_commit(
                partial(
                    routing_hooks.route_at_intake_after_commit,
                    lead_id=result.lead.pk,
                    channel_id=result.lead.channel_id,
                ),
                robust=True,
            )
            if idempotency_key:
                IdempotencyKey.objects.create(
                    user=actor, key=idempotency_key, body_hash=body_hash, lead=result.lead
                )
            return result
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as a retry.
        if idempotency_key:
            replay = _idempotent_replay(actor=actor, key=idempotency_key, body_hash=body_hash)
            if replay is not None:
                return IntakeResult(replay, replayed=True)
        # A concurrent request with the same external_id won the race: the same 409 as
        # when it had committed before we looked.
        if data.external_id and channel is not None:
            _external_id_check(channel=channel, external_id=data.external_id)
        raise


def _idempotent_replay(*, actor, key: str, body_hash: str) -> Lead | None:
    # Usually there is none: look with a narrow query, load the lead only for a replay.
    previous = (
        IdempotencyKey.objects.filter(user=actor, key=key)
        .values_list("body_hash", "lead_id")
        .first()
    )
    if previous is None:
        return None
    if previous[0] != body_hash:
        raise Conflict(
            "this Idempotency-Key was already used with a different request body",
            code="idempotency_mismatch",
        )
    return Lead.objects.get(pk=previous[1])


def _external_id_check(*, channel, external_id: str) -> None:
    """Raise :class:`Conflict` naming the lead that already has this external_id."""
    existing = (
        Lead.objects.filter(channel=channel, external_id=external_id)
        .values_list("uuid", flat=True)
        .first()
    )
    if existing is not None:
        raise Conflict(
            f"a lead with external_id '{external_id}' already exists in channel '{channel.slug}'",
            code="duplicate_external_id",
            extra={"lead_id": str(existing)},
        )


def _intake(
    *, data: LeadIn, channel, campaign, source: LeadSource, actor, context: dict | None
) -> IntakeResult:
    # A taken external_id is not looked up first: the unique constraint refuses the lead's
    # INSERT and lead_intake answers with the same Conflict (nothing stays written).
    company_match = None
    if data.company is not None:
        c = data.company
        company_match = company_match_or_create(
            name=c.name,
            legal_form=c.legal_form,
            website=c.website,
            industry=c.industry,
            employees=c.employee_count,
            employee_band=c.employee_band,
            country=c.country,
            postal_code=c.postal_code,
            city=c.city,
            vat_id=c.vat_id,
        )
    p = data.person
    person_match = person_match_or_create(
        email=p.email,
        phone=p.phone,
        company=company_match.obj if company_match else None,
        salutation=p.salutation,
        title=p.title,
        first_name=p.first_name,
        last_name=p.last_name,
        job_title=p.job_title,
        language=p.language,
    )
    person = person_match.obj
    now = timezone.now()
    lead = Lead.objects.create(
        person=person,
        company=company_match.obj if company_match else person.company,
        channel=channel,
        campaign=campaign,
        source=source,
        product_interest=data.product_interest,
        message=data.message,
        external_id=data.external_id,
        created_by=actor,
        created_at=now,
        stage=Stage.NEW,
        stage_changed_at=now,
    )
    StageChange.objects.create(lead=lead, from_stage="", to_stage=Stage.NEW, at=now, by=actor)
    payload: dict = {
        "channel": channel.slug,
        "campaign": campaign.slug if campaign else None,
        "product_interest": data.product_interest,
        "message": data.message,
        "person_created": person_match.created,
    }
    if company_match is not None:
        payload["company_created"] = company_match.created
    for label, match in (("person", person_match), ("company", company_match)):
        if match is not None and match.filled:
            payload[f"{label}_filled"] = match.filled
        if match is not None and match.differing:
            payload[f"{label}_differing"] = match.differing
    if context:
        payload["context"] = context
    audits = []
    if person_match.created or person_match.filled:
        if person_match.created:
            action, verb = AuditAction.CREATE, "created"
            after = {k: getattr(person, k) for k in ("first_name", "last_name", "email", "phone")}
        else:
            action, verb, after = AuditAction.UPDATE, "completed", person_match.filled
        audits.append(
            audit_entry(
                action=action,
                actor=actor,
                object_type="person",
                object_id=person.uuid,
                person=person,
                summary=f"person {person} {verb} ({source})",
                after=after,
            )
        )
    if company_match is not None and company_match.created:
        audits.append(
            audit_entry(
                action=AuditAction.CREATE,
                actor=actor,
                object_type="company",
                object_id=company_match.obj.uuid,
                person=person,
                summary=f"company {company_match.obj} created",
                after={"name": company_match.obj.name},
            )
        )
    audits.append(
        audit_entry(
            action=AuditAction.CREATE,
            actor=actor,
            object_type="lead",
            object_id=lead.uuid,
            person=person,
            summary=f"lead for {person} created ({source}, {channel.slug})",
            after={
                "stage": Stage.NEW,
                "channel": channel.slug,
                "source": source,
                "campaign": campaign.slug if campaign else None,
            },
        )
    )
    audit_record_many(audits)
    activity = activity_record(
        person=person,
        lead=lead,
        type=_INTAKE_ACTIVITY[source],
        actor=actor,
        subject=data.product_interest or channel.name,
        payload=payload,
        occurred_at=now,
    )
    return IntakeResult(
        lead,
        person_created=person_match.created,
        activity=activity,
        facts_changed=bool(person_match.filled or (company_match and company_match.filled)),
    )


def lead_transition(*, lead: Lead, to_stage: str, actor, reason: str = "") -> StageChange:
    """Move a lead to another stage if the lifecycle allows it; record who, when and why."""
    reason = reason.strip()
    if to_stage not in Stage.values:
        raise DomainValidationError([FieldError(("to",), f"unknown stage '{to_stage}'")])
    with transaction.atomic():
        # Locks only the lead's row; the person comes along for the timeline entry.
        lead = Lead.objects.select_for_update(of=("self",)).select_related("person").get(pk=lead.pk)
        allowed = TRANSITIONS[lead.stage]
        if to_stage not in allowed:
            names = ", ".join(str(Stage(s).label) for s in sorted(allowed)) or _("none")
            raise Conflict(
                _("A lead in stage %(from)s cannot move to %(to)s. Allowed: %(allowed)s.")
                % {"from": Stage(lead.stage).label, "to": Stage(to_stage).label, "allowed": names},
                code="transition_not_allowed",
                extra={"allowed": sorted(allowed)},
            )
        if to_stage in REASON_REQUIRED and not reason:
            raise DomainValidationError(
                [
                    FieldError(
                        ("reason",),
                        _("A reason is required to move a lead to %(to)s.")
                        % {"to": Stage(to_stage).label},
                        "missing",
                    )
                ]
            )
        now = timezone.now()
        from_stage = lead.stage
        lead.stage = to_stage
        lead.stage_changed_at = now
        fields = ["stage", "stage_changed_at", "updated_at"]
        if to_stage in CLOSED_STAGES:
            lead.closed_at = now
            fields.append("closed_at")
        elif lead.closed_at is not None:
            lead.closed_at = None
            fields.append("closed_at")
        lead.save(update_fields=fields)
        change = StageChange.objects.create(
            lead=lead, from_stage=from_stage, to_stage=to_stage, at=now, by=actor, reason=reason
        )
        activity_record(
            person=lead.person,
            lead=lead,
            type=ActivityType.STAGE_CHANGE,
            actor=actor,
            subject=f"{Stage(from_stage).label} → {Stage(to_stage).label}",
            payload={"from": from_stage, "to": to_stage, "reason": reason},
            occurred_at=now,
        )
        audit_record(
            action=AuditAction.STAGE_CHANGE,
            actor=actor,
            object_type="lead",
            object_id=lead.uuid,
            person=lead.person,
            summary=f"{from_stage} → {to_stage}",
            before={"stage": from_stage},
            after={"stage": to_stage, "reason": reason},
        )
        if to_stage == Stage.MQL:
            # The hand-off: routing assigns the new MQL once this transaction has committed.
            transaction.on_commit(
                partial(routing_hooks.route_after_commit, lead_id=lead.pk, trigger="mql"),
                robust=True,
            )
    return change


EDITABLE_FIELDS = ("product_interest", "message", "external_id", "campaign", "owner")


def lead_update(*, lead: Lead, actor, changes: dict) -> Lead:
    """Change editable fields of a lead; the old and new values go on the timeline.

    ``changes`` holds resolved values (a Campaign, a User or None for relations).
    A new owner is an assignment and is recorded as such.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainValidationError(
            [FieldError((name,), "this field cannot be changed here") for name in sorted(unknown)]
        )
    with transaction.atomic():
        # Lock only the lead's row: PostgreSQL refuses FOR UPDATE on the nullable side of
        # the outer joins that select_related makes for owner and campaign.
        lead = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("owner", "campaign")
            .get(pk=lead.pk)
        )
        if (
            changes.get("campaign") is not None
            and changes["campaign"].channel_id != lead.channel_id
        ):
            raise DomainValidationError(
                [FieldError(("campaign",), "the campaign belongs to another channel", "mismatch")]
            )
        if changes.get("external_id"):
            clash = (
                Lead.objects.filter(channel_id=lead.channel_id, external_id=changes["external_id"])
                .exclude(pk=lead.pk)
                .exists()
            )
            if clash:
                raise Conflict(
                    "another lead in this channel has this external_id",
                    code="duplicate_external_id",
                )
        diff = {}
        for name, new in changes.items():
            old = getattr(lead, name)
            if old != new:
                diff[name] = {"from": _display(old), "to": _display(new)}
                setattr(lead, name, new)
        if not diff:
            return lead
        fields = [*diff, "updated_at"]
        now = timezone.now()
        if "owner" in diff:
            lead.assigned_at = now if lead.owner else None
            fields.append("assigned_at")
            audit_record(
                action=AuditAction.ASSIGN,
                actor=actor,
                object_type="lead",
                object_id=lead.uuid,
                person=lead.person,
                summary=f"owner: {diff['owner']['from']} → {diff['owner']['to']}",
                before={"owner": diff["owner"]["from"]},
                after={"owner": diff["owner"]["to"]},
            )
            activity_record(
                person=lead.person,
                lead=lead,
                type=ActivityType.ASSIGNMENT,
                actor=actor,
                subject=str(lead.owner) if lead.owner else _("Unassigned"),
                payload=diff.pop("owner"),
                occurred_at=now,
            )
        lead.save(update_fields=fields)
        if "owner" in fields:
            routing_hooks.owner_changed(lead=lead, actor=actor)
        if diff:
            audit_record(
                action=AuditAction.UPDATE,
                actor=actor,
                object_type="lead",
                object_id=lead.uuid,
                person=lead.person,
                summary=", ".join(diff),
                before={k: v["from"] for k, v in diff.items()},
                after={k: v["to"] for k, v in diff.items()},
            )
            activity_record(
                person=lead.person,
                lead=lead,
                type=ActivityType.UPDATE,
                actor=actor,
                subject=", ".join(diff),
                payload=diff,
                occurred_at=now,
            )
    return lead


def _display(value) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def lead_log_activity(
    *,
    lead: Lead,
    actor,
    type: ActivityType,
    subject: str,
    body: str = "",
    restricted: bool = False,
) -> None:
    """Log a call, e-mail, meeting, note, … on the lead. The first call, e-mail or meeting
    is the lead's first response (it stops the response-time clock). Only notes can be
    ``restricted`` (hidden from marketing and partners)."""
    if restricted and type != ActivityType.NOTE:
        raise DomainValidationError(
            [FieldError(("restricted",), "only notes can be restricted", "not_allowed")]
        )
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        now = timezone.now()
        activity = activity_record(
            person=lead.person,
            lead=lead,
            type=type,
            actor=actor,
            subject=subject,
            payload={"body": body} if body else {},
            occurred_at=now,
            restricted=restricted,
        )
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            object_type="activity",
            object_id=activity.uuid,
            person=lead.person,
            summary=f"{type} logged on lead {lead.uuid}" + (" (restricted)" if restricted else ""),
        )
        if type in RESPONSE_TYPES and lead.first_response_at is None:
            lead.first_response_at = now
            lead.save(update_fields=["first_response_at", "updated_at"])
            routing_hooks.first_response(lead=lead)
        _score(lead)


def _score_intake(result: IntakeResult, *, visitor_joined: bool) -> None:
    """Score the new lead in the intake's transaction (scoring may move it to MQL), taking
    in only the intake's timeline entry where that gives the same result: a new person has
    no other events (unless a visitor's page views were just joined), and the person's
    other scored leads only need the new event unless matching filled a gap that fit rules
    may test."""
    from leadwerk.scoring.services import lead_intake_score, scoring_fact

    lead = result.lead
    if result.activity is None or visitor_joined:
        _score(lead)
        return
    lead_intake_score(
        lead=lead,
        events=[scoring_fact(result.activity)],
        person_new=result.person_created,
        others_changed=result.facts_changed,
    )


def _score(lead: Lead) -> None:
    """Score the lead in the same transaction (scoring may move it to MQL). Imported here:
    scoring builds on leads, not the other way round."""
    from leadwerk.scoring.services import lead_score_refresh

    lead_score_refresh(lead=lead)


def webform_save(*, webform, actor) -> None:
    """Create or change a public web form (validated by its form before)."""
    with transaction.atomic():
        webform.full_clean()
        created = webform._state.adding
        webform.save()
        audit_record(
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            actor=actor,
            object_type="webform",
            object_id=webform.uuid,
            summary=f"web form {webform.name}",
            after={"name": webform.name, "active": webform.is_active},
        )
