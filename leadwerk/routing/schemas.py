"""API shapes for routing, assignment answers, SLA and reports."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from leadwerk.leads.intake import Line, Text
from leadwerk.leads.schemas import UserRef

from .choices import DurationUnit, Horizon, PoolKind, RejectionOutcome, TargetType


def _iso_only(value: object) -> object:
    """Refuse numbers: pydantic would read '0' as a Unix time, the schema says ISO 8601."""
    number = r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*"
    if not isinstance(value, str | date) or re.fullmatch(number, str(value)):
        raise ValueError("ISO 8601, e.g. 2026-01-31 or 2026-01-31T08:00:00+01:00")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_only)]
# Kept in UTC: any offset a client sends (even +23:59) is fine, and databases store UTC.
IsoDateTime = Annotated[
    AwareDatetime, BeforeValidator(_iso_only), AfterValidator(lambda v: v.astimezone(UTC))
]
# A wall-clock time of day, "08:00"; "24:00" ends a working day at midnight.
ClockTime = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["08:00"])]


class _In(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- rules -----------------------------------------------------------------------------------


class PoolRef(Schema):
    id: UUID
    name: str


class RuleIn(_In):
    name: Line = Field(..., min_length=1, max_length=120)
    conditions: dict[str, Any] = Field(
        default_factory=dict,
        description="countries, federal_states, postal_codes, industries, company_sizes, "
        "employees_min, employees_max, product_interests, channels, campaigns, fit_grades, "
        "labels, existing_customer",
    )
    target_type: Literal[tuple(TargetType.values)]  # type: ignore[valid-type]
    target_user: UUID | None = None
    target_pool: UUID | None = None
    is_active: bool = True
    is_default: bool = False


class RulePatchIn(_In):
    name: Line | None = Field(None, min_length=1, max_length=120)
    conditions: dict[str, Any] | None = None
    target_type: Literal[tuple(TargetType.values)] | None = None  # type: ignore[valid-type]
    target_user: UUID | None = None
    target_pool: UUID | None = None
    is_active: bool | None = None


class RuleOut(Schema):
    id: UUID
    name: str
    position: int
    is_active: bool
    is_default: bool
    conditions: dict[str, Any]
    target_type: str
    target_user: UserRef | None
    target_pool: PoolRef | None


class RuleMoveIn(_In):
    position: int = Field(..., ge=1, le=10_000, description="1 = first")


class SampleLeadIn(_In):
    """A made-up lead for the rule test; leave out what you do not know."""

    country: Line = Field("", max_length=2)
    federal_state: Line = Field("", max_length=2)
    postal_code: Line = Field("", max_length=12)
    industry: Line = Field("", max_length=100)
    employees: int | None = Field(None, ge=0)
    employee_band: Line = Field("", max_length=10)
    product_interest: Line = Field("", max_length=200)
    channel: Line = Field("", max_length=50)
    campaign: Line = Field("", max_length=80)
    existing_customer: bool = False
    account_owner: UUID | None = None
    fit_grade: Line = Field("", max_length=1)
    label: Line = Field("", max_length=10)
    score: float | None = Field(None, ge=0, le=100)


class RuleTestIn(_In):
    """Either an existing lead or a made-up one."""

    lead_id: UUID | None = None
    lead: SampleLeadIn | None = None

    @model_validator(mode="after")
    def _one(self) -> RuleTestIn:
        if (self.lead_id is None) == (self.lead is None):
            raise ValueError("give either lead_id or lead")
        return self


class ConditionOut(Schema):
    field: str
    expected: Any
    actual: Any
    ok: bool


class TrailOut(Schema):
    rule: str
    matched: bool
    taken: bool
    detail: str


class DecisionOut(Schema):
    rule: str | None
    assignee: UserRef | None
    pool: str | None
    quality: float
    trail: list[TrailOut]


class RuleTestOut(Schema):
    rule: str | None
    matches: bool | None
    conditions: list[ConditionOut]
    decision: DecisionOut


# --- pools, members, absences ----------------------------------------------------------------


class MemberOut(Schema):
    user: UserRef
    share: Decimal
    capacity: int | None
    calendar: str | None
    is_active: bool
    is_partner: bool


class PoolOut(Schema):
    id: UUID
    name: str
    kind: str
    team: str | None
    calendar: str | None
    horizon: str
    horizon_days: int | None
    is_active: bool
    members: list[MemberOut]


class PoolIn(_In):
    name: Line = Field(..., min_length=1, max_length=120)
    kind: Literal[tuple(PoolKind.values)]  # type: ignore[valid-type]
    team: UUID | None = None
    calendar: UUID | None = None
    horizon: Literal[tuple(Horizon.values)] = Horizon.YEAR  # type: ignore[valid-type]
    horizon_days: int | None = Field(None, ge=1, le=3660)
    is_active: bool = True


class MemberIn(_In):
    user: UUID
    share: Decimal | None = Field(None, description="Default 1; partners by tier")
    capacity: int | None = Field(None, description="Most open leads at once; null: no limit")
    calendar: UUID | None = None


class MemberPatchIn(_In):
    share: Decimal | None = None
    capacity: int | None = None
    calendar: UUID | None = None
    is_active: bool | None = None


class AbsenceIn(_In):
    user: UUID | None = Field(None, description="Default: yourself")
    starts_at: IsoDateTime
    ends_at: IsoDateTime
    note: Line = Field("", max_length=200)


class AbsenceOut(Schema):
    id: UUID
    user: UserRef
    starts_at: datetime
    ends_at: datetime
    note: str


# --- calendars -------------------------------------------------------------------------------


class HoursIn(_In):
    weekday: int = Field(..., ge=0, le=6, description="0 = Monday")
    starts_at: ClockTime
    ends_at: ClockTime = Field(..., description="24:00 = midnight")


class HolidayIn(_In):
    date: IsoDate
    name: Line = Field(..., max_length=100)


class CalendarIn(_In):
    name: Line = Field(..., min_length=1, max_length=120)
    time_zone: Line = Field("Europe/Berlin", max_length=64)
    country: Line = Field("DE", max_length=2)
    subdivision: Line = Field("", max_length=20, description="e.g. BY, BE; empty: nationwide")
    is_default: bool = False
    hours: list[HoursIn] = Field(..., max_length=50)
    company_holidays: list[HolidayIn] = Field(default_factory=list, max_length=400)


class HoursOut(Schema):
    weekday: int
    starts_at: str = Field(description="HH:MM, wall clock in the calendar's time zone")
    ends_at: str = Field(description="HH:MM; 24:00 = midnight")


class HolidayOut(Schema):
    date: date
    name: str


class CalendarOut(Schema):
    id: UUID
    name: str
    time_zone: str
    country: str
    subdivision: str
    is_default: bool
    hours: list[HoursOut]
    company_holidays: list[HolidayOut]


class TeamCalendarIn(_In):
    calendar: UUID | None


class DueOut(Schema):
    start: datetime
    due: datetime
    business_minutes: float


# --- policies --------------------------------------------------------------------------------


class SlaPolicyIn(_In):
    channel: Line | None = Field(None, max_length=50, description="Channel slug; null: all")
    label: Line = Field("", max_length=10)
    response_value: int = Field(..., ge=1, le=100_000)
    response_unit: Literal[tuple(DurationUnit.values)] = DurationUnit.DAYS  # type: ignore[valid-type]
    reminder_percents: list[int] = Field(default_factory=lambda: [50, 90], max_length=10)
    escalate: bool = True
    reassign_after_minutes: int | None = Field(None, ge=0, le=1_000_000)
    is_active: bool = True


class SlaPolicyOut(Schema):
    id: UUID
    channel: str | None
    label: str
    response_value: int
    response_unit: str
    reminder_percents: list[int]
    escalate: bool
    reassign_after_minutes: int | None
    is_active: bool


class ReasonIn(_In):
    code: Line = Field(..., max_length=40)
    label_de: Line = Field(..., max_length=100)
    label_en: Line = Field(..., max_length=100)
    requires_text: bool = False
    outcome: Literal[tuple(RejectionOutcome.values)] = RejectionOutcome.RECYCLED  # type: ignore[valid-type]
    position: int = Field(0, ge=0, le=100_000)
    is_active: bool = True


class ReasonOut(Schema):
    code: str
    label_de: str
    label_en: str
    requires_text: bool
    outcome: str
    position: int
    is_active: bool


class AccountIn(_In):
    owner: UUID | None = Field(None, description="The account owner; null: none")
    customer_since: IsoDate | None = None


class AccountOut(Schema):
    company_id: UUID
    company: str
    owner: UserRef | None
    customer_since: date | None


class ChannelPolicyIn(_In):
    route_at_intake: bool


class ChannelPolicyOut(Schema):
    channel: str
    route_at_intake: bool


# --- answering a lead ------------------------------------------------------------------------


class AcceptIn(_In):
    contacted: bool = Field(False, description="You already reached the person (stops the clock)")
    note: Text = Field("", max_length=2000)


class RejectIn(_In):
    reason: Line = Field(..., max_length=40, description="A code from /routing/rejection-reasons")
    text: Text = Field("", max_length=2000)


class AssignmentOut(Schema):
    id: UUID
    lead_id: UUID
    user: UserRef
    pool: str | None
    rule: str
    trigger: str
    quality: float
    ready_at: datetime
    assigned_at: datetime
    status: str
    due_at: datetime | None


class RouteOut(Schema):
    lead_id: UUID
    assigned_to: UserRef | None
    queued: bool
    detail: str
    trail: list[TrailOut]


# --- queue, reports, notifications -----------------------------------------------------------


class QueueItemOut(Schema):
    lead_id: UUID
    person: str
    company: str | None
    channel: str
    stage: str
    since: datetime
    reasons: list[TrailOut]


class FairnessRowOut(Schema):
    user: UserRef
    is_partner: bool
    is_member: bool
    share: float | None
    count: float
    quality: float
    mean_quality: float | None
    target_share: float | None
    actual_share: float | None
    quality_share: float | None


class FairnessOut(Schema):
    pool: str
    start: datetime
    end: datetime
    total_count: float
    total_quality: float
    quality_gini: float
    count_gini: float
    mean_quality_ratio: float | None
    groups: dict[str, dict]
    rows: list[FairnessRowOut]


class SlaRowOut(Schema):
    key: str
    label: str
    clocks: int
    met: int
    missed: int
    pending: int
    met_percent: float | None
    median_response_minutes: float | None
    p90_response_minutes: float | None
    median_assignment_minutes: float | None
    p90_assignment_minutes: float | None


class WaitingOut(Schema):
    lead_id: UUID
    person: str
    company: str | None
    channel: str
    owner: UserRef
    started_at: datetime
    due_at: datetime
    business_minutes_left: float


class NotificationOut(Schema):
    id: UUID
    kind: str
    title: str
    body: str
    lead_id: UUID | None
    created_at: datetime
    read_at: datetime | None
    emailed_at: datetime | None
