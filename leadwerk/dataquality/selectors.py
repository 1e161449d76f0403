"""Reads for data quality: completeness, fill rates, staleness, flags, trends, worst
offenders, data-care tasks and the leaderboard. Always through the user's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import (
    Case,
    Count,
    Exists,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone

from leadwerk.accounts.models import Team
from leadwerk.activities.models import Activity
from leadwerk.contacts.selectors import company_scope, person_scope
from leadwerk.dedup.choices import CandidateStatus
from leadwerk.dedup.models import DuplicateCandidate
from leadwerk.leads.selectors import lead_scope

from .choices import COMPANY_FIELDS, PERSON_FIELDS, FlagKind
from .models import CarePoints, QualitySettings, QualitySnapshot, RecordFlag, Verification


def quality_settings() -> QualitySettings:
    return QualitySettings.objects.order_by("id").first() or QualitySettings()


def _present(name: str, entity: str) -> Q:
    if entity == "person" and name == "company":
        return Q(company__isnull=False)
    if entity == "company" and name == "employee_band":
        return ~Q(employee_band="") | Q(employees__isnull=False)
    return ~Q(**{name: ""})


def completeness_expression(required: list[str], entity: str):
    """Share (0–1) of the required fields a record has filled."""
    if not required:
        return Value(1.0, output_field=FloatField())
    total = sum(
        (Case(When(_present(n, entity), then=1), default=0, output_field=IntegerField()))
        for n in required
    )
    return Cast(total, FloatField()) / float(len(required))


def stale_q(entity: str, months: int) -> Q:
    """Records not touched for ``months`` months: not changed, nothing on their timeline
    (for a company: on its people's timelines), not verified."""
    cutoff = timezone.now() - timedelta(days=30 * months)
    verified = Verification.objects.filter(**{entity: OuterRef("pk")}, verified_at__gte=cutoff)
    lookup = "person" if entity == "person" else "person__company"
    active = Activity.objects.filter(**{lookup: OuterRef("pk")}, occurred_at__gte=cutoff)
    return Q(updated_at__lt=cutoff) & ~Q(Exists(verified)) & ~Q(Exists(active))


def _open_flags(entity: str, kind: str | None = None):
    qs = RecordFlag.objects.filter(**{entity: OuterRef("pk")}, resolved_at__isnull=True)
    return qs.filter(kind=kind) if kind else qs


@dataclass
class Figures:
    records: int
    complete: int
    average: float  # mean completeness, 0–1
    fill_rates: list[tuple[str, object, float]]  # field, label, share filled
    stale: int
    flagged: int
    bounced: int


def _figures(qs: QuerySet, entity: str, required: list[str], months: int) -> Figures:
    fields = PERSON_FIELDS if entity == "person" else COMPANY_FIELDS
    aggregates = {f"fill_{name}": Count("id", filter=_present(name, entity)) for name in fields}
    annotated = qs.annotate(score=completeness_expression(required, entity))
    row = annotated.aggregate(
        records=Count("id"),
        complete=Count("id", filter=Q(score__gte=0.999)),
        score_sum=Sum("score"),
        stale=Count("id", filter=stale_q(entity, months)),
        flagged=Count("id", filter=Q(Exists(_open_flags(entity, FlagKind.INVALID)))),
        bounced=Count("id", filter=Q(Exists(_open_flags(entity, FlagKind.BOUNCED)))),
        **aggregates,
    )
    n = row["records"] or 0
    flagged = row["flagged"]
    if entity == "person":
        flagged += (
            qs.filter(phone_valid=False)
            .exclude(phone="")
            .exclude(Exists(_open_flags(entity, FlagKind.INVALID)))
            .count()
        )
    return Figures(
        records=n,
        complete=row["complete"],
        average=(row["score_sum"] or 0) / n if n else 1.0,
        fill_rates=[
            (name, label, (row[f"fill_{name}"] / n) if n else 0.0) for name, label in fields.items()
        ],
        stale=row["stale"],
        flagged=flagged,
        bounced=row["bounced"],
    )


def person_figures(*, user) -> Figures:
    config = quality_settings()
    return _figures(
        person_scope(user=user), "person", config.person_required, config.stale_after_months
    )


def company_figures(*, user) -> Figures:
    config = quality_settings()
    return _figures(
        company_scope(user=user), "company", config.company_required, config.stale_after_months
    )


def global_metrics() -> dict:
    """Whole-database figures for the daily snapshot."""
    from leadwerk.contacts.models import Company, Person

    config = quality_settings()
    people = _figures(
        Person.objects.all(), "person", config.person_required, config.stale_after_months
    )
    companies = _figures(
        Company.objects.all(), "company", config.company_required, config.stale_after_months
    )
    return {
        "persons": people.records,
        "person_completeness": round(people.average, 4),
        "persons_complete": people.complete,
        "persons_stale": people.stale,
        "persons_flagged": people.flagged,
        "persons_bounced": people.bounced,
        "companies": companies.records,
        "company_completeness": round(companies.average, 4),
        "companies_stale": companies.stale,
        "companies_flagged": companies.flagged,
        "open_duplicates": DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN).count(),
        "fill_rates": {name: round(rate, 4) for name, _label, rate in people.fill_rates},
    }


def snapshots(*, days: int = 90) -> list[QualitySnapshot]:
    since = timezone.localdate() - timedelta(days=days)
    return list(QualitySnapshot.objects.filter(day__gte=since).order_by("day"))


def worst_persons(*, user, limit: int = 10):
    """The people in the user's scope with the lowest completeness, most leads first."""
    config = quality_settings()
    return (
        person_scope(user=user)
        .filter(erasure__isnull=True)  # an anonymised person is no record to complete
        .select_related("company")
        .annotate(
            score=completeness_expression(config.person_required, "person"),
            lead_count=Count("leads"),
            open_flags=Count(
                "id",
                filter=Q(Exists(_open_flags("person"))),
            ),
        )
        .filter(score__lt=0.999)
        .order_by("score", "-lead_count", "id")[:limit]
    )


def worst_companies(*, user, limit: int = 10):
    config = quality_settings()
    return (
        company_scope(user=user)
        .annotate(
            score=completeness_expression(config.company_required, "company"),
            person_count=Count("persons"),
        )
        .filter(score__lt=0.999)
        .order_by("score", "-person_count", "id")[:limit]
    )


def person_quality(*, person) -> dict:
    """Completeness, missing fields, open flags and the last verification of one person."""
    config = quality_settings()
    missing = [
        (name, PERSON_FIELDS.get(name, name))
        for name in config.person_required
        if (name == "company" and person.company_id is None)
        or (name != "company" and not getattr(person, name, ""))
    ]
    required = len(config.person_required) or 1
    flags = list(RecordFlag.objects.filter(person=person, resolved_at__isnull=True))
    last = Verification.objects.filter(person=person).order_by("-verified_at").first()
    return {
        "score": (required - len(missing)) / required if config.person_required else 1.0,
        "missing": missing,
        "flags": flags,
        "phone_invalid": bool(person.phone)
        and not person.phone_valid
        and not any(f.field == "phone" for f in flags),
        "verified": last,
        "stale": _is_stale(person, "person", config.stale_after_months),
    }


def company_quality(*, company) -> dict:
    config = quality_settings()
    missing = [
        (name, COMPANY_FIELDS.get(name, name))
        for name in config.company_required
        if not (
            getattr(company, name, "")
            or (name == "employee_band" and company.employees is not None)
        )
    ]
    required = len(config.company_required) or 1
    flags = list(RecordFlag.objects.filter(company=company, resolved_at__isnull=True))
    last = Verification.objects.filter(company=company).order_by("-verified_at").first()
    return {
        "score": (required - len(missing)) / required if config.company_required else 1.0,
        "missing": missing,
        "flags": flags,
        "verified": last,
        "stale": _is_stale(company, "company", config.stale_after_months),
    }


def _is_stale(obj, entity: str, months: int) -> bool:
    model = type(obj)
    return model.objects.filter(pk=obj.pk).filter(stale_q(entity, months)).exists()


# --- data-care tasks -------------------------------------------------------------------


def my_people(*, user) -> QuerySet:
    """The people a user looks after: those of the leads they own or brought in (not the
    erased ones: nobody is to fill their data in again)."""
    mine = lead_scope(user=user).filter(Q(owner=user) | Q(created_by=user))
    return person_scope(user=user).filter(
        Exists(mine.filter(person_id=OuterRef("pk"))), erasure__isnull=True
    )


@dataclass
class CareTask:
    key: str
    label: object
    count: int
    people: list


def care_tasks(*, user, limit: int = 10) -> list[CareTask]:
    """The user's open data-care tasks: their people with a required field missing, an
    invalid or bounced value, or no care for too long."""
    from django.utils.translation import gettext_lazy as _

    config = quality_settings()
    base = my_people(user=user).select_related("company").order_by("last_name", "first_name", "id")
    tasks = []
    for name in config.person_required:
        missing = base.filter(~_present(name, "person"))
        label = _("missing: %(field)s") % {"field": PERSON_FIELDS.get(name, name)}
        tasks.append(CareTask(f"missing_{name}", label, missing.count(), list(missing[:limit])))
    flagged = base.filter(
        Q(Exists(_open_flags("person", FlagKind.INVALID))) | (Q(phone_valid=False) & ~Q(phone=""))
    )
    tasks.append(
        CareTask("invalid", _("invalid values to fix"), flagged.count(), list(flagged[:limit]))
    )
    bounced = base.filter(Exists(_open_flags("person", FlagKind.BOUNCED)))
    tasks.append(
        CareTask("bounced", _("bounced e-mail addresses"), bounced.count(), list(bounced[:limit]))
    )
    stale = base.filter(stale_q("person", config.stale_after_months))
    tasks.append(
        CareTask(
            "stale",
            _("not checked for %(n)s months") % {"n": config.stale_after_months},
            stale.count(),
            list(stale[:limit]),
        )
    )
    return [t for t in tasks if t.count]


# --- leaderboard -----------------------------------------------------------------------


def week_start(now=None):
    now = timezone.localtime(now or timezone.now())
    start = now - timedelta(days=now.weekday())
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class TeamBoard:
    team: Team | None
    rows: list[dict]


def leaderboard(*, user, when=None) -> list[TeamBoard]:
    """This week's data-care points per team (the user's own team first; managers and
    admins see every team)."""
    from leadwerk.accounts.selectors import user_sees_everything

    start = week_start(when)
    end = start + timedelta(days=7)
    qs = CarePoints.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    managed = list(Team.objects.filter(manager=user).values_list("id", flat=True))
    if not user_sees_everything(user):
        qs = qs.filter(Q(team_id=user.team_id) | Q(team_id__in=managed) | Q(user=user))
    rows = (
        qs.values("team_id", "user_id", "user__username", "user__first_name", "user__last_name")
        .annotate(points=Sum("points"), actions=Count("id"))
        .order_by("team_id", "-points", "user__username")
    )
    teams = {t.id: t for t in Team.objects.all()}
    boards: dict[int | None, TeamBoard] = {}
    for row in rows:
        board = boards.setdefault(row["team_id"], TeamBoard(teams.get(row["team_id"]), []))
        name = f"{row['user__first_name']} {row['user__last_name']}".strip()
        board.rows.append(
            {
                "name": name or row["user__username"],
                "points": row["points"],
                "actions": row["actions"],
                "me": row["user_id"] == user.id,
            }
        )
    order = sorted(
        boards.values(),
        key=lambda b: (b.team is None or b.team.id != user.team_id, b.team.name if b.team else "~"),
    )
    return order


def my_points(*, user, when=None) -> int:
    start = week_start(when)
    return (
        CarePoints.objects.filter(user=user, occurred_at__gte=start).aggregate(s=Sum("points"))["s"]
        or 0
    )
