"""`leadwerk import` on a small list (the full behaviour is tested in leadwerk/imports)."""

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
    # a postal code that lost its leading zero is restored and reported, not rejected
    assert "3 leads created, 0 rows rejected, 1 imported with warnings" in out.out
    assert "line 3" in out.err and "leading zero restored" in out.err
    assert set(Lead.objects.values_list("person__email", flat=True)) == {
        "j.weiss@weiss-bau.de",
        "ayse@example.de",
        "zoe@oesswald.at",
    }
    assert Lead.objects.get(person__email="zoe@oesswald.at").company.country == "AT"
    assert Lead.objects.get(person__email="ayse@example.de").company.postal_code == "01234"
    reported = errors.read_text(encoding="utf-8-sig")
    assert reported.splitlines()[0].startswith("line;result;reason;Anrede")
    assert "ayse@example.de" in reported


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
    with pytest.raises(CommandError, match="No column for the e-mail address"):
        call_command("import_leads", str(source), "--channel", "trade-fair")


def test_import_refuses_an_unknown_channel(tmp_path, trade_fair):
    source = tmp_path / "x.csv"
    source.write_text("E-Mail\na@b.de\n")
    with pytest.raises(CommandError, match="unknown channel 'fax'"):
        call_command("import_leads", str(source), "--channel", "fax")


def test_import_fails_when_no_row_can_be_imported(tmp_path, trade_fair):
    source = tmp_path / "x.csv"
    source.write_text("E-Mail\nkaputt\n")
    with pytest.raises(CommandError, match="no row could be imported"):
        call_command("import_leads", str(source), "--channel", "trade-fair", "--quiet")
