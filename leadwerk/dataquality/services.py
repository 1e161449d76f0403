"""Data care: fixing and verifying records, bounces, points, daily snapshots.

Points are given only for real changes: an edit that changes nothing, a verification of a
record that was verified recently, or a merge that is undone later earn nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.activities.choices import ActivityType
from leadwerk.activities.services import activity_record
from leadwerk.audit.choices import AuditAction
from leadwerk.audit.services import audit_record
from leadwerk.contacts.choices import EmployeeBand, FederalState, Language, Salutation
from leadwerk.contacts.countries import country_code
from leadwerk.contacts.models import Company, Person
from leadwerk.contacts.normalization import (
    InvalidEmail,
    company_name_key,
    company_name_split,
    domain_from_website,
    email_clean,
    email_key,
    federal_state_for,
    legal_form_clean,
    name_clean,
    postal_code_clean,
    title_clean,
    vat_id_clean,
)
from leadwerk.contacts.phone import phone_normalize
from leadwerk.errors import DomainValidationError, FieldError

from .choices import POINTS, CareAction, FlagKind
from .models import CarePoints, QualitySettings, QualitySnapshot, RecordFlag, Verification
from .selectors import global_metrics, quality_settings

VERIFY_AGAIN_AFTER = timedelta(days=30)
PERSON_EDITABLE = (
    "salutation",
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "language",
)
COMPANY_EDITABLE = (
    "name",
    "legal_form",
    "website",
    "industry",
    "employee_band",
    "country",
    "postal_code",
    "city",
    "federal_state",
    "vat_id",
)


def points_award(*, user, action: str, person=None, company=None, detail: str = "", points=None):
    """Book data-care points for a user (with their current team)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    value = POINTS[action] if points is None else points
    if not value:
        return None
    return CarePoints.objects.create(
        user=user,
        team_id=user.team_id,
        action=action,
        points=value,
        person=person,
        company=company,
        detail=detail[:300],
    )


def _clean_person_values(values: dict, *, region: str) -> tuple[dict, list[FieldError]]:
    out, errors = {}, []
    for name, raw in values.items():
        value = " ".join(str(raw).split()) if raw is not None else ""
        if name in ("first_name", "last_name"):
            value = name_clean(value)
        elif name == "title":
            value = title_clean(value)
        elif name == "email" and value:
            try:
                value = email_clean(value)
            except InvalidEmail as exc:
                errors.append(FieldError((name,), _("not a valid e-mail address: %s") % exc))
                continue
        elif name == "phone" and value:
            value, ok = phone_normalize(value, region=region)
            if not ok:
                errors.append(FieldError((name,), _("not a valid phone number")))
                continue
        elif name == "salutation" and value not in Salutation.values:
            errors.append(FieldError((name,), _("unknown salutation")))
            continue
        elif name == "language" and value not in Language.values:
            errors.append(FieldError((name,), _("unsupported language")))
            continue
        out[name] = value
    return out, errors


@transaction.atomic
def person_care_update(*, person: Person, actor, changes: dict) -> int:
    """Correct or complete a person's data. Values are normalised like at intake; invalid
    ones are refused with a message. Returns the points earned (0 for a no-op)."""
    unknown = set(changes) - set(PERSON_EDITABLE) - {"company"}
    if unknown:
        raise DomainValidationError(
            [FieldError((n,), _("this field cannot be changed here")) for n in sorted(unknown)]
        )
    person = (
        Person.objects.select_for_update(of=("self",)).select_related("company").get(pk=person.pk)
    )
    region = (person.company.country if person.company else "") or settings.LEADWERK_DEFAULT_COUNTRY
    values, errors = _clean_person_values(
        {k: v for k, v in changes.items() if k != "company"}, region=region
    )
    if errors:
        raise DomainValidationError(errors)
    config = quality_settings()
    flagged = set(
        RecordFlag.objects.filter(person=person, resolved_at__isnull=True).values_list(
            "field", flat=True
        )
    )
    if person.phone and not person.phone_valid:
        flagged.add("phone")
    diff = {}
    for name, value in values.items():
        old = getattr(person, name)
        if old != value:
            diff[name] = {"from": old, "to": value}
            setattr(person, name, value)
    if "company" in changes and changes["company"] != person.company:
        diff["company"] = {
            "from": str(person.company) if person.company else "",
            "to": str(changes["company"]) if changes["company"] else "",
        }
        person.company = changes["company"]
    if not diff:
        return 0
    if "email" in diff:
        person.email_normalized = email_key(person.email)
    if "phone" in diff:
        person.phone_valid = True
    person.save()
    now = timezone.now()
    RecordFlag.objects.filter(person=person, field__in=list(diff), resolved_at__isnull=True).update(
        resolved_at=now, resolved_by=actor
    )
    activity_record(
        person=person,
        type=ActivityType.UPDATE,
        actor=actor,
        subject=", ".join(diff),
        payload={"kind": "data_care", "changes": diff},
        occurred_at=now,
    )
    audit_record(
        action=AuditAction.UPDATE,
        object_type="person",
        object_id=person.uuid,
        actor=actor,
        person=person,
        summary=f"data care: {', '.join(diff)}"[:300],
        before={k: v["from"] for k, v in diff.items()},
        after={k: v["to"] for k, v in diff.items()},
    )
    earned = 0
    for name, change in diff.items():
        if name in flagged:
            action = CareAction.FIX
        elif change["from"] in ("", None) and name in config.person_required:
            action = CareAction.FILL
        else:
            continue
        award = points_award(user=actor, action=action, person=person, detail=name)
        earned += award.points if award else 0
    return earned


def _clean_company_values(values: dict, *, country: str) -> tuple[dict, list[FieldError]]:
    out, errors = {}, []
    for name, raw in values.items():
        value = " ".join(str(raw).split()) if raw is not None else ""
        if name == "country" and value:
            code = country_code(value)
            if code is None:
                errors.append(FieldError((name,), _("unknown country '%s'") % value))
                continue
            value = code
            country = code
        elif name == "legal_form":
            value = legal_form_clean(value)
        elif name == "vat_id" and value:
            value, ok = vat_id_clean(value)
            if not ok:
                errors.append(FieldError((name,), _("not a valid EU VAT ID")))
                continue
        elif name == "employee_band" and value not in EmployeeBand.values:
            errors.append(FieldError((name,), _("unknown employee band")))
            continue
        elif name == "federal_state" and value not in FederalState.values:
            errors.append(FieldError((name,), _("unknown federal state")))
            continue
        elif name == "website" and value and not domain_from_website(value):
            errors.append(FieldError((name,), _("not a web address")))
            continue
        out[name] = value
    if out.get("postal_code"):
        postal = postal_code_clean(out["postal_code"], country or "")
        if not postal.valid:
            errors.append(FieldError(("postal_code",), postal.note))
        out["postal_code"] = postal.value
    return out, errors


@transaction.atomic
def company_care_update(*, company: Company, actor, changes: dict) -> int:
    """Correct or complete a company's data; returns the points earned."""
    unknown = set(changes) - set(COMPANY_EDITABLE)
    if unknown:
        raise DomainValidationError(
            [FieldError((n,), _("this field cannot be changed here")) for n in sorted(unknown)]
        )
    company = Company.objects.select_for_update().get(pk=company.pk)
    values, errors = _clean_company_values(changes, country=company.country)
    if errors:
        raise DomainValidationError(errors)
    if "name" in values:
        base, form = company_name_split(values["name"])
        values["name"] = base
        if form and not values.get("legal_form") and not company.legal_form:
            values["legal_form"] = form
    config = quality_settings()
    flagged = set(
        RecordFlag.objects.filter(company=company, resolved_at__isnull=True).values_list(
            "field", flat=True
        )
    )
    diff = {}
    for name, value in values.items():
        old = getattr(company, name)
        if old != value:
            diff[name] = {"from": old, "to": value}
            setattr(company, name, value)
    if not diff:
        return 0
    if "name" in diff:
        company.name_key = company_name_key(company.name)
    if "website" in diff:
        company.domain = domain_from_website(company.website)
    if "postal_code" in diff and company.country == "DE" and "federal_state" not in diff:
        company.federal_state = federal_state_for(company.postal_code) or company.federal_state
    company.save()
    audit_record(
        action=AuditAction.UPDATE,
        object_type="company",
        object_id=company.uuid,
        actor=actor,
        summary=f"data care: {', '.join(diff)}"[:300],
        before={k: v["from"] for k, v in diff.items()},
        after={k: v["to"] for k, v in diff.items()},
    )
    now = timezone.now()
    RecordFlag.objects.filter(
        company=company, field__in=list(diff), resolved_at__isnull=True
    ).update(resolved_at=now, resolved_by=actor)
    earned = 0
    for name, change in diff.items():
        if name in flagged:
            action = CareAction.FIX
        elif change["from"] in ("", None) and name in config.company_required:
            action = CareAction.FILL
        else:
            continue
        award = points_award(user=actor, action=action, company=company, detail=name)
        earned += award.points if award else 0
    return earned


@transaction.atomic
def record_verify(*, actor, person: Person | None = None, company: Company | None = None) -> int:
    """Confirm that a record is still correct (it stops being stale). Verifying a record
    that was verified within the last 30 days records nothing and earns nothing."""
    target = {"person": person} if person is not None else {"company": company}
    recent = Verification.objects.filter(
        **target, verified_at__gte=timezone.now() - VERIFY_AGAIN_AFTER
    ).exists()
    if recent:
        return 0
    Verification.objects.create(**target, verified_by=actor)
    if person is not None:
        activity_record(
            person=person,
            type=ActivityType.UPDATE,
            actor=actor,
            subject=_("Data verified"),
            payload={"kind": "verified"},
        )
    award = points_award(user=actor, action=CareAction.VERIFY, **target, detail="verified")
    return award.points if award else 0


@transaction.atomic
def email_mark_bounced(*, person: Person, reason: str = "", actor=None, source: str = "") -> bool:
    """Flag the person's e-mail address as bounced (from a mail system's report or by hand).
    Returns False if it is flagged already."""
    if not person.email:
        raise DomainValidationError([FieldError(("email",), _("the person has no e-mail address"))])
    exists = RecordFlag.objects.filter(
        person=person,
        field="email",
        kind=FlagKind.BOUNCED,
        resolved_at__isnull=True,
        value=person.email,
    ).exists()
    if exists:
        return False
    RecordFlag.objects.create(
        person=person,
        field="email",
        kind=FlagKind.BOUNCED,
        value=person.email,
        reason=(reason or _("e-mail bounced"))[:300],
        source=source[:100],
    )
    audit_record(
        action=AuditAction.UPDATE,
        object_type="person",
        object_id=person.uuid,
        actor=actor,
        person=person,
        summary="e-mail flagged as bounced",
        after={"email_bounced": person.email, "reason": reason},
    )
    activity_record(
        person=person,
        type=ActivityType.UPDATE,
        actor=actor,
        subject=_("E-mail bounced"),
        payload={"kind": "bounce", "email": person.email, "reason": reason},
    )
    return True


def quality_settings_save(
    *, person_required, company_required, stale_after_months
) -> QualitySettings:
    from .choices import COMPANY_FIELDS, PERSON_FIELDS

    errors = []
    bad = [n for n in person_required if n not in PERSON_FIELDS]
    bad += [n for n in company_required if n not in COMPANY_FIELDS]
    if bad:
        errors.append(FieldError(("required",), _("unknown fields: %s") % ", ".join(bad)))
    if not 1 <= int(stale_after_months) <= 120:
        errors.append(FieldError(("stale_after_months",), _("between 1 and 120 months")))
    if errors:
        raise DomainValidationError(errors)
    config = QualitySettings.objects.order_by("id").first() or QualitySettings()
    config.person_required = list(person_required)
    config.company_required = list(company_required)
    config.stale_after_months = int(stale_after_months)
    config.save()
    return config


def snapshot_take(*, day=None) -> QualitySnapshot:
    """Record today's whole-database figures (one snapshot per day; taking it again
    replaces the day's figures)."""
    day = day or timezone.localdate()
    snapshot, _created = QualitySnapshot.objects.update_or_create(
        day=day, defaults={"metrics": global_metrics()}
    )
    return snapshot
