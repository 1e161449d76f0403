"""Reading lists: encodings, separators, header rows, Excel quirks, and files that are not
tables."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from leadwerk.imports.readers import TableError, open_table

CSV = "Vorname;Nachname;E-Mail;Firma\nJürgen;Weiß;j@weiss.de;Weiß Bau GmbH\n"


def _cells(table):
    return [cells for _, _, cells in table.rows()]


@pytest.mark.parametrize(
    "data, encoding",
    [
        (CSV.encode("utf-8"), "UTF-8"),
        (CSV.encode("utf-8-sig"), "UTF-8 (BOM)"),
        (CSV.encode("cp1252"), "Windows-1252"),
        (CSV.encode("utf-16"), "UTF-16"),
    ],
)
def test_encodings_are_detected(data, encoding):
    table = open_table(data)
    assert table.encoding == encoding
    assert table.header == ["Vorname", "Nachname", "E-Mail", "Firma"]
    assert _cells(table) == [["Jürgen", "Weiß", "j@weiss.de", "Weiß Bau GmbH"]]


def test_latin1_bytes_that_windows_1252_does_not_know():
    data = "Nachname;E-Mail\nMüller\x81;m@x.de\n".encode("latin-1")
    table = open_table(data)
    assert table.encoding == "Latin-1"
    assert _cells(table)[0][0] == "Müller\x81"


def test_lines_mixing_utf8_and_windows_1252_are_decoded_line_by_line():
    data = b"Nachname;E-Mail\n" + "Müller;m@x.de\n".encode() + "Weiß;w@x.de\n".encode("cp1252")
    table = open_table(data)
    assert "mixed" in table.encoding
    assert [c[0] for c in _cells(table)] == ["Müller", "Weiß"]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_separators_are_detected(sep):
    text = sep.join(["Nachname", "E-Mail", "Firma"]) + "\n"
    text += sep.join(["Müller", "m@x.de", '"Müller, Söhne & Co"']) + "\n"
    table = open_table(text.encode())
    assert table.delimiter == sep
    assert _cells(table) == [["Müller", "m@x.de", "Müller, Söhne & Co"]]


def test_excel_sep_line_and_a_title_above_the_header():
    text = "sep=;\nBesucherliste Messe 2025;;\n;;\nNachname;E-Mail;PLZ\nMüller;m@x.de;1067\n"
    table = open_table(text.encode("cp1252"))
    assert table.delimiter == ";"
    assert table.header == ["Nachname", "E-Mail", "PLZ"]
    assert table.header_line == 4
    assert [(line, cells) for _, line, cells in table.rows()] == [(5, ["Müller", "m@x.de", "1067"])]


def test_rows_have_stable_indexes_for_resuming():
    text = "Nachname;E-Mail\n" + "".join(f"N{i};n{i}@x.de\n" for i in range(10))
    table = open_table(text.encode())
    assert [i for i, _, _ in table.rows(start=7)] == [7, 8, 9]
    assert table.count() == 10


def test_multi_line_cells_keep_their_line_numbers():
    text = 'Nachname;Nachricht\nMüller;"Zeile 1\nZeile 2"\nSchulz;x\n'
    table = open_table(text.encode())
    assert [(line, cells) for _, line, cells in table.rows()] == [
        (2, ["Müller", "Zeile 1\nZeile 2"]),
        (4, ["Schulz", "x"]),
    ]


def _xlsx(rows, title="Tabelle1") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_with_numbers_dates_and_empty_first_sheet():
    wb = Workbook()
    wb.active.title = "Leer"
    ws = wb.create_sheet("Kontakte")
    ws.append(["Liste vom Stand"])
    ws.append(["Nachname", "E-Mail", "PLZ", "Telefon", "Datum"])
    import datetime

    ws.append(["Müller", "m@x.de", 1067, 891234567, datetime.date(2025, 3, 1)])
    out = io.BytesIO()
    wb.save(out)
    table = open_table(out.getvalue())
    assert (table.kind, table.sheet, table.header_line) == ("xlsx", "Kontakte", 2)
    assert _cells(table) == [["Müller", "m@x.de", "1067", "891234567", "2025-03-01"]]


def test_xlsx_unknown_sheet_is_named():
    with pytest.raises(TableError, match="no sheet 'X'.*Tabelle1"):
        open_table(_xlsx([["Nachname"]]), sheet="X")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not a table"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a table"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel file"),
        (b"PK\x03\x04not really a zip", "damaged or not an .xlsx"),
        (bytes(range(256)) * 4, "binary data"),
        ("N\x00a\x00m\x00e\x00;\x00".encode("latin-1"), "binary data"),
        (b"Name;E-Mail\x01\x02\x03\n", "control characters"),
    ],
)
def test_files_that_are_not_tables_are_refused_with_a_reason(data, message):
    with pytest.raises(TableError, match=message):
        open_table(data)
