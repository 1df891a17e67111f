"""Rows of an uploaded table (.csv in UTF-8 or Windows-1251, or the first sheet of an .xlsx).

Shared by every import that takes a programme's own lists (panels, participants, employment
records): headers, then (spreadsheet row number, cell texts), trailing empty rows dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any


class TableError(ValueError):
    """The file cannot be read as a table: the message says why."""


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def rows_read(
    data: bytes, filename: str, *, first_row: str = "the first row must name the columns"
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Headers and (spreadsheet row number, cells) of the first sheet of a .csv or .xlsx file."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension == "csv":
        rows = _csv_rows(data)
    elif extension == "xlsx":
        rows = _xlsx_rows(data)
    else:
        raise TableError(f"'{filename}' is not a .csv or .xlsx file.")
    if not rows:
        raise TableError(f"The file is empty: {first_row}.")
    headers = [cell_text(h) for h in rows[0]]
    numbered = [(index + 2, [cell_text(c) for c in cells]) for index, cells in enumerate(rows[1:])]
    while numbered and not any(numbered[-1][1]):
        numbered.pop()  # trailing empty rows (spreadsheet formatting) are not rows
    return headers, numbered


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            # Excel on Russian-locale Windows saves CSV as cp1251.
            text = data.decode("cp1251")
        except UnicodeDecodeError:
            raise TableError("The CSV file is not UTF-8 or Windows-1251 text.") from None
    if "\x00" in text:
        raise TableError("The CSV file is not readable text.")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise TableError(f"The CSV file cannot be read: {exc}.") from None


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0] if book.worksheets else None
            return [list(row) for row in sheet.iter_rows(values_only=True)] if sheet is not None else []
        finally:
            book.close()
    except Exception as exc:  # zip, XML and workbook errors alike: the file cannot be read
        raise TableError(f"The XLSX file cannot be read ({type(exc).__name__}).") from None
