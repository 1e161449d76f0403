"""Background work through the real task backend (django-tasks-db) and its worker: the decay
sweep fires at the computed moment, previews and rescores run chunk by chunk."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from leadwerk.leads.choices import Stage
from leadwerk.scoring.choices import ModelStatus, RunKind, RunStatus
from leadwerk.scoring.decay import DAY
from leadwerk.scoring.evaluation import active_model
from leadwerk.scoring.models import LeadScore, ScoringRun, SweepTick
from leadwerk.scoring.services import (
    scoring_model_activate,
    scoring_model_create,
    scoring_run_start,
)
from leadwerk.scoring.tests.helpers import default_document, make_lead, record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _default_model(db):
    """Transactional tests flush the tables, the default model included: put it back."""
    if active_model() is None:
        scoring_model_create(document=default_document(), actor=None)
        from leadwerk.scoring.models import ScoringModel

        ScoringModel.objects.update(status=ModelStatus.ACTIVE)


def run_worker(worker_id: str = "test-worker") -> None:
    """Process every task that is due, as `leadwerk worker --batch` would, then return."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()


def test_a_crossing_through_decay_is_handled_by_a_task_scheduled_for_that_moment():
    lead = make_lead(grade="A", stage=Stage.MQL)
    # A webinar (30 points, half-life 45 days) long enough ago that it decays below the
    # recycle floor of 25 three seconds from now.
    now = timezone.now()
    crossing = now + timedelta(seconds=3)
    attended = crossing - timedelta(seconds=45 * DAY * math.log2(30 / 25))
    record(lead.person, ("webinar_attended", attended), now=now)

    score = LeadScore.objects.get(lead=lead)
    assert abs((score.next_check_at - crossing).total_seconds()) < 1
    task = DBTaskResult.objects.get(task_path="leadwerk.scoring.tasks.scoring_sweep")
    assert task.run_after == score.next_check_at
    assert SweepTick.objects.filter(run_after=score.next_check_at).exists()

    run_worker()  # too early: the task waits for its moment
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL

    while timezone.now() < task.run_after:
        time.sleep(0.2)
    # A new worker (as after a restart) finds the task in the database and runs it.
    run_worker(worker_id="after-restart")
    lead.refresh_from_db()
    assert lead.stage == Stage.RECYCLED
    change = lead.stage_changes.get(to_stage=Stage.RECYCLED)
    assert change.at - crossing < timedelta(minutes=1)
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.return_value["moved"] == 1
    # Nothing more can change for this lead through decay: no further sweep is scheduled.
    assert LeadScore.objects.get(lead=lead).next_check_at is None
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_a_later_crossing_does_not_schedule_a_second_sweep_before_the_first():
    first, second = make_lead(grade="A", stage=Stage.MQL), make_lead(grade="A", stage=Stage.MQL)
    now = timezone.now()
    record(first.person, ("webinar_attended", now - timedelta(days=10)), now=now)
    record(second.person, ("webinar_attended", now - timedelta(days=5)), now=now)
    # The second lead's crossing comes later: the sweep already scheduled covers it.
    assert DBTaskResult.objects.filter(task_path__endswith="scoring_sweep").count() == 1
    earlier = make_lead(grade="A", stage=Stage.MQL)
    record(earlier.person, ("webinar_attended", now - timedelta(days=11)), now=now)
    assert DBTaskResult.objects.filter(task_path__endswith="scoring_sweep").count() == 2


def test_preview_then_activation_rescore_every_lead_in_chunks(settings, marketing_user):
    settings.LEADWERK_SCORING_CHUNK = 2
    leads = [make_lead(grade="A") for _ in range(5)]
    now = timezone.now()
    for lead in leads[:3]:
        # A form an hour ago: just under 50 points, below the hand-off at 60.
        record(lead.person, ("form_submit", now - timedelta(hours=1)), now=now)
    for lead in leads:
        lead.refresh_from_db()
        assert lead.stage == Stage.NEW

    doc = default_document()
    doc["handoff"]["min_engagement"] = 45
    doc["recycle"]["below_engagement"] = 20
    draft = scoring_model_create(document=doc, actor=marketing_user, note="Hand-off ab 45")
    preview = scoring_run_start(model=draft, kind=RunKind.PREVIEW, actor=marketing_user)
    run_worker()
    preview.refresh_from_db()
    assert preview.status == RunStatus.DONE
    assert preview.done == 5 and preview.percent == 100
    assert preview.stats["old"].get("eligible", 0) == 0
    assert preview.stats["new"]["eligible"] == 3
    assert preview.stats["to_mql"] == 3
    assert preview.stats.get("mql_now", 0) == 0
    # A preview changes nothing.
    assert LeadScore.objects.filter(model=draft).count() == 0
    assert all(lead.stage == Stage.NEW for lead in leads)

    rescore = scoring_model_activate(model=draft, actor=marketing_user)
    run_worker()
    rescore.refresh_from_db()
    assert rescore.status == RunStatus.DONE
    assert rescore.stats["to_mql"] == 3
    assert LeadScore.objects.filter(model=draft).count() == 5
    stages = sorted(type(lead).objects.get(pk=lead.pk).stage for lead in leads)
    assert stages == [Stage.MQL] * 3 + [Stage.NEW] * 2
    # Three steps of two leads each, chained by the tasks themselves.
    steps = DBTaskResult.objects.filter(task_path="leadwerk.scoring.tasks.run_step")
    assert steps.filter(status="SUCCESSFUL").count() == 6  # 3 for the preview, 3 for rescore


def test_a_rescore_of_a_model_no_longer_active_stops(marketing_user):
    make_lead(grade="B")
    first = scoring_model_create(document=default_document(), actor=marketing_user)
    second = scoring_model_create(document=default_document(), actor=marketing_user)
    run1 = scoring_model_activate(model=first, actor=marketing_user)
    run2 = scoring_model_activate(model=second, actor=marketing_user)
    run_worker()
    run1.refresh_from_db()
    run2.refresh_from_db()
    assert run1.status == RunStatus.SUPERSEDED
    assert run2.status == RunStatus.DONE
    assert ScoringRun.objects.filter(status=RunStatus.RUNNING).count() == 0
