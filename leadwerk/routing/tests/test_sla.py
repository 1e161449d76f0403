"""The response-time SLA: deadlines on German business time per team calendar, steps
scheduled as Django Tasks in the database and fired by the real worker (reminders,
escalation, reassignment), the clock stopping at the first response."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity
from leadwerk.leads.choices import Stage
from leadwerk.leads.services import lead_log_activity
from leadwerk.routing import services
from leadwerk.routing.choices import DurationUnit, Trigger
from leadwerk.routing.models import Assignment, SlaPolicy, SlaTimer
from leadwerk.routing.services.sla import sla_policy_for
from leadwerk.tests_support.factories import ChannelFactory, TeamFactory

from .conftest import ALWAYS, default_rule_to, make_pool, make_reps, new_lead

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = [(d, time(8), time(17)) for d in range(5)]


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN)


def steps(timer: SlaTimer) -> list[tuple[str, object, datetime]]:
    rows = DBTaskResult.objects.filter(task_path="leadwerk.routing.tasks.sla_step").order_by(
        "run_after"
    )
    return [
        (r.args_kwargs["kwargs"]["step"], r.args_kwargs["kwargs"].get("percent"), r.run_after)
        for r in rows
        if r.args_kwargs["kwargs"]["timer_id"] == str(timer.uuid)
    ]


def mql(channel=None, **kw):
    lead = new_lead(channel=channel, **kw)
    lead.stage = Stage.MQL
    lead.save(update_fields=["stage"])
    return lead


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "expected_due"),
    [("BY", at(2026, 1, 7, 10)), ("BE", at(2026, 1, 6, 10))],
)
def test_one_business_day_follows_the_teams_federal_state(state, expected_due, manager):
    team = TeamFactory(name=f"Team {state}", manager=manager)
    calendar = services.calendar_save(name=f"Büro {state}", subdivision=state, hours=OFFICE)
    services.team_calendar_set(team=team, calendar=calendar)
    (rep,) = make_reps(team, 1, prefix=state.lower())
    default_rule_to(make_pool(f"Pool {state}", [rep], team=team))
    lead = mql()
    services.lead_route(lead_id=lead.pk, trigger=Trigger.MQL, now=at(2026, 1, 5, 10))
    timer = SlaTimer.objects.get(lead=lead)
    assert timer.due_at == expected_due  # 6 January: Epiphany in Bavaria, a workday in Berlin
    assert timer.calendar == calendar


@pytest.mark.django_db
def test_steps_are_scheduled_as_tasks_at_business_time_across_a_weekend_and_dst(manager):
    team = TeamFactory(name="Süd", manager=manager)
    services.team_calendar_set(
        team=team, calendar=services.calendar_save(name="München", subdivision="BY", hours=OFFICE)
    )
    fair = ChannelFactory(slug="trade-fair")
    services.sla_policy_save(
        channel=fair,
        response_value=4,
        response_unit=DurationUnit.HOURS,
        reminder_percents=[50, 90],
        reassign_after_minutes=30,
    )
    (rep,) = make_reps(team, 1)
    default_rule_to(make_pool("Süd", [rep], team=team))
    lead = mql(channel=fair)
    # Friday 27 March 2026, 15:00 CET; clocks go forward on Sunday.
    services.lead_route(lead_id=lead.pk, trigger=Trigger.MQL, now=at(2026, 3, 27, 15))
    timer = SlaTimer.objects.get(lead=lead)
    assert timer.terms["value"] == 4 and timer.terms["unit"] == "hours"
    assert steps(timer) == [
        ("reminder", 50, at(2026, 3, 27, 17)),  # 2 h: exactly closing time on Friday
        ("reminder", 90, at(2026, 3, 30, 9, 36)),  # 3 h 36 min: Monday, now CEST
        ("breach", None, at(2026, 3, 30, 10)),
        ("reassign", None, at(2026, 3, 30, 10, 30)),
    ]
    assert timer.due_at.astimezone(UTC).hour == 8  # 10:00 CEST


@pytest.mark.django_db
def test_the_most_specific_policy_applies(db):
    web = ChannelFactory(slug="website")
    fair = ChannelFactory(slug="trade-fair")
    web_hot = services.sla_policy_save(
        channel=web, label="hot", response_value=30, response_unit=DurationUnit.MINUTES
    )
    fair_any = services.sla_policy_save(channel=fair, response_value=2, response_unit="hours")
    general = sla_policy_for(channel_id=None, label="")
    hot = sla_policy_for(channel_id=None, label="hot")
    assert (general.response_value, general.response_unit) == (1, "days")  # seed 002
    assert (hot.response_value, hot.response_unit) == (1, "hours")  # issue 4: hot leads
    assert sla_policy_for(channel_id=web.pk, label="hot") == web_hot
    assert sla_policy_for(channel_id=web.pk, label="warm") == general
    assert sla_policy_for(channel_id=fair.pk, label="hot") == hot
    assert sla_policy_for(channel_id=fair.pk, label="cold") == fair_any


def run_worker() -> None:
    """A fresh worker process's loop: everything due runs, then it exits."""
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)


def timeline(lead) -> list[tuple[str, str]]:
    return [
        (a.payload.get("step", ""), a.subject)
        for a in Activity.objects.filter(lead=lead, type=ActivityType.SLA).order_by(
            "occurred_at", "id"
        )
    ]


@pytest.fixture
def round_the_clock_team(transactional_db, manager):
    services.calendar_save(name="Immer", country="", hours=ALWAYS, is_default=True)
    team = TeamFactory(name="Vertrieb Rund", manager=manager)
    reps = make_reps(team, 2)
    pool = make_pool("Rund", reps, team=team)
    default_rule_to(pool)
    services.sla_policy_save(
        channel=None,
        label="",
        response_value=4,
        response_unit=DurationUnit.HOURS,
        reminder_percents=[50, 90],
        reassign_after_minutes=30,
        # The general policy from the data migration, unless an earlier test emptied the
        # database (transactional tests flush it afterwards).
        policy=SlaPolicy.objects.filter(channel=None, label="").first(),
    )
    return team, reps


@pytest.mark.django_db(transaction=True)
def test_reminders_escalation_and_reassignment_fire_through_the_worker(
    round_the_clock_team, manager, mailbox
):
    team, reps = round_the_clock_team
    lead = mql()
    started = timezone.now() - timedelta(hours=5)  # every step of a 4 h clock is now due
    first = services.lead_route(lead_id=lead.pk, trigger=Trigger.MQL, now=started).assignment
    second_rep = next(r for r in reps if r != first.user)
    mailbox.clear()

    run_worker()

    lead.refresh_from_db()
    assert lead.owner == second_rep
    assert [step for step, _ in timeline(lead)] == [
        "reminder",
        "reminder",
        "breach",
        "reassigned",
    ]
    subjects = [s for _, s in timeline(lead)]
    assert "50 %" in subjects[0] and "90 %" in subjects[1]
    assert f"an {manager} eskaliert" in subjects[2]
    assert f"an {second_rep} neu zugewiesen" in subjects[3]
    old, new = Assignment.objects.filter(lead=lead).order_by("assigned_at", "id")
    assert (old.status, new.status, new.trigger) == ("reassigned", "open", Trigger.REASSIGNMENT)
    # The mail: two reminders and the news to the first owner, the escalation to the
    # manager, the new lead to the second owner.
    assert [m["X-Leadwerk-Notification"] for m in mailbox.to(first.user.email)] == [
        "reminder",
        "reminder",
        "reassigned_away",
    ]
    assert [m["X-Leadwerk-Notification"] for m in mailbox.to(manager.email)] == ["escalation"]
    assert [m["X-Leadwerk-Notification"] for m in mailbox.to(second_rep.email)] == ["assigned"]
    # The new owner's clock starts now: its steps wait in the database for their time.
    new_timer = SlaTimer.objects.get(assignment=new)
    assert new_timer.state == "running" and new_timer.due_at > timezone.now()
    pending = DBTaskResult.objects.filter(status="READY")
    assert {r.args_kwargs["kwargs"]["timer_id"] for r in pending} == {str(new_timer.uuid)}


@pytest.mark.django_db(transaction=True)
def test_the_first_response_stops_the_clock_and_later_steps_do_nothing(
    round_the_clock_team, mailbox
):
    lead = mql()
    started = timezone.now() - timedelta(hours=1)
    assignment = services.lead_route(lead_id=lead.pk, trigger=Trigger.MQL, now=started).assignment
    lead.refresh_from_db()
    lead_log_activity(
        lead=lead, actor=assignment.user, type=ActivityType.CALL, subject="Erstgespräch"
    )
    timer = SlaTimer.objects.get(lead=lead)
    assert (
        timer.state == "responded"
        and timer.responded_at == lead.__class__.objects.get(pk=lead.pk).first_response_at
    )
    assert timeline(lead) == [("responded", timeline(lead)[0][1])]
    assert "Arbeitszeit: rechtzeitig" in timeline(lead)[0][1]
    # Make every step due, as if the day had passed, and let a worker run them.
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() - timedelta(1))
    mailbox.clear()
    run_worker()
    assert mailbox.messages == []
    results = DBTaskResult.objects.filter(task_path="leadwerk.routing.tasks.sla_step")
    assert {r.status for r in results} == {"SUCCESSFUL"}
    assert {r.return_value for r in results} == {"stopped"}


@pytest.mark.django_db(transaction=True)
def test_scheduled_steps_wait_in_the_database_until_due_and_survive_a_new_worker(
    round_the_clock_team, mailbox
):
    lead = mql()
    started = timezone.now() - timedelta(hours=2, minutes=30)  # only the 50 % reminder is due
    owner = services.lead_route(lead_id=lead.pk, trigger=Trigger.MQL, now=started).assignment.user
    mailbox.clear()
    run_worker()  # worker 1
    assert [s for s, _ in timeline(lead)] == ["reminder"]
    waiting = DBTaskResult.objects.filter(status="READY").order_by("run_after")
    assert [r.args_kwargs["kwargs"]["step"] for r in waiting] == ["reminder", "breach", "reassign"]
    # Worker 1 is gone (a restart); time passes; a new worker picks up where it left off.
    DBTaskResult.objects.filter(status="READY", args_kwargs__kwargs__step="reminder").update(
        run_after=timezone.now() - timedelta(seconds=1)
    )
    run_worker()  # worker 2
    assert [s for s, _ in timeline(lead)] == ["reminder", "reminder"]
    assert [m["X-Leadwerk-Notification"] for m in mailbox.to(owner.email)] == [
        "reminder",
        "reminder",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_lead_that_changed_owner_or_closed_stops_its_clock_when_a_step_fires(
    round_the_clock_team, mailbox
):
    lead = mql()
    services.lead_route(
        lead_id=lead.pk, trigger=Trigger.MQL, now=timezone.now() - timedelta(hours=3)
    )
    type(lead).objects.filter(pk=lead.pk).update(stage=Stage.DISQUALIFIED)
    mailbox.clear()
    run_worker()
    assert SlaTimer.objects.get(lead=lead).state == "cancelled"
    assert mailbox.messages == [] and timeline(lead) == []
