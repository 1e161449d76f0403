from django.db import models
from django.utils.translation import gettext_lazy as _


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class PoolKind(models.TextChoices):
    """Who sits in a pool: direct sales, partners, or both."""

    TEAM = "team", _("Team pool (direct sales)")
    PARTNER = "partner", _("Partner pool")
    MIXED = "mixed", _("Mixed pool (direct sales and partners)")


class Horizon(models.TextChoices):
    """Over which stretch of time a pool keeps its members level."""

    YEAR = "year", _("Calendar year")
    QUARTER = "quarter", _("Calendar quarter")
    MONTH = "month", _("Calendar month")
    ROLLING = "rolling", _("Rolling number of days")


class TargetType(models.TextChoices):
    """Where a routing rule sends a matching lead."""

    USER = "user", _("A user")
    POOL = "pool", _("A pool")
    ACCOUNT_OWNER = "account_owner", _("The account owner (existing customers)")


class Trigger(models.TextChoices):
    """What started a routing run."""

    MQL = "mql", _("Became MQL")
    INTAKE = "intake", _("Direct inquiry at intake")
    MANUAL = "manual", _("Assigned by hand")
    RETRY = "retry", _("Routed again")
    REASSIGNMENT = "reassignment", _("Reassigned after missed response time")
    PARTNER_RETURN = "partner_return", _("Returned by partner")


class AssignmentStatus(models.TextChoices):
    OPEN = "open", _("Waiting for acceptance")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned by partner")
    REASSIGNED = "reassigned", _("Reassigned")
    RELEASED = "released", _("Owner changed")


ACTIVE_ASSIGNMENT = frozenset({AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED})


class LedgerKind(models.TextChoices):
    """Lines of a pool's fairness ledger."""

    ASSIGNMENT = "assignment", _("Lead given")
    REVERSAL = "reversal", _("Lead taken back")
    OPENING = "opening", _("Opening balance")


class RejectionOutcome(models.TextChoices):
    """Where a rejected lead goes."""

    RECYCLED = "recycled", _("Back to marketing (nurturing)")
    DISQUALIFIED = "disqualified", _("Disqualified")


class RejectionKind(models.TextChoices):
    REJECTED = "rejected", _("Rejected by sales")
    RETURNED = "returned", _("Returned by partner")


class DurationUnit(models.TextChoices):
    MINUTES = "minutes", _("business minutes")
    HOURS = "hours", _("business hours")
    DAYS = "days", _("business days")


class TimerState(models.TextChoices):
    RUNNING = "running", _("Running")
    RESPONDED = "responded", _("Responded")
    CANCELLED = "cancelled", _("Stopped")


class TimerStep(models.TextChoices):
    """The scheduled steps of a response-time clock."""

    REMINDER = "reminder", _("Reminder")
    BREACH = "breach", _("Deadline passed")
    REASSIGN = "reassign", _("Reassignment")


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("New lead for you")
    REMINDER = "reminder", _("Response time reminder")
    ESCALATION = "escalation", _("Response time missed")
    REASSIGNED_AWAY = "reassigned_away", _("Lead reassigned")
    UNASSIGNED = "unassigned", _("Lead could not be assigned")
    RETURNED = "returned", _("Lead returned by partner")


class FitGrade(models.TextChoices):
    """Fit grades of the scoring model (issue 3)."""

    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Label(models.TextChoices):
    """Score labels of the scoring model (issue 3)."""

    COLD = "cold", _("cold")
    WARM = "warm", _("warm")
    HOT = "hot", _("hot")
