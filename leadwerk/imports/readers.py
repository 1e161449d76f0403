"""Read CSV and XLSX lists as they come out of fairs, event tools, list brokers and CRMs.

Detects the file type by its content (not its name), the text encoding (UTF-8 with or
without BOM, UTF-16 with BOM as Excel's "Unicode text", Windows-1252, Latin-1, and files
whose lines mix UTF-8 and Windows-1252), the separator (, ; tab |, Excel's "sep=" line),
and the header row (a title line above the header is skipped). Anything that is not a
table is refused with a message that says why.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from leadwerk.leads.column_mapping import detect_columns

MAX_HEADER_SEARCH = 10
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class TableError(Exception):
    """The file cannot be read as a table; the message says why."""


@dataclass
class Table:
    kind: str  # "csv" or "xlsx"
    header: list[str]
    header_line: int  # 1-based line (CSV) or row (XLSX) of the header
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    notes: list[str] = field(default_factory=list)
    _data: bytes = b""
    _text: str = ""

    def rows(self, start: int = 0) -> Iterator[tuple[int, int, list[str]]]:
        """(index, line, cells) of each data row from data row ``start`` on; ``index`` is
        the stable 0-based number of the data row (empty rows count, so resuming is exact)."""
        source = self._csv_rows() if self.kind == "csv" else self._xlsx_rows()
        index = 0
        for line, cells in source:
            if line <= self.header_line:
                continue
            if index >= start:
                yield index, line, cells
            index += 1

    def count(self) -> int:
        return sum(1 for _ in self.rows())

    def _csv_rows(self) -> Iterator[tuple[int, list[str]]]:
        text = self._text
        if self.notes and "sep=" in self.notes[0]:
            text = text.split("\n", 1)[1] if "\n" in text else ""
            offset = 1
        else:
            offset = 0
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter or ",")
        start = 1
        try:
            for cells in reader:
                yield start + offset, cells
                start = reader.line_num + 1
        except csv.Error as exc:
            raise TableError(
                _("Line %(line)s cannot be read: %(error)s")
                % {"line": start + offset, "error": exc}
            ) from None

    def _xlsx_rows(self) -> Iterator[tuple[int, list[str]]]:
        workbook = _workbook(self._data)
        try:
            sheet = workbook[self.sheet]
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in values]
        finally:
            workbook.close()


def _workbook(data: bytes):
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise TableError(
            _("The Excel file is damaged or not an .xlsx file (%(error)s).")
            % {"error": type(exc).__name__}
        ) from None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) for a text file in one of the encodings lists come in."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 (BOM)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise TableError(_("The file says it is UTF-16 but is not.")) from None
    if b"\x00" in data[:4096]:
        raise TableError(
            _(
                "This is not a text table: it contains binary data. Save the list as CSV "
                "(UTF-8) or as an Excel workbook (.xlsx)."
            )
        )
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    utf8_lines = 0
    decoded = []
    for line in lines:
        try:
            text = line.decode("utf-8")
            if any(b > 0x7F for b in line):
                utf8_lines += 1
        except UnicodeDecodeError:
            text = _decode_8bit(line)
        decoded.append(text)
    if utf8_lines:
        return "\n".join(decoded), _("mixed UTF-8 and Windows-1252 (decoded line by line)")
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def _decode_8bit(line: bytes) -> str:
    try:
        return line.decode("cp1252")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    """The separator that splits the first lines into the same number (> 1) of cells."""
    sample = [ln for ln in text.splitlines()[:60] if ln.strip()]
    best, best_score = "", 0.0
    for delimiter in (";", ",", "\t", "|"):
        counts = [len(r) for r in csv.reader(io.StringIO("\n".join(sample)), delimiter=delimiter)]
        if not counts:
            continue
        common, freq = Counter(counts).most_common(1)[0]
        if common < 2:
            continue
        score = freq / len(counts) + common / 1000
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _header_index(rows: list[list[str]]) -> int:
    """The row (0-based) among the first ones that looks most like a header."""
    best, best_hits = -1, 0
    first_nonempty = -1
    for number, cells in enumerate(rows[:MAX_HEADER_SEARCH]):
        if not any(c.strip() for c in cells):
            continue
        if first_nonempty < 0:
            first_nonempty = number
        hits = len(detect_columns(cells))
        if hits > best_hits:
            best, best_hits = number, hits
    return best if best >= 0 else first_nonempty


def open_table(data: bytes, filename: str = "", sheet: str = "") -> Table:
    """Read the beginning of a file and describe it as a table; raise TableError if it is
    none."""
    if not data.strip():
        raise TableError(_("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        return _open_xlsx(data, sheet)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError(
            _("This is an old Excel file (.xls). Save it as .xlsx or CSV and upload it again.")
        )
    if data.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        raise TableError(_("This is a document or an image, not a table."))
    text, encoding = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    notes = []
    first_line = text.split("\n", 1)[0].strip().strip('"')
    delimiter = ""
    match = re.fullmatch(r"sep=(.)", first_line, re.IGNORECASE)
    if match:
        delimiter = match.group(1)
        notes.append(f"sep={delimiter}")
    if _CONTROL.search(text[:20_000]):
        raise TableError(
            _("This is not a text table: it contains control characters. Is it a binary file?")
        )
    if not delimiter:
        delimiter = _sniff_delimiter(text) or ","
    table = Table(
        kind="csv",
        header=[],
        header_line=0,
        encoding=encoding,
        delimiter=delimiter,
        notes=notes,
        _text=text,
    )
    head = list(_take(table._csv_rows(), MAX_HEADER_SEARCH))
    index = _header_index([cells for _, cells in head])
    if index < 0:
        raise TableError(_("The file has no rows."))
    table.header_line, header = head[index]
    table.header = [c.strip() for c in header]
    return table


def _take(iterator, n: int):
    for number, item in enumerate(iterator):
        if number >= n:
            return
        yield item


def _open_xlsx(data: bytes, sheet: str) -> Table:
    workbook = _workbook(data)
    try:
        names = workbook.sheetnames
        if sheet and sheet not in names:
            raise TableError(
                _("The workbook has no sheet '%(sheet)s'; it has: %(names)s")
                % {"sheet": sheet, "names": ", ".join(names)}
            )
        chosen, head = "", []
        for name in [sheet] if sheet else names:
            rows = []
            for values in workbook[name].iter_rows(values_only=True, max_row=MAX_HEADER_SEARCH):
                rows.append([_cell_text(v) for v in values])
            if any(any(c.strip() for c in r) for r in rows):
                chosen, head = name, rows
                break
    finally:
        workbook.close()
    if not chosen:
        raise TableError(_("The workbook has no sheet with data."))
    index = _header_index(head)
    header = [c.strip() for c in head[index]]
    while header and not header[-1]:
        header.pop()
    return Table(kind="xlsx", header=header, header_line=index + 1, sheet=chosen, _data=data)
