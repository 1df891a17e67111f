"""Reading XLSForm workbooks (.xlsx, .xls, .csv, .md) into version content.

The workbook is read by pyxform's own XLSForm reader; the rows it returns
(empty rows included, so numbering matches the spreadsheet) become the
XLSForm-shaped content that a SurveyVersion stores, and the instrument
compiler checks it. A form with any error is refused whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import get_xlsform

from .instrument import Instrument, InstrumentError, Problem, compile_instrument

SHEETS = ("survey", "choices", "settings")
_IGNORED_SHEETS = {
    "external_choices": "external choice lists are not supported; the sheet was not read",
    "entities": "entities are not supported; the sheet was not read",
    "osm": "OpenStreetMap tags are not supported; the sheet was not read",
}


@dataclass
class ImportReport:
    """What an import found: errors refuse the form, notes explain applied rules."""

    errors: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    content: dict[str, Any] | None = None
    instrument: Instrument | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.instrument is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [p.as_dict() for p in self.errors],
            "notes": [p.as_dict() for p in self.notes],
        }

    def lines(self) -> list[str]:
        return [f"error: {p}" for p in self.errors] + [f"note: {p}" for p in self.notes]


def read_workbook(data: bytes, filename: str = "form.xlsx") -> dict[str, Any]:
    """Rows of the survey, choices and settings sheets, each with its row number."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else None
    file_type = suffix if suffix in (".xlsx", ".xlsm", ".xls", ".csv", ".md") else None
    try:
        book = get_xlsform(data, file_type=file_type)
    except PyXFormError as exc:
        raise InstrumentError(
            [Problem("workbook", None, None, f"the file could not be read as an XLSForm: {exc}")]
        ) from exc
    except Exception as exc:  # openpyxl and xlrd raise many kinds on corrupt files
        raise InstrumentError(
            [Problem("workbook", None, None, f"the file could not be read as an XLSForm ({type(exc).__name__})")]
        ) from exc
    content: dict[str, Any] = {"survey": [], "choices": [], "settings": {}}
    for sheet in ("survey", "choices"):
        rows = getattr(book, sheet) or []
        content[sheet] = [{"_row": index + 2, **_clean_row(row)} for index, row in enumerate(rows) if row]
    settings_rows = [_clean_row(row) for row in (book.settings or []) if row]
    content["settings"] = settings_rows[0] if settings_rows else {}
    content["_ignored_sheets"] = [
        name for name in (book.sheet_names or []) if name.lower() in _IGNORED_SHEETS and getattr(book, name.lower())
    ]
    return content


def _clean_row(row: dict[str, Any]) -> dict[str, Any]:
    """Cells as text without NUL characters, which no database text column accepts."""
    return {_clean(key): _clean(value) for key, value in row.items()}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return value


def import_report(data: bytes, filename: str = "form.xlsx") -> ImportReport:
    """Read and check a workbook; never raises for a bad form, reports instead."""
    report = ImportReport()
    try:
        content = read_workbook(data, filename)
    except InstrumentError as exc:
        report.errors = exc.problems
        return report
    for name in content.pop("_ignored_sheets"):
        report.notes.append(Problem(name, None, None, _IGNORED_SHEETS[name.lower()]))
    try:
        instrument = compile_instrument(content)
    except InstrumentError as exc:
        report.errors = exc.problems
        report.notes += exc.notes
        return report
    report.notes += instrument.notes
    report.content = content
    report.instrument = instrument
    return report
