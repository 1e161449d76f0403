"""The audit log: every change, login and export is recorded with actor, time, address and
before/after; nothing can change or delete an entry; auditors search and export it."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction

from conftest import bearer_client
from leadwerk.accounts.choices import Role
from leadwerk.audit.choices import AuditAction
from leadwerk.audit.models import AppendOnlyError, AuditEntry
from leadwerk.audit.services import audit_record
from leadwerk.leads.services import lead_transition, lead_update
from leadwerk.tests_support.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor", roles=[Role.AUDITOR])


def test_the_auditor_role_exists_after_migrations():
    assert Group.objects.filter(name="Auditor").exists()


def test_api_intake_is_audited_with_actor_address_and_values(admin_user, channel):
    api = bearer_client(admin_user)
    response = api.post(
        "/api/v1/leads",
        {
            "person": {"first_name": "Jana", "last_name": "Audit", "email": "jana@audit.de"},
            "channel": "website",
        },
        content_type="application/json",
        REMOTE_ADDR="203.0.113.5",
        headers={"User-Agent": "curl/8"},
    )
    assert response.status_code == 201
    lead_entry = AuditEntry.objects.get(object_type="lead", action=AuditAction.CREATE)
    assert lead_entry.actor == admin_user and lead_entry.actor_label == "admin"
    assert (lead_entry.ip, lead_entry.user_agent) == ("203.0.113.5", "curl/8")
    assert lead_entry.object_id == response.json()["id"]
    assert lead_entry.after["channel"] == "website"
    person_entry = AuditEntry.objects.get(object_type="person", action=AuditAction.CREATE)
    assert person_entry.after["email"] == "jana@audit.de"
    assert lead_entry.person_uuid == person_entry.person_uuid


def test_stage_change_and_assignment_record_before_and_after(rep):
    lead = LeadFactory()
    lead_transition(lead=lead, to_stage="mql", actor=rep)
    lead_update(lead=lead, actor=rep, changes={"owner": rep, "message": "neu"})
    stage = AuditEntry.objects.get(action=AuditAction.STAGE_CHANGE)
    assert (stage.before, stage.after["stage"], stage.actor) == ({"stage": "new"}, "mql", rep)
    assign = AuditEntry.objects.get(action=AuditAction.ASSIGN)
    assert (assign.before["owner"], assign.after["owner"]) == (None, str(rep))
    update = AuditEntry.objects.get(action=AuditAction.UPDATE, object_type="lead")
    assert update.after == {"message": "neu"}


def test_sign_in_failure_and_sign_out_are_audited(client, rep):
    client.post("/accounts/login/", {"username": "rep", "password": "wrong"})
    client.post("/accounts/login/", {"username": "rep", "password": "correct horse battery"})
    client.post("/accounts/logout/")
    actions = list(AuditEntry.objects.order_by("at", "id").values_list("action", flat=True))
    assert actions[-3:] == [AuditAction.LOGIN_FAILED, AuditAction.LOGIN, AuditAction.LOGOUT]
    failed = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failed.after == {"username": "rep"} and failed.ip == "127.0.0.1"


def test_entries_cannot_be_changed_or_deleted_through_the_app(rep):
    entry = audit_record(action=AuditAction.UPDATE, actor=rep, object_type="lead", summary="x")
    entry.summary = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(summary="changed")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).summary == "x"


def test_the_database_refuses_changes_behind_the_apps_back(rep):
    entry = audit_record(action=AuditAction.UPDATE, actor=rep, object_type="lead", summary="x")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET summary = 'forged' WHERE id = %s", [entry.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).summary == "x"


def test_only_auditors_and_admins_see_the_log(client, auditor, marketing_user, admin_user):
    client.force_login(marketing_user)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    for user in (auditor, admin_user):
        client.force_login(user)
        assert client.get("/audit/").status_code == 200


def test_auditor_searches_by_action_actor_and_object(client, auditor, rep):
    lead = LeadFactory()
    lead_transition(lead=lead, to_stage="mql", actor=rep)
    lead_update(lead=lead, actor=rep, changes={"message": "Hallo"})
    client.force_login(auditor)
    page = client.get("/audit/", {"action": "stage_change"}).content.decode()
    assert "new → mql" in page and "message" not in page.split("<tbody>")[1]
    by_object = client.get("/audit/", {"object_id": str(lead.uuid)}).content.decode()
    assert by_object.count("<tr>") - 1 == 2
    by_actor = client.get("/audit/", {"actor": "rep", "q": "message"}).content.decode()
    assert "message" in by_actor.split("<tbody>")[1]
    assert "No entries match" in client.get("/audit/", {"actor": "nobody"}).content.decode()


def test_audit_log_list_query_count_is_pinned(client, auditor, rep, django_assert_max_num_queries):
    for _ in range(30):
        audit_record(action=AuditAction.UPDATE, actor=rep, object_type="lead", summary="x")
    client.force_login(auditor)
    with django_assert_max_num_queries(8):
        assert client.get("/audit/").status_code == 200


def test_audit_export_is_itself_audited_and_neutralises_formulas(client, auditor, rep):
    audit_record(
        action=AuditAction.UPDATE,
        actor=rep,
        object_type="lead",
        summary='=HYPERLINK("http://evil")',
    )
    client.force_login(auditor)
    response = client.get("/audit/export.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["summary"] == '\'=HYPERLINK("http://evil")' for r in rows)
    export = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert export.actor == auditor and export.after["format"] == "csv"
    xlsx = client.get("/audit/export.xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
