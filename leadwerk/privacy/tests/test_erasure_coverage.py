"""Erasure covers the apps that store personal data besides the core: list imports (rows,
problem rows, the stored file), duplicates (merge snapshots of a record merged into the
person, review pairs, match keys), data quality (bounce flags, care points), tracking and
scoring (visitor ids, page views, scores), routing (notifications and their e-mails,
rejections, response-time clocks). After the erasure a dump of the whole database and of
var/ finds none of the person's values, and the anonymous counts stay as they were."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db.models import Count, Sum
from django.test import Client

from leadwerk.accounts.choices import Role
from leadwerk.activities.models import Activity, EventSettings, Visitor
from leadwerk.activities.tracking import pageview_record
from leadwerk.contacts.models import Person
from leadwerk.dataquality.models import CarePoints, RecordFlag
from leadwerk.dataquality.selectors import care_tasks
from leadwerk.dataquality.services import email_mark_bounced, person_care_update, record_verify
from leadwerk.dedup.models import DuplicateCandidate, MatchKey, MergeRecord
from leadwerk.dedup.services import merge_undo, person_intake_check, person_merge
from leadwerk.errors import Conflict
from leadwerk.imports.models import ImportedRow, ImportFile, ImportIssue, ImportJob
from leadwerk.imports.services import job_create, job_preview, job_run
from leadwerk.leads.models import Lead, WebForm
from leadwerk.messaging.models import OutboundMessage
from leadwerk.privacy.models import Erasure
from leadwerk.privacy.retention import retention_apply, retention_report
from leadwerk.privacy.services import person_erase, person_export_data
from leadwerk.routing import services as routing
from leadwerk.routing.models import Assignment, LeadRejection, LedgerEntry, Notification, SlaTimer
from leadwerk.routing.services.response import lead_reject
from leadwerk.routing.tests.conftest import ALWAYS, default_rule_to, make_mql, make_pool, make_reps
from leadwerk.scoring.models import LeadScore
from leadwerk.scoring.services import persons_rescore
from leadwerk.tests_support.factories import LeadFactory, PersonFactory, TeamFactory, UserFactory

from .test_data_subject_rights import _whole_database_text

pytestmark = pytest.mark.django_db

FIRST, LAST = "Xaveria", "Quenstedt-Pfuhl"
EMAIL = "xaveria.qp@pfuhl-beispiel.de"
PHONE = "+493098765432"
OLD_EMAIL = "x.pfuhl-alt@privatmail-beispiel.de"
OLD_PHONE = "+491715550123"
IP = "198.51.100.23"
SITE = "https://www.pfuhl-beispiel.de"

# A trade-fair list: the person, a repeat of her row with the phone written differently
# (a duplicate row), a row with only her name (rejected: no e-mail, no phone), others.
LIST = (
    "Anrede;Vorname;Nachname;E-Mail;Telefon;Firma;PLZ;Ort;Land;Bemerkung\n"
    f"Frau;{FIRST};{LAST};{EMAIL};+49 30 98765432;Pfuhl Beispiel GmbH;10115;Berlin;"
    f"Deutschland;Rückruf an {FIRST}\n"
    "Herr;Bodo;Bleibtreu;bodo@bleibtreu-beispiel.de;+49 40 1234567;Bleibtreu AG;20095;"
    "Hamburg;Deutschland;\n"
    f"Frau;{FIRST};{LAST};{EMAIL.upper()};030 98765432;Pfuhl Beispiel GmbH;;;;\n"
    f"Frau;{FIRST};{LAST};;;;;;;ohne Kontaktdaten\n"
    "Herr;Carl;Contrast;carl@contrast-beispiel.de;;Contrast KG;;;;\n"
)
# A second list, uploaded and not started yet: it holds her too.
PENDING_LIST = (
    "Vorname;Nachname;E-Mail;Telefon;Firma\n"
    "Dora;Dauer;dora@dauer-beispiel.de;;Dauer GmbH\n"
    f"{FIRST};{LAST};{EMAIL};0049 30 9876-5432;Pfuhl Beispiel GmbH\n"
    "Emil;Ewig;emil@ewig-beispiel.de;;Ewig KG\n"
)


@pytest.fixture
def subject(trade_fair, channel, admin_user, django_capture_on_commit_callbacks):
    """A person who came in through a list import, was tracked on the website and then
    filled a web form (joining her visitor id), had a duplicate merged into her and a
    possible one to review, got a bounce flag and data care, a score, and was routed to a
    rep (assignment, notification, response-time clock) who rejected her second lead."""
    capture = django_capture_on_commit_callbacks
    routing.calendar_save(name="Immer offen", country="", hours=ALWAYS, is_default=True)
    manager = UserFactory(username="chefin", email="chefin@example.com", roles=[Role.SALES_MANAGER])
    reps = make_reps(TeamFactory(name="Nord", manager=manager), 2)
    default_rule_to(make_pool("Nord", reps, team=reps[0].team))
    # (1) the import
    job = job_create(
        data=LIST.encode("utf-8"), file_name="messe.csv", channel=trade_fair, actor=admin_user
    )
    job = job_run(job=job)
    assert (job.status, job.leads_created, job.rows_rejected, job.rows_duplicate) == (
        "done",
        3,
        1,
        1,
    )
    # the same list again, two of its rows: both were imported before and are skipped
    again = LIST.encode("utf-8").split(b"\n")[:3]
    again = job_create(data=b"\n".join(again), file_name="messe-nochmal.csv", channel=trade_fair)
    assert job_run(job=again).rows_already_imported == 2
    person = Person.objects.get(email=EMAIL)
    job_create(data=PENDING_LIST.encode("utf-8"), file_name="nachmesse.csv", channel=trade_fair)
    # (4) tracked page views, then the web form with the visitor id joins them
    EventSettings.objects.update_or_create(
        pk=1, defaults={"tracking_enabled": True, "tracking_domains": "pfuhl-beispiel.de"}
    )
    visitor = uuid.uuid4()
    pageview_record(visitor_id=visitor, url=f"{SITE}/preise", title="Preise")
    form = WebForm.objects.create(name="Kontakt", channel=channel)
    browser = Client(headers={"Accept-Language": "de"})
    page = browser.get(f"/f/{form.uuid}/").content.decode()
    token = page.split('name="token" value="')[1].split('"')[0]
    response = browser.post(
        f"/f/{form.uuid}/",
        {
            "token": token,
            "visitor": str(visitor),
            "first_name": FIRST,
            "last_name": LAST,
            "email": EMAIL,
            "company_name": "Pfuhl Beispiel GmbH",
            "message": f"Bitte melden bei {FIRST} {LAST}",
            "page": f"{SITE}/kontakt?email={EMAIL}",
        },
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    assert Visitor.objects.get(id=visitor).person == person
    pageview_record(
        visitor_id=visitor,
        url=f"{SITE}/preise/cloud?ref={visitor}&email={quote(EMAIL)}",
        title="Cloud",
    )
    # (2) a duplicate merged into her (its own values, an audit trail of its own), and a
    # possible duplicate waiting for review
    old = PersonFactory(
        first_name=FIRST, last_name=LAST, email=OLD_EMAIL, phone="", company=person.company
    )
    person_care_update(person=old, actor=reps[0], changes={"phone": OLD_PHONE})
    LeadFactory(person=old, company=old.company, channel=channel)
    person_merge(survivor=person, merged=old, actor=admin_user)
    near = PersonFactory(
        first_name="Xaver",
        last_name="Quenstedt",
        email="x.quenstedt@pfuhl-beispiel.de",
        phone="",
        company=person.company,
    )
    person_intake_check(person=near)
    assert DuplicateCandidate.objects.filter(person_a=person, status="open").exists()
    # (3) data quality
    email_mark_bounced(
        person=person,
        reason=f"550 5.1.1 <{EMAIL}>: user unknown",
        source="mail.pfuhl-beispiel.de",
        actor=reps[0],
    )
    person_care_update(person=person, actor=reps[0], changes={"job_title": "Leiterin Einkauf"})
    record_verify(actor=reps[0], person=person)
    # (5) routing: the imported lead to a rep; the form lead too, rejected with a text
    leads = list(Lead.objects.filter(person=person).order_by("created_at", "id"))
    for lead in leads[:2]:
        make_mql(capture, lead)
    rejected = Lead.objects.get(pk=leads[1].pk)
    with capture(execute=True):
        lead_reject(
            lead=rejected,
            actor=rejected.owner,
            reason="other",
            text=f"{FIRST} {LAST} hat kein Budget, Mail an {EMAIL}",
        )
    persons_rescore(person_ids=[person.pk])
    person.refresh_from_db()
    return person, visitor


def _identifying(visitor) -> list[str]:
    return [
        FIRST,
        LAST,
        EMAIL,
        PHONE,
        "98765432",  # the phone number in any notation
        "9876-5432",
        OLD_EMAIL,
        OLD_PHONE,
        "5550123",
        IP,
        str(visitor),
        visitor.hex,  # how SQLite stores a UUID
        "xaveria.qp%40pfuhl-beispiel.de",
    ]


def _var_text() -> str:
    """Every file under var/ (mail files, uploads), but the collected static files."""
    root = Path(settings.VAR_DIR)
    chunks = []
    for path in root.rglob("*"):
        if path.is_file() and "static" not in path.relative_to(root).parts:
            chunks.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(chunks).casefold()


def _anonymous_counts():
    jobs = list(
        ImportJob.objects.order_by("id").values(
            "total_rows", "leads_created", "rows_rejected", "rows_duplicate", "persons_created"
        )
    )
    return {
        "import jobs": jobs,
        "import rows": (ImportedRow.objects.count(), ImportIssue.objects.count()),
        "leads by stage": list(
            Lead.objects.values("stage").annotate(n=Count("id")).order_by("stage")
        ),
        "routing ledger": LedgerEntry.objects.count(),
        "routing": (
            Assignment.objects.count(),
            SlaTimer.objects.count(),
            Notification.objects.count(),
            list(LeadRejection.objects.values_list("reason__code", flat=True)),
        ),
        "merges": MergeRecord.objects.count(),
        "flags": list(RecordFlag.objects.values_list("kind", flat=True)),
        "care points": CarePoints.objects.aggregate(s=Sum("points"))["s"],
        "scores": sorted(LeadScore.objects.values_list("fit_grade", flat=True)),
    }


def test_before_erasure_the_dump_finds_her_values_in_every_app(subject):
    person, visitor = subject
    text = _whole_database_text()
    # (the visitor id's hex form is how SQLite stores it; PostgreSQL keeps the dashes)
    missing = [v for v in _identifying(visitor) if v.casefold() not in text and v != visitor.hex]
    assert missing == []
    # and in the places this test is about
    assert EMAIL.encode() in bytes(ImportFile.objects.get(job__file_name="messe.csv").content)
    assert any(FIRST in c for c in ImportIssue.objects.values_list("cells", flat=True))
    merge = MergeRecord.objects.get()
    assert merge.snapshot["merged"]["email"] == OLD_EMAIL and merge.merged_label.endswith(LAST)
    assert MatchKey.objects.filter(entity="person", object_id=person.pk).exists()
    assert RecordFlag.objects.get(person=person).value == EMAIL
    assert Visitor.objects.filter(person=person).count() == 1
    assert Notification.objects.filter(lead__person=person, title__contains=LAST).exists()
    assert OutboundMessage.objects.filter(person=None, subject__contains=LAST).exists()
    assert LeadRejection.objects.get().text.startswith(FIRST)
    assert SlaTimer.objects.filter(lead__person=person).exists()
    assert LeadScore.objects.filter(lead__person=person).exists()


def test_erasure_leaves_none_of_her_values_in_the_database_or_var_and_keeps_the_counts(
    subject, admin_user
):
    person, visitor = subject
    counts = _anonymous_counts()
    others = ("bodo@bleibtreu-beispiel.de", "dora@dauer-beispiel.de", "x.quenstedt@pfuhl")
    erasure = person_erase(person=person, actor=admin_user)

    text = _whole_database_text()
    assert [v for v in _identifying(visitor) if v.casefold() in text] == []
    assert [v for v in _identifying(visitor) if v.casefold() in _var_text()] == []
    assert _anonymous_counts() == counts
    assert all(o in text for o in others)  # nobody else lost a value
    new = ("imports", "duplicates", "data_quality", "tracking", "routing")
    assert {k: erasure.counts[k] > 0 for k in new} == dict.fromkeys(new, True)


def test_erasure_removes_the_finished_lists_file_and_rewrites_a_pending_one(subject, admin_user):
    person, _visitor = subject
    pending = ImportJob.objects.get(file_name="nachmesse.csv")
    before = [(r.index, r.cells[0]) for r in job_preview(pending)]
    person_erase(person=person, actor=admin_user)

    assert not ImportFile.objects.filter(job__file_name__startswith="messe").exists()
    pending.refresh_from_db()
    # The rewritten file still reads, every row at its index; hers is empty.
    assert before == [(0, "Dora"), (1, FIRST), (2, "Emil")]
    assert [(r.index, r.cells[0]) for r in job_preview(pending)] == [(0, "Dora"), (2, "Emil")]
    assert pending.total_rows == 3 and pending.header == ["Vorname", "Nachname", "E-Mail"] + [
        "Telefon",
        "Firma",
    ]
    job = job_run(job=pending)  # and imports the others, not her
    assert (job.status, job.leads_created) == ("done", 2)
    assert not Person.objects.filter(email=EMAIL).exists()


def test_the_erased_persons_merge_cannot_be_undone_and_she_is_no_care_task(subject, admin_user):
    person, _visitor = subject
    rep = Lead.objects.filter(person=person, owner__isnull=False).first().owner
    assert any(person in t.people for t in care_tasks(user=rep))
    person_erase(person=person, actor=admin_user)

    with pytest.raises(Conflict):
        merge_undo(record=MergeRecord.objects.get(), actor=admin_user)
    assert Person.objects.filter(email=OLD_EMAIL).count() == 0
    assert all(person not in t.people for t in care_tasks(user=rep))
    assert not DuplicateCandidate.objects.filter(person_b=person, status="open").exists()
    assert not MatchKey.objects.filter(entity="person", object_id=person.pk).exists()
    assert RecordFlag.objects.get(person=person).resolved_at is not None


def test_the_export_holds_the_new_sections(subject, admin_user, client):
    person, visitor = subject
    client.force_login(admin_user)
    page = client.get(f"/persons/{person.uuid}/privacy/export.html").content.decode()
    assert "<h2>imports</h2>" in page and "<h2>routing</h2>" in page and OLD_EMAIL in page
    data = json.loads(json.dumps(person_export_data(person=person, actor=admin_user)))
    sections = data["sections"]
    rows = sections["imports"]
    assert [(r["line"], r["result"]) for r in rows] == [
        (2, "imported"),
        (4, "filled in"),
        (5, "rejected"),
    ]
    assert rows[0]["row"]["E-Mail"] == EMAIL and rows[0]["file"] == "messe.csv"
    assert rows[1]["problems"][0]["kind"] == "duplicate"
    assert rows[2]["row"]["Nachname"] == LAST
    merge = sections["duplicates"]["merges"][0]
    assert merge["records"]["merged"]["email"] == OLD_EMAIL
    assert sections["duplicates"]["possible_duplicates"][0]["status"] == "open"
    assert sections["tracking"] == [
        {
            "visitor_id": str(visitor),
            "first_seen": sections["tracking"][0]["first_seen"],
            "joined": sections["tracking"][0]["joined"],
        }
    ]
    quality = sections["data_quality"]
    assert quality["flags"][0]["kind"] == "bounced" and quality["flags"][0]["value"] == EMAIL
    assert quality["verified_at"] and quality["care"]
    scores = sections["scores"]
    assert scores and scores[0]["fit_grade"] and scores[0]["explanation"]["model"]
    assert any(e["type"] == "web_visit" for s in scores for e in s["explanation"]["events_counted"])
    routed = sections["routing"]
    assert len(routed["assignments"]) >= 2 and routed["response_times"]
    assert routed["rejections"][0]["text"].startswith(FIRST)
    assert any(LAST in n["title"] for n in routed["notifications"])


def test_retention_anonymises_through_the_new_sections_too(subject):
    person, visitor = subject
    old = "2020-01-01T00:00:00+00:00"
    Lead.objects.filter(person=person).update(created_at=old, stage_changed_at=old, closed_at=None)
    Activity.objects.filter(person=person).update(occurred_at=old)
    assert [r.person_uuid for r in retention_report(months=24)] == [str(person.uuid)]
    assert retention_apply(months=24) == 1
    erasure = Erasure.objects.get(person=person)
    assert erasure.reason == "retention" and erasure.counts["imports"] > 0
    text = _whole_database_text()
    assert [v for v in _identifying(visitor) if v.casefold() in text] == []
