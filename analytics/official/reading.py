"""Files in, raw rows out: CSV and XLSX in the long format, SDMX-CSV and SDMX-ML.

Every reader returns a `RawFile`: its format, the rows as {column: text} with the
line (CSV), sheet row (XLSX) or observation number (SDMX) each came from, and a
hint for the dataset code. Problems with the file as a whole (not text in UTF-8,
not a workbook, not SDMX, no header) raise `FileError`; problems with one row are
for `validation` to find.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.utils.translation import gettext as _

from . import sdmx as sdmx_io

FORMATS = ("csv", "xlsx", "sdmx_csv", "sdmx_ml")


class FileError(ValueError):
    """The file cannot be read at all; the message says why, for the person who uploaded it."""


@dataclass
class RawFile:
    format: str
    rows: list[tuple[int, dict[str, str]]]
    columns: list[str] = field(default_factory=list)
    structure: str = ""


def decode_text(content: bytes) -> str:
    """The file as text: UTF-8, with or without a byte-order mark, or a FileError saying where it is not."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(
            _(
                "The file is not UTF-8 text (byte 0x%(byte)02x at position %(position)d cannot be read). "
                "It may be in Windows-1251 or another legacy encoding: save it as 'CSV UTF-8' and upload it again."
            )
            % {"byte": content[exc.start], "position": exc.start}
        ) from exc


def detect_format(content: bytes, file_name: str) -> str:
    suffix = Path(file_name).suffix.lower()
    if suffix in {".xlsx", ".xlsm"} or content[:4] == b"PK\x03\x04":
        return "xlsx"
    if suffix == ".xml" or content.lstrip()[:1] == b"<" or content[:4] == b"\xef\xbb\xbf<":
        return "sdmx_ml"
    head = content[:200].lstrip(b"\xef\xbb\xbf")
    return "sdmx_csv" if head.startswith(b"STRUCTURE") else "csv"


def read_file(content: bytes, file_name: str, file_format: str | None = None) -> RawFile:
    """Read a file of any supported format into raw rows."""
    if not content.strip():
        raise FileError(_("The file is empty."))
    file_format = file_format or detect_format(content, file_name)
    if file_format == "xlsx":
        return read_xlsx(content)
    if file_format == "sdmx_ml":
        return _read_sdmx(lambda: sdmx_io.read_sdmx_ml(content), "sdmx_ml")
    text = decode_text(content)
    if file_format == "sdmx_csv":
        return _read_sdmx(lambda: sdmx_io.read_sdmx_csv(text), "sdmx_csv")
    if file_format == "csv":
        return read_csv(text)
    raise FileError(_("Unknown format %(format)r.") % {"format": file_format})


def _read_sdmx(read, file_format: str) -> RawFile:
    try:
        rows, structure = read()
    except sdmx_io.SdmxError as exc:
        raise FileError(_("The SDMX file could not be read: %(reason)s") % {"reason": exc}) from exc
    if not rows:
        raise FileError(_("The SDMX file holds no observations."))
    columns = sorted({column for row in rows for column in row})
    return RawFile(file_format, list(enumerate(rows, start=1)), columns, structure)


def read_csv(text: str) -> RawFile:
    """A CSV file with a header row; each row is numbered by the line it starts on."""
    first = text.split("\n", 1)[0]
    # Commas, unless the header has none and semicolons or tabs (Excel in some locales).
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    if not any(header):
        raise FileError(_("The file has no header row."))
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        if len(values) > len(header):
            values = values[: len(header)] + [_EXTRA_MARK + ",".join(values[len(header) :])]
        rows.append((line, dict(zip(header + ["__extra__"], [v.strip() for v in values], strict=False))))
    return RawFile("csv", rows, header)


_EXTRA_MARK = "\x00"


def read_xlsx(content: bytes) -> RawFile:
    """The first worksheet of a workbook, the first row as the header."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileError(_("The file is not an Excel workbook (.xlsx) that can be read.")) from exc
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    header = [str(h).strip().lower() if h is not None else "" for h in next(values, ())]
    if not any(header):
        raise FileError(_("The first worksheet has no header row."))
    rows = []
    for number, cells in enumerate(values, start=2):
        texts = [_cell_text(column, cell) for column, cell in zip(header, cells, strict=False)]
        if any(texts):
            rows.append((number, dict(zip(header, texts, strict=False))))
    workbook.close()
    return RawFile("xlsx", rows, header)


def _cell_text(column: str, cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime | date):
        # A period typed as a date (Excel turns "2023-11" into 1 Nov 2023).
        return f"{cell.year}-{cell.month:02d}" if column == "time_period" else cell.isoformat()
    if isinstance(cell, float) and cell.is_integer() and column != "obs_value":
        return str(int(cell))
    if isinstance(cell, float):
        return repr(cell)
    return str(cell).strip()
