"""Running imports: validation, normalisation, matching, per-row reports, idempotence,
duplicates inside a file, resuming from the checkpoint, and the CLI."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from leadwerk.activities.models import Activity
from leadwerk.contacts.models import Company, Person
from leadwerk.dataquality.models import RecordFlag
from leadwerk.dedup.models import DuplicateCandidate, MatchKey
from leadwerk.errors import DomainValidationError
from leadwerk.imports.choices import IssueKind, JobStatus
from leadwerk.imports.models import ImportedRow, ImportIssue, ImportJob
from leadwerk.imports.services import (
    job_create,
    job_issues_csv,
    job_preview,
    job_ready,
    job_run,
    job_set_mapping,
)
from leadwerk.leads.models import Lead, StageChange
from leadwerk.tests_support.factories import CampaignFactory, CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

MESSY = (
    "Anrede;Titel;Vorname;Nachname;E-Mail;Telefon;Firma;PLZ;Ort;Land;USt-IdNr;Nachricht\n"
    "Herr;;Jürgen;WEISS;J.Weiss@Weiss-Bau.de;0049 (0)89/123-4567;Weiß Bau GmbH & Co KG;"
    "80331;München;Deutschland;DE136695976;Rückruf bitte\n"
    "Frau;Dr.;ayşe;yılmaz;ayse@yilmaz-logistik.de;;Yılmaz Logistik KG;1067;Dresden;D;DE123;\n"
    ";;;;;;;;;;;\n"
    "Frau;;Zoë;Ößwald;zoe@oesswald.at;01 5331234;Ößwald AG;1010;Wien;Österreich;;\n"
    "Herr;;Jürgen;WEISS;J.Weiss@Weiss-Bau.de;0049 (0)89/123-4567;Weiß Bau GmbH & Co KG;"
    "80331;München;Deutschland;DE136695976;Rückruf bitte\n"
    "Herr;;Jürgen;Weiss;j.weiss@weiss-bau.de;;Weiss Bau;80331;;Deutschland;;Job: CIO\n"
    "X;;;;kaputt;;;;;;;\n"
    "Herr;;Karl;Otto;k.otto@otto.de;bitte anrufen;Otto GmbH;12345x;Berlin;Dschermany;;\n"
    "Herr;;Max;Muster;max@muster.de;;Muster GmbH;;;;;zu;viele;Zellen\n"
)


@pytest.fixture
def messy_job(trade_fair, admin_user):
    return job_create(
        data=MESSY.encode("utf-8"),
        file_name="messe.csv",
        channel=trade_fair,
        actor=admin_user,
    )


def test_a_messy_trade_fair_list(messy_job, admin_user):
    job = job_run(job=messy_job)
    assert job.status == JobStatus.DONE
    assert (job.total_rows, job.rows_done) == (9, 9)
    assert job.leads_created == 4  # Weiß, Yılmaz, Ößwald, Otto
    assert (job.rows_rejected, job.rows_duplicate, job.rows_empty) == (2, 2, 1)
    weiss = Person.objects.get(email_normalized="j.weiss@weiss-bau.de")
    assert (weiss.first_name, weiss.last_name, weiss.phone) == ("Jürgen", "Weiss", "+49891234567")
    assert weiss.email == "J.Weiss@weiss-bau.de"
    assert weiss.job_title == ""
    company = weiss.company
    assert (company.name, company.legal_form, company.federal_state) == (
        "Weiß Bau",
        "GmbH & Co. KG",
        "BY",
    )
    assert company.vat_id == "DE136695976"
    ayse = Person.objects.get(email_normalized="ayse@yilmaz-logistik.de")
    assert (ayse.title, ayse.first_name, ayse.last_name) == ("Dr.", "Ayşe", "Yılmaz")
    assert (ayse.company.postal_code, ayse.company.federal_state) == ("01067", "SN")
    assert ayse.company.vat_id == "DE123"  # kept as given …
    assert RecordFlag.objects.get(company=ayse.company, field="vat_id").reason.startswith(
        "not a valid EU VAT ID"
    )  # … and flagged
    zoe = Person.objects.get(email_normalized="zoe@oesswald.at")
    assert zoe.phone == "+4315331234"  # region from the company's country (AT)
    otto = Person.objects.get(email_normalized="k.otto@otto.de")
    assert (otto.phone, otto.phone_valid) == ("bitte anrufen", False)
    assert {f.field for f in RecordFlag.objects.filter(person=otto)} == {"phone"}
    # the postal code cannot be checked without a known country: kept, not flagged
    assert {(f.field, f.value) for f in RecordFlag.objects.filter(company=otto.company)} == {
        ("country", "Dschermany"),
    }
    assert otto.company.postal_code == "12345X"
    issues = {i.line: (i.kind, i.message) for i in ImportIssue.objects.filter(job=job)}
    assert issues[6] == (IssueKind.DUPLICATE, "the same row as line 2; skipped")
    assert issues[7][0] == IssueKind.DUPLICATE and "same person as line 2" in issues[7][1]
    assert issues[8][0] == IssueKind.ERROR and "not a valid e-mail address" in issues[8][1]
    assert issues[10][0] == IssueKind.ERROR and "14 cells but the header only 12" in issues[10][1]
    assert issues[3][0] == IssueKind.WARNING and "leading zero restored" in issues[3][1]
    # the second row of the same person filled the gap it could fill
    assert Person.objects.get(pk=weiss.pk).company_id == company.id
    # every lead has its stage change and an import activity that keeps the original row
    lead = Lead.objects.get(person=weiss)
    assert lead.source == "import" and lead.created_by == admin_user
    assert StageChange.objects.filter(lead=lead, to_stage="new").count() == 1
    activity = Activity.objects.get(lead=lead)
    assert activity.type == "import"
    assert activity.payload["row"]["Nachname"] == "WEISS"
    assert activity.payload["line"] == 2
    # blocking keys were written for the new records
    assert MatchKey.objects.filter(entity="person", object_id=weiss.pk).exists()


def test_the_preview_shows_problems_and_duplicates_before_anything_is_written(messy_job):
    preview = {row.line: row for row in job_preview(messy_job)}
    assert "the same row as line 2" in preview[6].issues[0].message
    assert "the same person as line 2" in preview[7].issues[-1].message
    assert preview[8].error.startswith("email: not a valid e-mail address")
    assert not Lead.objects.exists()


def test_the_error_file_names_line_result_and_reason(messy_job):
    job = job_run(job=messy_job)
    rows = list(job_issues_csv(job))
    assert rows[0][:4] == ["line", "result", "reason", "Anrede"]
    by_line = {r[0]: r for r in rows[1:]}
    assert by_line["8"][1] == "Rejected"
    assert by_line["8"][3:] == ["X", "", "", "", "kaputt", "", "", "", "", "", "", ""]


def test_re_running_the_same_file_creates_nothing_new(messy_job, trade_fair):
    job_run(job=messy_job)
    counts = (Lead.objects.count(), Person.objects.count(), Company.objects.count())
    again = job_run(
        job=job_create(data=MESSY.encode(), file_name="messe (1).csv", channel=trade_fair)
    )
    # all six rows that made or joined a lead (line 6 repeats line 2) are known now
    assert (again.leads_created, again.rows_already_imported) == (0, 6)
    assert (Lead.objects.count(), Person.objects.count(), Company.objects.count()) == counts


def test_a_different_campaign_is_a_different_interest(messy_job, trade_fair):
    job_run(job=messy_job)
    campaign = CampaignFactory(slug="messe-2026", channel=trade_fair)
    again = job_run(
        job=job_create(
            data=MESSY.encode(), file_name="m.csv", channel=trade_fair, campaign=campaign
        )
    )
    assert again.leads_created == 4 and again.persons_created == 0


def test_matching_existing_people_and_companies(trade_fair):
    company = CompanyFactory(name="Weiß Bau", name_key="weiss bau", domain="weiss-bau.de")
    known = PersonFactory(
        first_name="Jürgen", last_name="Weiß", email="jw@weiss-bau.de", phone="", company=company
    )
    data = (
        "E-Mail;Vorname;Nachname;Telefon;Firma;Webseite\n"
        "JW@weiss-bau.de;Jürgen;Weiß;089 1234567;Weiss Bau;www.weiss-bau.de\n"
    ).encode()
    job = job_run(job=job_create(data=data, file_name="x.csv", channel=trade_fair))
    assert (job.persons_matched, job.companies_matched, job.leads_created) == (1, 1, 1)
    known.refresh_from_db()
    assert known.phone == "+49891234567"  # a gap filled
    payload = Activity.objects.get(lead__person=known).payload
    assert payload["person_filled"] == {"phone": "+49891234567"}


def test_the_duplicate_check_runs_for_new_people(trade_fair):
    company = CompanyFactory(name="Weiß Bau", name_key="weiss bau", domain="weiss-bau.de")
    certain = PersonFactory(
        first_name="Jürgen",
        last_name="Weiß",
        email="jw@weiss-bau.de",
        phone="+49891234567",
        company=company,
    )
    doubtful = PersonFactory(
        first_name="Anna",
        last_name="Schulz",
        email="anna@weiss-bau.de",
        phone="",
        company=company,
    )
    data = (
        "E-Mail;Vorname;Nachname;Telefon;Firma;Webseite\n"
        "juergen.weiss@weiss-bau.de;Juergen;Weiss;+49 89 1234567;Weiß Bau;weiss-bau.de\n"
        "einkauf@weiss-bau.de;Anna;Schulz;;Weiß Bau;weiss-bau.de\n"
    ).encode()
    job = job_run(job=job_create(data=data, file_name="x.csv", channel=trade_fair))
    assert Lead.objects.get(person=certain).person_id == certain.id
    payload = Activity.objects.get(lead__person=certain).payload
    assert payload["person_matched_by_duplicate_check"]["probability"] >= 0.999
    assert job.duplicates_queued == 1
    candidate = DuplicateCandidate.objects.get()
    assert doubtful.id in (candidate.person_a_id, candidate.person_b_id)
    assert candidate.found_by == "import"


def test_a_missing_required_column_is_named(trade_fair):
    job = job_create(
        data="Firma;Ort\nWeiß Bau;München\n".encode(), file_name="x.csv", channel=trade_fair
    )
    with pytest.raises(DomainValidationError, match="No column for the e-mail address"):
        job_ready(job=job)
    job = job_create(
        data="Telefon;Firma\n089 1234567;Weiß Bau\n".encode(), file_name="y.csv", channel=trade_fair
    )
    with pytest.raises(DomainValidationError, match="last name"):
        job_run(job=job)


def test_mapping_can_be_corrected_and_is_checked(trade_fair):
    job = job_create(
        data="Kontakt-Mail;Wer\nm@x.de;Müller\n".encode(), file_name="x.csv", channel=trade_fair
    )
    assert job.mapping == {}
    with pytest.raises(DomainValidationError, match="more than one column for: email"):
        job_set_mapping(
            job=job, mapping={0: "email", 1: "email"}, channel=trade_fair, campaign=None
        )
    job = job_set_mapping(
        job=job, mapping={0: "email", 1: "last_name"}, channel=trade_fair, campaign=None
    )
    preview = job_preview(job)
    assert preview[0].person["email"] == "m@x.de" and not preview[0].error
    assert job_run(job=job).leads_created == 1


def test_an_external_id_that_exists_in_the_channel_rejects_the_row(trade_fair):
    data = b"ID;E-Mail\n17;a@x.de\n17;b@x.de\n"
    job = job_run(job=job_create(data=data, file_name="x.csv", channel=trade_fair))
    assert (job.leads_created, job.rows_rejected) == (1, 1)
    assert "external ID" in ImportIssue.objects.get(job=job).message


def test_a_run_interrupted_between_chunks_resumes_at_the_checkpoint(trade_fair):
    data = ("Nachname;E-Mail\n" + "".join(f"N{i};n{i}@x.de\n" for i in range(25))).encode()
    job = job_create(data=data, file_name="x.csv", channel=trade_fair, chunk_size=10)

    class Killed(BaseException):
        pass

    def stop_after_first(current):
        if current.rows_done == 10:
            raise Killed

    with pytest.raises(Killed):
        job_run(job=job, progress=stop_after_first)
    job.refresh_from_db()
    assert (job.status, job.rows_done, Lead.objects.count()) == (JobStatus.RUNNING, 10, 10)
    done = job_run(job=job)
    assert (done.status, done.rows_done, done.leads_created) == (JobStatus.DONE, 25, 25)
    assert Lead.objects.count() == 25 == ImportedRow.objects.count()


def test_a_failing_chunk_leaves_nothing_half_written(trade_fair, monkeypatch):
    data = ("Nachname;E-Mail\n" + "".join(f"N{i};n{i}@x.de\n" for i in range(25))).encode()
    job = job_create(data=data, file_name="x.csv", channel=trade_fair, chunk_size=10)
    from leadwerk.imports import services

    real = services.insert_rows
    calls = {"n": 0}

    def fail_on_second_chunk(model, rows, **kwargs):
        if model is ImportedRow:
            calls["n"] += 1
            if calls["n"] == 2:  # second chunk: leads, stage changes, activities written already
                raise RuntimeError("disk full")
        return real(model, rows, **kwargs)

    monkeypatch.setattr(services, "insert_rows", fail_on_second_chunk)
    with pytest.raises(RuntimeError):
        job_run(job=job)
    job.refresh_from_db()
    assert (job.status, job.rows_done) == (JobStatus.FAILED, 10)
    assert "disk full" in job.error
    assert Lead.objects.count() == Activity.objects.count() == StageChange.objects.count() == 10
    monkeypatch.undo()
    assert job_run(job=job).leads_created == 25


def test_the_task_runs_the_import_in_the_background(
    trade_fair, settings, admin_user, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from leadwerk.imports.services import job_enqueue

    job = job_create(
        data=b"E-Mail\na@x.de\n", file_name="x.csv", channel=trade_fair, actor=admin_user
    )
    with django_capture_on_commit_callbacks(execute=True):
        job_enqueue(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.leads_created == 1


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_cli_imports_xlsx_and_writes_the_error_file(tmp_path, trade_fair, capsys):
    source = tmp_path / "kontakte.xlsx"
    source.write_bytes(
        _xlsx(
            [
                ["Name", "E-Mail", "Telefon", "PLZ", "Firma"],
                ["Dr. Jürgen Weiß", "j@weiss.de", 891234567, 1067, "Weiß GmbH"],
                ["Müller, Anna", "nicht-gültig", None, None, None],
            ]
        )
    )
    errors = tmp_path / "fehler.csv"
    call_command("import_leads", str(source), "--channel", "trade-fair", "--errors", str(errors))
    out = capsys.readouterr()
    assert "1 leads created, 1 rows rejected" in out.out
    assert "line 3" in out.err
    person = Person.objects.get()
    assert (person.title, person.first_name, person.last_name, person.phone) == (
        "Dr.",
        "Jürgen",
        "Weiß",
        "+49891234567",
    )
    assert person.company.postal_code == "01067"
    assert "nicht-gültig" in errors.read_text(encoding="utf-8-sig")


def test_cli_refuses_a_file_without_known_columns(tmp_path, trade_fair):
    source = tmp_path / "x.csv"
    source.write_text("foo;bar\n1;2\n")
    with pytest.raises(CommandError, match="No column for the e-mail address.*foo, bar"):
        call_command("import_leads", str(source), "--channel", "trade-fair")
    assert not ImportJob.objects.exists()


def test_cli_map_option_and_unknown_channel(tmp_path, trade_fair):
    source = tmp_path / "x.csv"
    source.write_text("Kontakt;Wer\na@b.de;Müller\n")
    call_command(
        "import_leads",
        str(source),
        "--channel",
        "trade-fair",
        "--map",
        "Kontakt=email",
        "--map",
        "Wer=last_name",
        "--quiet",
    )
    assert Person.objects.get().last_name == "Müller"
    with pytest.raises(CommandError, match="unknown channel 'fax'"):
        call_command("import_leads", str(source), "--channel", "fax")


def test_cli_refuses_a_file_that_is_not_a_table(tmp_path, trade_fair):
    source = tmp_path / "bild.csv"
    source.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(CommandError, match="not a table"):
        call_command("import_leads", str(source), "--channel", "trade-fair")


def test_cli_reads_windows_1252(tmp_path, trade_fair):
    source = tmp_path / "alt.csv"
    source.write_bytes(
        "Nachname,E-Mail,Firma\nMüller,m@mueller.de,Müller & Söhne GmbH\n".encode("cp1252")
    )
    call_command("import_leads", str(source), "--channel", "trade-fair", "--quiet")
    assert Lead.objects.get().company.name == "Müller & Söhne"
