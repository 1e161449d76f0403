"""`leadwerk import` (the basic CSV import through the intake contract)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leadwerk.leads.models import Lead

pytestmark = pytest.mark.django_db

CSV = (
    "Anrede;Vorname;Nachname;E-Mail;Firma;PLZ;Land;Nachricht\n"
    "Herr;Jürgen;Weiß;j.weiss@weiss-bau.de;Weiß Bau GmbH;80331;Deutschland;Rückruf bitte\n"
    "Frau;Ayşe;Yılmaz;ayse@example.de;Yılmaz Logistik KG;1234;Deutschland;\n"
    ";;;;;;;\n"
    "Frau;Zoë;Ößwald;zoe@oesswald.at;Ößwald AG;1010;Österreich;\n"
)


def test_import_creates_leads_and_reports_bad_rows(tmp_path, trade_fair, capsys):
    source = tmp_path / "messe.csv"
    source.write_bytes(CSV.encode("utf-8-sig"))
    errors = tmp_path / "errors.csv"
    call_command("import_leads", str(source), "--channel", "trade-fair", "--errors", str(errors))
    out = capsys.readouterr()
    assert "2 leads created, 1 rows rejected" in out.out
    assert "line 3" in out.err and "five digits" in out.err
    assert set(Lead.objects.values_list("person__email", flat=True)) == {
        "j.weiss@weiss-bau.de",
        "zoe@oesswald.at",
    }
    assert Lead.objects.get(person__email="zoe@oesswald.at").company.country == "AT"
    rejected = errors.read_text(encoding="utf-8")
    assert rejected.splitlines()[0].startswith("line;reason;Anrede")
    assert "ayse@example.de" in rejected


def test_import_reads_windows_1252(tmp_path, trade_fair):
    source = tmp_path / "alt.csv"
    source.write_bytes(
        "Nachname,E-Mail,Firma\nMüller,m@mueller.de,Müller & Söhne GmbH\n".encode("cp1252")
    )
    call_command("import_leads", str(source), "--channel", "trade-fair")
    assert Lead.objects.get().company.name == "Müller & Söhne"


def test_import_refuses_a_file_without_known_columns(tmp_path, trade_fair):
    source = tmp_path / "x.csv"
    source.write_text("foo;bar\n1;2\n")
    with pytest.raises(CommandError, match="no column for e-mail"):
        call_command("import_leads", str(source), "--channel", "trade-fair")


def test_import_refuses_unknown_channel_per_row(tmp_path, trade_fair):
    source = tmp_path / "x.csv"
    source.write_text("E-Mail\na@b.de\n")
    with pytest.raises(CommandError, match="no row could be imported"):
        call_command("import_leads", str(source), "--channel", "fax")
