"""Forms of the routing pages. They turn what a manager types into the services' arguments;
validation is the services' (and the rule-condition schema's), so the UI refuses exactly
what the API refuses."""

from __future__ import annotations

import re
from datetime import date, time

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from leadwerk.accounts.models import Team
from leadwerk.campaigns.models import Campaign, Channel
from leadwerk.contacts.choices import EmployeeBand, FederalState
from leadwerk.errors import DomainValidationError

from .choices import (
    DurationUnit,
    FitGrade,
    Horizon,
    Label,
    PoolKind,
    RejectionOutcome,
    TargetType,
    Weekday,
)
from .models import BusinessCalendar, Pool, RejectionReason

_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def add_domain_errors(form: forms.Form, exc: DomainValidationError, field_of=None) -> None:
    """Attach a service's errors to the form fields they name (else to the form)."""
    for error in exc.errors:
        name = field_of(error.loc) if field_of else (str(error.loc[0]) if error.loc else None)
        form.add_error(name if name in form.fields else None, error.msg)


def _words(text: str) -> list[str]:
    return [w.strip() for w in re.split(r"[,;\n]", text or "") if w.strip()]


def _users():
    return get_user_model().objects.filter(is_active=True).order_by("last_name", "username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} ({obj.partner})" if obj.partner_id else str(obj)


# --- rules ------------------------------------------------------------------------------------


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    target_type = forms.ChoiceField(label=_("Target"), choices=TargetType.choices)
    target_user = UserChoiceField(label=_("User"), queryset=_users(), required=False)
    target_pool = forms.ModelChoiceField(
        label=_("Pool"), queryset=Pool.objects.all(), required=False
    )
    countries = forms.CharField(
        label=_("Countries"), required=False, help_text=_("ISO codes, e.g. DE, AT, CH")
    )
    federal_states = forms.MultipleChoiceField(
        label=_("Federal states"),
        choices=[c for c in FederalState.choices if c[0]],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    postal_codes = forms.CharField(
        label=_("Postal codes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Ranges like 80000-87999 or single codes, separated by commas"),
    )
    industries = forms.CharField(label=_("Industries"), required=False)
    company_sizes = forms.MultipleChoiceField(
        label=_("Company sizes"),
        choices=[c for c in EmployeeBand.choices if c[0]],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    employees_min = forms.IntegerField(label=_("Employees from"), required=False)
    employees_max = forms.IntegerField(label=_("Employees up to"), required=False)
    product_interests = forms.CharField(
        label=_("Product interest contains"), required=False, help_text=_("Words, by commas")
    )
    channels = forms.ModelMultipleChoiceField(
        label=_("Channels"),
        queryset=Channel.objects.all(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    campaigns = forms.ModelMultipleChoiceField(
        label=_("Campaigns"),
        queryset=Campaign.objects.all(),
        to_field_name="slug",
        required=False,
    )
    fit_grades = forms.MultipleChoiceField(
        label=_("Fit grades"),
        choices=FitGrade.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    labels = forms.MultipleChoiceField(
        label=_("Labels"),
        choices=Label.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    existing_customer = forms.ChoiceField(
        label=_("Existing customer"),
        choices=[
            ("", _("either")),
            ("yes", _("only existing customers")),
            ("no", _("only new prospects")),
        ],
        required=False,
    )

    LIST_TEXT = ("countries", "industries", "product_interests", "postal_codes")
    RULE_FIELDS = ("name", "is_active", "target_type", "target_user", "target_pool")

    def condition_fields(self) -> list:
        return [self[name] for name in self.fields if name not in self.RULE_FIELDS]

    @classmethod
    def initial_for(cls, rule) -> dict:
        c = rule.conditions
        initial = {
            "name": rule.name,
            "is_active": rule.is_active,
            "target_type": rule.target_type,
            "target_user": rule.target_user_id,
            "target_pool": rule.target_pool_id,
            "existing_customer": {True: "yes", False: "no"}.get(c.get("existing_customer"), ""),
        }
        for key in cls.LIST_TEXT:
            initial[key] = ", ".join(c.get(key, []))
        for key in (
            "federal_states",
            "company_sizes",
            "fit_grades",
            "labels",
            "channels",
            "campaigns",
            "employees_min",
            "employees_max",
        ):
            if key in c:
                initial[key] = c[key]
        return initial

    def conditions(self) -> dict:
        d = self.cleaned_data
        result: dict = {}
        for key in self.LIST_TEXT:
            if _words(d.get(key)):
                result[key] = _words(d[key])
        for key in ("federal_states", "company_sizes", "fit_grades", "labels"):
            if d.get(key):
                result[key] = list(d[key])
        for key in ("channels", "campaigns"):
            if d.get(key):
                result[key] = [x.slug for x in d[key]]
        for key in ("employees_min", "employees_max"):
            if d.get(key) is not None:
                result[key] = d[key]
        if d.get("existing_customer"):
            result["existing_customer"] = d["existing_customer"] == "yes"
        return result


def rule_error_field(loc: tuple) -> str | None:
    if loc and loc[0] == "conditions":
        return str(loc[1]) if len(loc) > 1 else None
    return str(loc[0]) if loc else None


class RuleTestForm(forms.Form):
    """A made-up lead for the rule test."""

    country = forms.CharField(label=_("Country"), max_length=2, required=False, initial="DE")
    federal_state = forms.ChoiceField(
        label=_("Federal state"), choices=FederalState.choices, required=False
    )
    postal_code = forms.CharField(label=_("Postal code"), max_length=12, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    employees = forms.IntegerField(label=_("Employees"), min_value=0, required=False)
    product_interest = forms.CharField(label=_("Product interest"), max_length=200, required=False)
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.all(), to_field_name="slug", required=False
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.all(),
        to_field_name="slug",
        required=False,
    )
    fit_grade = forms.ChoiceField(
        label=_("Fit grade"), choices=[("", "—"), *FitGrade.choices], required=False
    )
    label = forms.ChoiceField(label=_("Label"), choices=[("", "—"), *Label.choices], required=False)
    existing_customer = forms.BooleanField(label=_("Existing customer"), required=False)
    account_owner = UserChoiceField(label=_("Account owner"), queryset=_users(), required=False)

    def sample(self) -> dict:
        d = self.cleaned_data
        channel = d.get("channel")
        return {
            "country": d.get("country", ""),
            "federal_state": d.get("federal_state", ""),
            "postal_code": d.get("postal_code", ""),
            "industry": d.get("industry", ""),
            "employees": d.get("employees"),
            "product_interest": d.get("product_interest", ""),
            "channel": channel.slug if channel else "",
            "channel_value": float(channel.value_weight) if channel else None,
            "campaign": d["campaign"].slug if d.get("campaign") else "",
            "fit_grade": d.get("fit_grade") or None,
            "label": d.get("label") or None,
            "existing_customer": d.get("existing_customer", False),
            "account_owner_id": d["account_owner"].pk if d.get("account_owner") else None,
        }


# --- pools ------------------------------------------------------------------------------------


class PoolForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=PoolKind.choices)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    calendar = forms.ModelChoiceField(
        label=_("Calendar"),
        queryset=BusinessCalendar.objects.all(),
        required=False,
        help_text=_("Empty: the team's calendar, else the default calendar."),
    )
    horizon = forms.ChoiceField(label=_("Fairness horizon"), choices=Horizon.choices)
    horizon_days = forms.IntegerField(label=_("Days (rolling)"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class MemberForm(forms.Form):
    user = UserChoiceField(label=_("User"), queryset=_users())
    share = forms.DecimalField(
        label=_("Share"),
        required=False,
        max_digits=6,
        decimal_places=2,
        help_text=_("1 = full; empty: 1, partners by tier"),
    )
    capacity = forms.IntegerField(label=_("Capacity"), required=False)
    calendar = forms.ModelChoiceField(
        label=_("Own working hours"), queryset=BusinessCalendar.objects.all(), required=False
    )


class MemberEditForm(forms.Form):
    share = forms.DecimalField(label=_("Share"), max_digits=6, decimal_places=2)
    capacity = forms.IntegerField(label=_("Capacity"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class AbsenceForm(forms.Form):
    user = UserChoiceField(label=_("User"), queryset=_users())
    starts_at = forms.DateTimeField(
        label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


# --- calendars --------------------------------------------------------------------------------


def parse_hours(text: str) -> list[tuple[time, time]]:
    """ "08:00-12:00, 13:00-17:00" -> [(08:00, 12:00), (13:00, 17:00)]; 24:00 = midnight."""
    result = []
    for part in _words(text):
        m = _TIME_RANGE.match(part)
        if not m:
            raise forms.ValidationError(_("Write intervals like 08:00-12:00, 13:00-17:00."))
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h2 == 24 and m2 == 0:
            h2 = 0
        if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60):
            raise forms.ValidationError(_("%(part)s is not a time of day.") % {"part": part})
        result.append((time(h1, m1), time(h2, m2)))
    return result


def format_hours(intervals) -> str:
    def t(value: time, end: bool = False) -> str:
        return "24:00" if end and value == time(0) else value.strftime("%H:%M")

    return ", ".join(f"{t(a)}-{t(b, end=True)}" for a, b in intervals)


def parse_holidays(text: str) -> list[tuple[date, str]]:
    result = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        day, _sep, name = line.strip().partition(" ")
        try:
            result.append((date.fromisoformat(day), name.strip()))
        except ValueError:
            raise forms.ValidationError(
                _("“%(line)s”: write one holiday per line, e.g. 2026-12-24 Heiligabend.")
                % {"line": line.strip()}
            ) from None
    return result


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, initial="Europe/Berlin")
    country = forms.CharField(label=_("Country"), max_length=2, initial="DE", required=False)
    subdivision = forms.CharField(
        label=_("Region"),
        max_length=20,
        required=False,
        help_text=_("Federal state whose holidays apply, e.g. BY or BE; empty: nationwide."),
    )
    is_default = forms.BooleanField(label=_("Default calendar"), required=False)
    company_holidays = forms.CharField(
        label=_("Company holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: 2026-12-24 Heiligabend"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, label in Weekday.choices:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=label, required=False, help_text=_("e.g. 08:00-12:00, 13:00-17:00")
            )

    def clean(self):
        data = super().clean()
        hours = []
        for day, _label in Weekday.choices:
            try:
                hours += [(day, a, b) for a, b in parse_hours(data.get(f"hours_{day}", ""))]
            except forms.ValidationError as exc:
                self.add_error(f"hours_{day}", exc)
        data["hours"] = hours
        try:
            data["holidays"] = parse_holidays(data.get("company_holidays", ""))
        except forms.ValidationError as exc:
            self.add_error("company_holidays", exc)
        return data

    @staticmethod
    def initial_for(calendar: BusinessCalendar) -> dict:
        initial = {
            "name": calendar.name,
            "time_zone": calendar.time_zone,
            "country": calendar.country,
            "subdivision": calendar.subdivision,
            "is_default": calendar.is_default,
            "company_holidays": "\n".join(
                f"{h.date.isoformat()} {h.name}" for h in calendar.company_holidays.all()
            ),
        }
        for day, _label in Weekday.choices:
            initial[f"hours_{day}"] = format_hours(
                (h.starts_at, h.ends_at) for h in calendar.hours.all() if h.weekday == day
            )
        return initial


def calendar_error_field(loc: tuple) -> str | None:
    if loc and loc[0] == "hours":
        return None
    if loc and loc[0] == "company_holidays":
        return "company_holidays"
    return str(loc[0]) if loc else None


# --- policies ---------------------------------------------------------------------------------


class SlaPolicyForm(forms.Form):
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.all(),
        required=False,
        empty_label=_("every channel"),
    )
    label = forms.ChoiceField(
        label=_("Label"), choices=[("", _("every label")), *Label.choices], required=False
    )
    response_value = forms.IntegerField(label=_("Respond within"))
    response_unit = forms.ChoiceField(label=_("Unit"), choices=DurationUnit.choices)
    reminder_percents = forms.CharField(label=_("Reminders at %"), required=False, initial="50, 90")
    escalate = forms.BooleanField(label=_("Escalate at the deadline"), required=False, initial=True)
    reassign_after_minutes = forms.IntegerField(
        label=_("Reassign after (business minutes past the deadline)"), required=False
    )

    def clean_reminder_percents(self) -> list[int]:
        try:
            return [int(p) for p in _words(self.cleaned_data.get("reminder_percents", ""))]
        except ValueError:
            raise forms.ValidationError(_("Whole numbers, e.g. 50, 90.")) from None


class ReasonForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    label_de = forms.CharField(label=_("Label (German)"), max_length=100)
    label_en = forms.CharField(label=_("Label (English)"), max_length=100)
    requires_text = forms.BooleanField(label=_("Needs an explanation"), required=False)
    outcome = forms.ChoiceField(label=_("The lead goes"), choices=RejectionOutcome.choices)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


# --- answering a lead ---------------------------------------------------------------------------


class AcceptForm(forms.Form):
    contacted = forms.BooleanField(label=_("I have already reached the person"), required=False)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)


class RejectForm(forms.Form):
    reason = forms.ModelChoiceField(
        label=_("Reason"),
        queryset=RejectionReason.objects.filter(is_active=True),
        to_field_name="code",
    )
    text = forms.CharField(
        label=_("Explanation"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
