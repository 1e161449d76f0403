"""Exports to CSV and XLSX cannot smuggle formulas into a spreadsheet."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from leadwerk.audit.choices import AuditAction
from leadwerk.audit.models import AuditEntry
from leadwerk.exports.tabular import cell_value
from leadwerk.tests_support.factories import LeadFactory, PersonFactory

DANGEROUS = ["=1+1", "+49 89 123", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_text_starting_like_a_formula_becomes_text(value):
    assert cell_value(value) == "'" + value


@pytest.mark.parametrize("value", ["Müller", "a=b", "info@x.de", "", "1+1"])
def test_harmless_text_stays_as_it_is(value):
    assert cell_value(value) == value


def test_numbers_stay_numbers():
    assert (cell_value(-5), cell_value(Decimal("-1.5")), cell_value(None)) == (
        -5,
        Decimal("-1.5"),
        "",
    )


@pytest.fixture
def evil_lead(db, admin_user):
    person = PersonFactory(
        first_name='=HYPERLINK("http://evil","x")',
        last_name="@SUM(1)",
        phone="+4989123",
        email="evil@example.de",
    )
    return LeadFactory(person=person, company=person.company, message="-1+2\nzweite Zeile")


def test_lead_csv_export_neutralises_every_dangerous_cell(client, admin_user, evil_lead):
    client.force_login(admin_user)
    response = client.get("/export/leads.csv")
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["first_name"] == '\'=HYPERLINK("http://evil","x")'
    assert row["last_name"] == "'@SUM(1)"
    assert row["phone"] == "'+4989123"
    assert row["message"] == "'-1+2\nzweite Zeile"
    assert row["email"] == "evil@example.de"
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, object_type="lead_list")
    assert entry.actor == admin_user and entry.after["rows"] == 1


def test_lead_xlsx_export_holds_text_cells_never_formulas(client, admin_user, evil_lead):
    client.force_login(admin_user)
    response = client.get("/export/leads.xlsx", {"stage": "new"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, sheet[2], strict=True))
    assert values["first_name"].value == '\'=HYPERLINK("http://evil","x")'
    assert values["first_name"].data_type == "s"
    assert values["last_name"].value == "'@SUM(1)"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_export_follows_the_inbox_filters(client, admin_user, channel):
    LeadFactory(stage="new", channel=channel)
    LeadFactory(stage="won")
    client.force_login(admin_user)
    response = client.get("/export/leads.csv", {"stage": "won"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["stage"] for r in rows] == ["won"]
    assert client.get("/export/leads.pdf").status_code == 404
