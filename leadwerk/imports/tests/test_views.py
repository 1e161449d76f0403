"""The import pages as a marketing assistant uses them: upload, correct the mapping, look at
the preview, start, watch the progress, download the problem rows."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from leadwerk.accounts.choices import Role
from leadwerk.imports.choices import JobStatus
from leadwerk.imports.models import ImportJob
from leadwerk.leads.models import Lead
from leadwerk.tests_support.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = (
    "Besucherliste Messe;;;\n"
    "Vorname;Nachname;Mail-Adresse;Firma\n"
    "Jürgen;Weiß;j.weiss@weiss-bau.de;Weiß Bau GmbH\n"
    "<b>Eve</b>;<script>x</script>;kaputt;Böse AG\n"
)


@pytest.fixture
def marketing(marketing_user):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(marketing_user)
    return client


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _upload(client, channel, data=None, name="messe.csv"):
    data = LIST.encode("cp1252") if data is None else data
    return client.post(
        reverse("imports:list"),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv"), "channel": channel.pk},
    )


def test_upload_map_preview_run_and_download(
    marketing, trade_fair, immediate_tasks, django_capture_on_commit_callbacks
):
    response = _upload(marketing, trade_fair)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    page = marketing.get(job.get_absolute_url())
    html = page.content.decode()
    assert "Windows-1252" in html
    # "Mail-Adresse" is not recognised: the page says what is missing
    assert "No column for the e-mail address" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x</script>" not in html
    # correct the mapping with htmx: the preview comes back with the row problems
    response = marketing.post(
        reverse("imports:mapping", args=[job.uuid]),
        {
            "map_0": "first_name",
            "map_1": "last_name",
            "map_2": "email",
            "map_3": "company.name",
            "channel": trade_fair.pk,
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "No column for the e-mail address" not in fragment
    assert "rejected" in fragment and "not a valid e-mail address" in fragment
    with django_capture_on_commit_callbacks(execute=True):
        response = marketing.post(reverse("imports:start", args=[job.uuid]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.leads_created == 1
    progress = marketing.get(reverse("imports:progress", args=[job.uuid])).content.decode()
    assert "hx-trigger" not in progress  # finished: the polling stops
    assert "Download the problem rows" in progress
    download = marketing.get(reverse("imports:issues_csv", args=[job.uuid]))
    text = b"".join(download.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffline;result;reason;Vorname")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[1][0] == "4" and rows[1][1] == "Rejected" and "e-mail" in rows[1][2]
    assert Lead.objects.get().person.email == "j.weiss@weiss-bau.de"


def test_a_running_import_is_polled(marketing, trade_fair):
    _upload(marketing, trade_fair, data=b"E-Mail\na@x.de\n")
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, total_rows=1)
    fragment = marketing.get(reverse("imports:progress", args=[job.uuid])).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "rows/s" in fragment


def test_a_file_that_is_not_a_table_is_refused_on_the_upload_page(marketing, trade_fair):
    response = _upload(marketing, trade_fair, data=b"%PDF-1.4 binary", name="liste.csv")
    assert response.status_code == 422
    assert "not a table" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_sales_reps_cannot_import(client, trade_fair):
    rep = UserFactory(username="rep1", roles=[Role.SALES_REP])
    client.force_login(rep)
    assert client.get(reverse("imports:list")).status_code == 403


def test_the_import_list_has_a_fixed_number_of_queries(
    marketing, trade_fair, django_assert_max_num_queries
):
    for n in range(5):
        _upload(marketing, trade_fair, data=f"E-Mail\nx{n}@x.de\n".encode(), name=f"{n}.csv")
    with django_assert_max_num_queries(10):
        response = marketing.get(reverse("imports:list"))
    assert response.content.decode().count("4.csv") == 1


def test_the_import_pages_speak_german(marketing_user, trade_fair):
    client = Client(headers={"Accept-Language": "de"})
    client.force_login(marketing_user)
    page = client.get(reverse("imports:list")).content.decode()
    assert "Liste importieren" in page and "Hochladen und prüfen" in page
    response = client.post(
        reverse("imports:list"),
        {"file": SimpleUploadedFile("x.csv", b"Firma;Ort\nA;B\n"), "channel": trade_fair.pk},
    )
    page = client.get(response["Location"]).content.decode()
    assert "Keine Spalte für die E-Mail-Adresse" in page
    assert "1. Welche Spalte ist welche?" in page


@pytest.mark.django_db(transaction=True)  # the worker closes its connection (PostgreSQL)
def test_the_started_import_is_run_by_the_database_task_worker(
    marketing, trade_fair, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    _upload(marketing, trade_fair, data=b"E-Mail;Nachname\na@x.de;Arndt\nb@x.de;Bach\n")
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        marketing.post(reverse("imports:start", args=[job.uuid]))
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED  # the page answered at once; a worker does the rest
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    job.refresh_from_db()
    assert (job.status, job.leads_created) == (JobStatus.DONE, 2)
