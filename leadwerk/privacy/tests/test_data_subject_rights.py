"""Data-subject rights: one-click export of everything about a person, erasure that leaves no
identifying value anywhere in the database while funnel counts stay right, a registry that
other apps extend, and the retention rule with its report."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from conftest import bearer_client
from leadwerk.accounts.choices import TokenScope
from leadwerk.activities.models import Activity
from leadwerk.audit.choices import AuditAction
from leadwerk.audit.models import AuditEntry
from leadwerk.consent.choices import ConsentSource
from leadwerk.consent.models import ConsentStatus
from leadwerk.consent.services import consent_doi_start
from leadwerk.contacts.models import Person
from leadwerk.errors import Conflict
from leadwerk.leads.models import Lead, StageChange, WebForm
from leadwerk.leads.services import lead_log_activity, lead_transition, lead_update
from leadwerk.messaging.services import message_send
from leadwerk.privacy import registry
from leadwerk.privacy.models import Erasure
from leadwerk.privacy.retention import months_before, retention_report
from leadwerk.privacy.services import person_erase
from leadwerk.privacy.tasks import retention_schedule, retention_task
from leadwerk.tests_support.consent import grant, publish_text
from leadwerk.tests_support.factories import LeadFactory, PersonFactory

pytestmark = pytest.mark.django_db

IP = "203.0.113.77"
BROWSER = "ErasureBrowser/9.9 (Quenstedt)"
FIRST, LAST = "Xaveria", "Quenstedt-Pfuhl"
EMAIL = "xaveria.qp@pfuhl-beispiel.de"


@pytest.fixture
def subject(client, channel, admin_user, rep, smtp_server, django_capture_on_commit_callbacks):
    """A person who filled a web form, confirmed a newsletter double opt-in from the mail,
    was worked by sales (notes, stage changes, edits) and received a newsletter."""
    form = WebForm.objects.create(name="Kontakt", channel=channel, product_interest="Software")
    page = client.get(f"/f/{form.uuid}/").content.decode()
    token = page.split('name="token" value="')[1].split('"')[0]
    response = client.post(
        f"/f/{form.uuid}/",
        {
            "token": token,
            "first_name": FIRST,
            "last_name": LAST,
            "email": EMAIL,
            "phone": "+49 30 98765432",
            "company_name": "Pfuhl Beispiel GmbH",
            "job_title": "Einkauf",
            "message": f"Bitte rufen Sie {FIRST} {LAST} zurück",
            "page": "https://pfuhl-beispiel.de/kontakt?name=Xaveria",
        },
        REMOTE_ADDR=IP,
        headers={"User-Agent": BROWSER},
    )
    assert response.status_code == 302
    person = Person.objects.get(email=EMAIL)
    lead = person.leads.get()
    publish_text(purpose="newsletter", channel="email")
    with django_capture_on_commit_callbacks(execute=True):
        consent_doi_start(
            person=person,
            purpose="newsletter",
            channel="email",
            source=ConsentSource.FORM,
            ip=IP,
            user_agent=BROWSER,
        )
    mail = smtp_server.to(EMAIL)[0]
    link = next(x for x in mail.links() if "/c/confirm/" in x)
    client.post(link[link.index("/c/") :], REMOTE_ADDR=IP, headers={"User-Agent": BROWSER})
    assert ConsentStatus.objects.get(person=person).state == "granted"
    lead_update(lead=lead, actor=rep, changes={"owner": rep, "external_id": "CRM-XQP-1"})
    lead_log_activity(
        lead=lead,
        actor=rep,
        type="call",
        subject=f"Anruf bei {FIRST}",
        body=f"{LAST} möchte ein Angebot, Mail an {EMAIL}",
    )
    lead_log_activity(
        lead=lead, actor=rep, type="note", subject=f"{LAST} ist Entscheiderin", restricted=True
    )
    lead_transition(lead=lead, to_stage="sal", actor=rep, reason=f"{FIRST} {LAST} bestätigt")
    with django_capture_on_commit_callbacks(execute=True):
        message_send(purpose="newsletter", person=person, subject=f"Hallo {FIRST}", body="News")
    person.refresh_from_db()
    return person


def _identifying(person) -> list[str]:
    return [
        FIRST,
        LAST,
        EMAIL,
        person.phone,
        person.phone.replace(" ", ""),
        IP,
        BROWSER,
        "CRM-XQP-1",
    ]


def _text(value) -> str:
    """A column value as text; binary columns (stored files) decoded, not as a repr."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _whole_database_text() -> str:
    """Every row of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            for row in cursor.fetchall():
                chunks.append(" ".join(_text(v) for v in row))
    return "\n".join(chunks).casefold()


def _funnel():
    return (
        list(
            Lead.objects.values("stage", "channel__slug").annotate(n=Count("id")).order_by("stage")
        ),
        list(StageChange.objects.values("to_stage").annotate(n=Count("id")).order_by("to_stage")),
        Activity.objects.count(),
        AuditEntry.objects.filter(action=AuditAction.STAGE_CHANGE).count(),
    )


def test_before_erasure_the_values_are_there_and_the_dump_would_find_them(subject):
    text = _whole_database_text()
    for value in _identifying(subject):
        assert value.casefold() in text, value


def test_erasure_leaves_no_identifying_value_anywhere_and_keeps_the_funnel(
    subject, client, admin_user
):
    other = PersonFactory(first_name="Bleibt", last_name="Unverändert", email="bleibt@x.de")
    LeadFactory(person=other, company=other.company)
    funnel = _funnel()
    client.force_login(admin_user)
    response = client.post(f"/persons/{subject.uuid}/privacy/erase/", follow=True)
    assert "überall anonymisiert" in response.content.decode()
    text = _whole_database_text()
    leaks = [v for v in _identifying(subject) if v.casefold() in text]
    assert leaks == []
    assert _funnel() == funnel
    assert "bleibt@x.de" in text and "unverändert" in text  # nobody else was touched
    lead = Lead.objects.get(person=subject)
    assert (lead.stage, lead.channel.slug, lead.owner is not None) == ("sal", "website", True)
    erasure = Erasure.objects.get(person=subject)
    assert erasure.requested_by == admin_user and erasure.counts["leads"] == 1
    entry = AuditEntry.objects.get(action=AuditAction.ERASURE)
    assert entry.actor == admin_user and entry.person_uuid == subject.uuid
    # Consent ends withdrawn: nothing can be sent to the anonymised person.
    assert set(ConsentStatus.objects.filter(person=subject).values_list("state", flat=True)) == {
        "withdrawn"
    }


def test_erasing_twice_is_refused(subject, admin_user):
    person_erase(person=subject, actor=admin_user)
    with pytest.raises(Conflict):
        person_erase(person=subject, actor=admin_user)


def test_export_holds_every_section_and_is_audited(subject, client, admin_user):
    client.force_login(admin_user)
    response = client.get(f"/persons/{subject.uuid}/privacy/export.json")
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    sections = data["sections"]
    assert set(sections) >= {"person", "leads", "activities", "consent", "messages", "audit"}
    assert sections["person"]["email"] == EMAIL
    assert sections["leads"][0]["stage_changes"][-1]["reason"].startswith(FIRST)
    assert [r["state"] for r in sections["consent"]["history"]] == ["granted", "pending"]
    assert sections["consent"]["history"][0]["ip"] == IP
    assert sections["messages"][0]["subject"] == f"Hallo {FIRST}"  # newest first
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, person_uuid=subject.uuid).exists()
    page = client.get(f"/persons/{subject.uuid}/privacy/export.html").content.decode()
    assert EMAIL in page and "<h2>consent</h2>" in page
    assert "<th>legal_basis</th>" in page and '<td class="prewrap">double_opt_in</td>' in page


def test_export_page_escapes_what_people_typed(client, admin_user):
    person = PersonFactory(first_name="<script>alert(1)</script>")
    LeadFactory(person=person, company=person.company)
    client.force_login(admin_user)
    page = client.get(f"/persons/{person.uuid}/privacy/export.html").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_only_admins_handle_requests(client, marketing_user, admin_user):
    person = PersonFactory()
    LeadFactory(person=person, company=person.company)
    client.force_login(marketing_user)
    assert client.get(f"/persons/{person.uuid}/privacy/export.json").status_code == 403
    assert client.post(f"/persons/{person.uuid}/privacy/erase/").status_code == 403
    assert not Erasure.objects.exists()
    write = bearer_client(admin_user, scope=TokenScope.WRITE)
    assert write.get(f"/api/v1/persons/{person.uuid}/export").status_code == 403
    admin = bearer_client(admin_user, scope=TokenScope.ADMIN)
    assert admin.get(f"/api/v1/persons/{person.uuid}/export").status_code == 200
    erased = admin.post(f"/api/v1/persons/{person.uuid}/erase")
    assert erased.status_code == 200 and erased.json()["rows"]["person"] == 1
    assert admin.post(f"/api/v1/persons/{person.uuid}/erase").status_code == 409
    marketing_admin_scope = bearer_client(marketing_user, scope=TokenScope.ADMIN)
    assert marketing_admin_scope.get(f"/api/v1/persons/{person.uuid}/export").status_code == 403


def test_other_apps_extend_export_and_erasure_through_the_registry(monkeypatch, admin_user):
    person = PersonFactory(first_name="Registra")
    LeadFactory(person=person, company=person.company)
    erased = []
    sections = dict(registry._SECTIONS)
    monkeypatch.setattr(registry, "_SECTIONS", sections)
    registry.register_section(
        "scores",
        export=lambda p: {"score": 42, "name": p.first_name},
        erase=lambda ctx: erased.append(ctx.scrub(f"Score von {ctx.person.first_name}")) or 1,
    )
    from leadwerk.privacy.services import person_export_data

    assert person_export_data(person=person, actor=admin_user)["sections"]["scores"] == {
        "score": 42,
        "name": "Registra",
    }
    erasure = person_erase(person=person, actor=admin_user)
    assert erased == ["Score von [erased]"] and erasure.counts["scores"] == 1


# --- retention ----------------------------------------------------------------------


def _old_lead(days: int, **kwargs):
    moment = timezone.now() - timedelta(days=days)
    lead = LeadFactory(created_at=moment, stage_changed_at=moment, **kwargs)
    Activity.objects.filter(lead=lead).update(occurred_at=moment)
    return lead


def test_months_before_handles_month_ends():
    from datetime import UTC, datetime

    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 24) == datetime(2024, 1, 15, tzinfo=UTC)


def test_retention_reports_first_and_then_anonymises_only_quiet_persons(rep):
    quiet = _old_lead(800)
    fresh = _old_lead(30)
    consented = _old_lead(800)
    grant(consented.person)
    won_recently = _old_lead(800)
    won_recently.closed_at = timezone.now() - timedelta(days=10)
    won_recently.save(update_fields=["closed_at"])
    mixed = _old_lead(800)
    LeadFactory(person=mixed.person, company=mixed.company)  # a new lead keeps the person
    lead_log_activity(lead=_old_lead(800, owner=rep), actor=rep, type="call", subject="neu")

    report = retention_report(months=24)
    assert [r.person_uuid for r in report] == [str(quiet.person.uuid)]
    assert not Erasure.objects.exists()  # the report changes nothing
    assert retention_task.call() == 1
    quiet.person.refresh_from_db()
    assert quiet.person.email == "" and quiet.person.last_name == ""
    assert Erasure.objects.get().reason == "retention"
    for kept in (fresh, consented, won_recently, mixed):
        kept.person.refresh_from_db()
        assert kept.person.email, kept
    assert retention_report(months=24) == []


def test_retention_command_prints_the_report_and_applies_on_request(capsys):
    quiet = _old_lead(800)
    call_command("retention", "--months", "24")
    out = capsys.readouterr().out
    assert str(quiet.person.uuid) in out and "1 persons would be anonymised" in out
    assert not Erasure.objects.exists()
    call_command("retention", "--months", "24", "--apply")
    assert "Anonymised 1 persons." in capsys.readouterr().out
    assert Erasure.objects.count() == 1


def test_retention_is_scheduled_once_however_often_asked(django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        assert retention_schedule() is True
        assert retention_schedule() is False
    assert DBTaskResult.objects.filter(task_path__endswith="retention_task").count() == 1


def test_retention_page_shows_what_would_be_removed(client, admin_user, rep):
    quiet = _old_lead(800)
    client.force_login(admin_user)
    page = client.get("/privacy/retention/").content.decode()
    assert str(quiet.person.uuid) in page
    client.force_login(rep)
    assert client.get("/privacy/retention/").status_code == 403


def test_deleting_rows_by_hand_is_not_blocked_and_the_audit_log_keeps_its_entries(rep):
    """Leadwerk anonymises persons and deactivates users; a hand-made delete (shell, test
    set-up) of a person still works, and deleting a user leaves their audit entries as
    they were."""
    from leadwerk.consent.models import ConsentRecord
    from leadwerk.messaging.models import OutboundMessage
    from leadwerk.tests_support.factories import UserFactory

    person = PersonFactory(phone="+49891234567")
    grant(person, purpose="product_marketing", channel="phone", actor=rep)
    message_send(
        purpose="product_marketing",
        channel="phone",
        person=person,
        subject="A",
        body="B",
        assignee=rep,
        actor=rep,
    )
    person.delete()
    assert not ConsentRecord.objects.exists() and not OutboundMessage.objects.exists()
    leaver = UserFactory(username="leaver")
    from leadwerk.audit.services import audit_record

    audit_record(action=AuditAction.LOGIN, actor=leaver, object_type="user", summary="in")
    leaver.delete()
    entry = AuditEntry.objects.get(actor_label="leaver")
    assert (entry.summary, entry.action) == ("in", AuditAction.LOGIN)
