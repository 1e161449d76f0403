"""CSV and XLSX answers for every export, safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel and LibreOffice (CSV/formula injection, OWASP). Every text cell that starts
so gets a leading apostrophe, which spreadsheets show as text; numbers and dates stay values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell_value(value):
    """One value as a spreadsheet cell: text neutralised, numbers and dates kept."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, date):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence]):
    """A streamed UTF-8 CSV (with BOM, so Excel picks the encoding) of neutralised cells."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_MINIMAL)

    def lines():
        yield "\ufeff" + writer.writerow([cell_value(h) for h in header])
        for row in rows:
            yield writer.writerow([_csv_text(cell_value(v)) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _csv_text(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value) if not isinstance(value, str) else value


def xlsx_bytes(*, header: Sequence[str], rows: Iterable[Sequence], title: str = "Export") -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([cell_value(h) for h in header])
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=cell_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence]):
    response = HttpResponse(xlsx_bytes(header=header, rows=rows), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def table_response(*, fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence]):
    if fmt == "xlsx":
        return xlsx_response(filename=filename, header=header, rows=rows)
    return csv_response(filename=filename, header=header, rows=rows)
