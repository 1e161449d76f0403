import uuid
from datetime import time
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .choices import (
    AssignmentStatus,
    DurationUnit,
    Horizon,
    LedgerKind,
    NotificationKind,
    PoolKind,
    RejectionKind,
    RejectionOutcome,
    TargetType,
    TimerState,
    Trigger,
    Weekday,
)

# --- business calendars ----------------------------------------------------------------------


class BusinessCalendar(models.Model):
    """Working hours, the public holidays of a region and company holidays: business time."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Berlin")
    country = models.CharField(_("country"), max_length=2, default="DE")
    subdivision = models.CharField(
        _("region"),
        max_length=20,
        blank=True,
        help_text=_("Federal state or canton whose public holidays apply, e.g. BY or BE."),
    )
    is_default = models.BooleanField(
        _("default"), default=False, help_text=_("Used for teams and pools without a calendar.")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="calendar_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """One working interval on one weekday of a calendar (several per day for breaks)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("until"), help_text=_("00:00 means midnight (end of the day)."))

    class Meta:
        ordering = ["weekday", "starts_at"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="hours_weekday_range"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")) | Q(ends_at=time(0)),
                name="hours_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"


class CompanyHoliday(models.Model):
    """A day off for everyone working by one calendar (e.g. 24 and 31 December)."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="company_holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["date"]
        verbose_name = _("company holiday")
        verbose_name_plural = _("company holidays")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="company_holiday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class TeamCalendar(models.Model):
    """Which business calendar a team works by."""

    team = models.OneToOneField(
        "accounts.Team", on_delete=models.CASCADE, related_name="routing_calendar"
    )
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("team calendar")
        verbose_name_plural = _("team calendars")

    def __str__(self) -> str:
        return f"{self.team} · {self.calendar}"


# --- pools, members, absences ----------------------------------------------------------------


class Pool(models.Model):
    """Sales reps and/or partners among whom leads are distributed fairly."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=PoolKind.choices)
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="routing_pools",
        help_text=_("Its manager receives escalations; its calendar is the pool's default."),
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    horizon = models.CharField(
        _("fairness horizon"), max_length=10, choices=Horizon.choices, default=Horizon.YEAR
    )
    horizon_days = models.PositiveIntegerField(_("days (rolling horizon)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("pool")
        verbose_name_plural = _("pools")
        constraints = [
            models.CheckConstraint(
                condition=~Q(horizon=Horizon.ROLLING) | Q(horizon_days__gte=1),
                name="pool_rolling_needs_days",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PoolMember(models.Model):
    """A user's seat in a pool: their share of the leads, capacity and calendar."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pool_memberships"
    )
    share = models.DecimalField(
        _("share"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.00"),
        help_text=_("1 = full share; 0.5 for half time or a smaller partner tier."),
    )
    capacity = models.PositiveIntegerField(
        _("capacity"),
        null=True,
        blank=True,
        help_text=_("Most open leads at once; empty: no limit."),
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("own working hours"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pool", "user__last_name", "user__first_name"]
        verbose_name = _("pool member")
        verbose_name_plural = _("pool members")
        constraints = [
            models.UniqueConstraint(fields=["pool", "user"], name="pool_member_unique"),
            models.CheckConstraint(condition=Q(share__gt=0), name="pool_member_share_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.pool}"


class Absence(models.Model):
    """A stretch of time a user is out of office and receives no leads."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="absences"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        indexes = [models.Index(fields=["user", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="absence_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d}"


# --- rules -----------------------------------------------------------------------------------


class RoutingRule(models.Model):
    """Conditions on a lead and where a matching lead goes; the first matching rule wins."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default rule"), default=False, help_text=_("Catches every lead no other rule took.")
    )
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    target_type = models.CharField(_("target"), max_length=20, choices=TargetType.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_pool = models.ForeignKey(
        Pool,
        verbose_name=_("pool"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rules",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["is_default", "position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="rule_one_default"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        target_type=TargetType.USER,
                        target_user__isnull=False,
                        target_pool__isnull=True,
                    )
                    | Q(
                        target_type=TargetType.POOL,
                        target_pool__isnull=False,
                        target_user__isnull=True,
                    )
                    | Q(target_type=TargetType.ACCOUNT_OWNER, target_user__isnull=True)
                ),
                name="rule_target_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoutingChannelPolicy(models.Model):
    """Routing settings of one channel: whether its leads skip marketing qualification."""

    channel = models.OneToOneField(
        "campaigns.Channel", on_delete=models.CASCADE, related_name="routing_policy"
    )
    route_at_intake = models.BooleanField(
        _("route at intake"),
        default=False,
        help_text=_("Direct inquiries: assign at once, without waiting for the MQL hand-off."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel routing policy")
        verbose_name_plural = _("channel routing policies")

    def __str__(self) -> str:
        return str(self.channel)


class CustomerAccount(models.Model):
    """An existing customer and the user who owns the account."""

    company = models.OneToOneField(
        "contacts.Company", on_delete=models.CASCADE, related_name="customer_account"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer_accounts",
    )
    customer_since = models.DateField(_("customer since"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer account")
        verbose_name_plural = _("customer accounts")

    def __str__(self) -> str:
        return str(self.company)


# --- assignments and the fairness ledger -----------------------------------------------------


class Assignment(models.Model):
    """One hand-over of a lead to an owner: how the owner was chosen and what they did."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lead_assignments"
    )
    pool = models.ForeignKey(
        Pool, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignments"
    )
    rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_name = models.CharField(_("rule"), max_length=120, blank=True)
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    quality = models.FloatField(_("quality"))
    ready_at = models.DateTimeField(_("ready for sales"))
    assigned_at = models.DateTimeField(_("assigned"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=AssignmentStatus.choices, default=AssignmentStatus.OPEN
    )
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        ordering = ["-assigned_at", "-id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        indexes = [
            models.Index(fields=["lead", "-assigned_at"]),
            models.Index(fields=["user", "status"]),
            models.Index(fields=["assigned_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.user}"


class LedgerEntry(models.Model):
    """One line of a pool's fairness ledger: a lead given or taken back, or an opening balance."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="ledger")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    count = models.FloatField()
    quality = models.FloatField()
    at = models.DateTimeField()
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="ledger_entries"
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [models.Index(fields=["pool", "at"])]

    def __str__(self) -> str:
        return f"{self.pool_id}/{self.user_id} {self.kind} {self.count:+g} ({self.quality:+.2f})"


class UnassignedLead(models.Model):
    """A lead no rule and no member could take; it waits, visibly, in the unassigned queue."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    entered_at = models.DateTimeField(_("since"))
    reasons = models.JSONField(_("why"), default=list, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        ordering = ["entered_at", "id"]
        verbose_name = _("unassigned lead")
        verbose_name_plural = _("unassigned leads")
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=Q(resolved_at__isnull=True), name="unassigned_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} since {self.entered_at:%Y-%m-%d %H:%M}"


# --- accept, reject, return ------------------------------------------------------------------


class RejectionReason(models.Model):
    """A reason sales may give when rejecting a lead; the list is configurable."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label_de = models.CharField(_("label (German)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100)
    requires_text = models.BooleanField(_("needs an explanation"), default=False)
    outcome = models.CharField(
        _("the lead goes"),
        max_length=15,
        choices=RejectionOutcome.choices,
        default=RejectionOutcome.RECYCLED,
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("rejection reason")
        verbose_name_plural = _("rejection reasons")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.label_de if (get_language() or "de").startswith("de") else self.label_en


class LeadRejection(models.Model):
    """A lead rejected or returned by its owner, with the reason: feedback for marketing."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="rejections")
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=RejectionKind.choices)
    reason = models.ForeignKey(
        RejectionReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("explanation"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    facts = models.JSONField(
        default=dict, blank=True, help_text="Channel, fit grade, label and score at the time."
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("lead rejection")
        verbose_name_plural = _("lead rejections")
        indexes = [models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.kind}"


# --- response-time SLA -----------------------------------------------------------------------


class SlaPolicy(models.Model):
    """How soon the first response is due, per channel and label, and what happens if not."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.ForeignKey(
        "campaigns.Channel",
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: every channel."),
    )
    label = models.CharField(
        _("label"), max_length=10, blank=True, help_text=_("cold, warm, hot; empty: every label.")
    )
    response_value = models.PositiveIntegerField(_("respond within"))
    response_unit = models.CharField(
        _("unit"), max_length=10, choices=DurationUnit.choices, default=DurationUnit.DAYS
    )
    reminder_percents = models.JSONField(_("reminders at % of the time"), default=list, blank=True)
    escalate = models.BooleanField(_("escalate to the team manager at the deadline"), default=True)
    reassign_after_minutes = models.PositiveIntegerField(
        _("reassign after (business minutes past the deadline)"),
        null=True,
        blank=True,
        help_text=_("Empty: never reassign automatically."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel__rank", "label"]
        verbose_name = _("response-time policy")
        verbose_name_plural = _("response-time policies")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "label"],
                condition=Q(channel__isnull=False),
                name="sla_unique_channel_label",
            ),
            models.UniqueConstraint(
                fields=["label"], condition=Q(channel__isnull=True), name="sla_unique_any_channel"
            ),
            models.CheckConstraint(condition=Q(response_value__gte=1), name="sla_value_gte_1"),
        ]

    def __str__(self) -> str:
        scope = f"{self.channel or '*'} / {self.label or '*'}"
        return f"{scope}: {self.response_value} {self.response_unit}"


class SlaTimer(models.Model):
    """The response-time clock of one assignment, with its scheduled steps."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="sla_timers")
    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="sla_timer"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    terms = models.JSONField(default=dict, help_text="The policy as it was when the clock started.")
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(_("clock started"))
    due_at = models.DateTimeField(_("due"))
    reminder_times = models.JSONField(default=list, blank=True)
    reassign_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=10, choices=TimerState.choices, default=TimerState.RUNNING, db_index=True
    )
    responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    reminders_sent = models.JSONField(default=list, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("response-time clock")
        verbose_name_plural = _("response-time clocks")
        indexes = [models.Index(fields=["started_at"]), models.Index(fields=["lead", "state"])]

    def __str__(self) -> str:
        return f"{self.lead_id} due {self.due_at:%Y-%m-%d %H:%M}"


# --- in-app notifications --------------------------------------------------------------------


class Notification(models.Model):
    """A message to one user in the app (the inbox badge), also sent by e-mail."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title
