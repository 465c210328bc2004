"""Lists as spreadsheets: CSV, streamed, and XLSX, written by openpyxl's write-only workbook.

A table is a header (already in the reader's language) and an iterable of rows, read lazily:
the CSV answer is a generator that pulls rows as it sends them, the XLSX workbook is written row
by row to a temporary file and then sent. Neither holds the table in memory. At most
``EXPORT_MAX_ROWS`` rows are written (``X-Export-Limit`` says how many that is).

Cells are values: ``None``, ``str``, ``int``, ``float``, ``bool``, ``date``. A text a
spreadsheet would take for a formula (beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return, after OWASP's "CSV injection") is prefixed with ``'`` in CSV, and written as a
string cell in XLSX, never as a formula.
"""

import csv
import io
import itertools
import re
import tempfile
import unicodedata
from datetime import date, datetime
from urllib.parse import quote, urlencode

from flask import current_app, request, send_file, stream_with_context, url_for

# openpyxl (13 MB) is imported by the first XLSX export, not with the app: the sync, its worker
# and most pages never write a workbook.

FORMATS = ("csv", "xlsx")
FORMAT_RULE = "<any(csv, xlsx):fmt>"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Rows sent to the client at a time (CSV): a few tens of kilobytes.
CSV_CHUNK_ROWS = 200


def neutralise(text):
    """``text`` prefixed with ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def xlsx_cell(sheet, value):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # a string, even when it begins with "=": never a formula
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    return cell


def content_disposition(filename, fallback):
    """``attachment`` with ``filename`` (RFC 6266): an ASCII ``filename`` for old clients
    (``fallback`` when ``filename`` is not ASCII) and ``filename*`` (RFC 5987) in UTF-8."""
    if filename.isascii() and re.fullmatch(r"[\w .()-]+", filename):
        return f'attachment; filename="{filename}"'
    plain = re.sub(r"[^\w.()-]+", "-", fallback.encode("ascii", "ignore").decode())
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_name(*parts):
    """Parts joined with "-", without characters a file name cannot hold, NFC-normalised."""
    text = "-".join(str(p) for p in parts if p)
    text = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]+', "-", unicodedata.normalize("NFC", text))
    return text.strip(" .-") or "export"


def max_rows():
    return current_app.config["EXPORT_MAX_ROWS"]


def answer(fmt, header, rows, filename, fallback, sheet_title="Sheet"):
    """The table as a download in ``fmt`` ("csv" or "xlsx"); ``filename`` and ``fallback``
    (ASCII) without their extension."""
    limit = max_rows()
    rows = itertools.islice(rows, limit)
    response = _csv(header, rows) if fmt == "csv" else _xlsx(header, rows, sheet_title)
    response.headers["Content-Disposition"] = content_disposition(
        f"{filename}.{fmt}", f"{fallback}.{fmt}"
    )
    response.headers["X-Export-Limit"] = str(limit)
    response.headers["Cache-Control"] = "no-store"
    return response


def _csv(header, rows):
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # the BOM: Excel then reads the file as UTF-8
        writer.writerow([csv_value(v) for v in header])
        for n, row in enumerate(rows, 1):
            writer.writerow([csv_value(v) for v in row])
            if n % CSV_CHUNK_ROWS == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    return current_app.response_class(stream_with_context(generate()), content_type=CSV_TYPE)


def _xlsx(header, rows, sheet_title):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    # A sheet's name: at most 31 characters, none of []:*?/\
    sheet = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", sheet_title)[:31] or "Sheet")
    sheet.append([xlsx_cell(sheet, str(v)) for v in header])
    for row in rows:
        sheet.append([xlsx_cell(sheet, v) for v in row])
    # Deleted when the answer is closed (send_file closes it), or here if saving fails.
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    try:
        workbook.save(spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return send_file(spool, mimetype=XLSX_TYPE, conditional=False, max_age=0)


def export_url(endpoint, fmt, **values):
    """The export of the current page in ``fmt``, with the page's query string as it is (its
    filters), without the page's position in the list (``after``). The query string is added as
    it came, never as ``url_for`` arguments."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "after"]
    url = url_for(endpoint, fmt=fmt, **values)
    return url + ("?" + urlencode(args) if args else "")
