"""Reading XLSForm workbooks (.xlsx, .xls, .csv, .md) into version content.

The workbook is read and converted by pyxform (its reader, then its conversion,
which resolves aliases and defaults and refuses what XLSForm refuses); its output
is written back as the XLSForm-shaped content a SurveyVersion stores (see
xlsform_pyxform), and the instrument compiler checks that against the platform's
rules. A form with any error is refused whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import get_xlsform

from .instrument import Instrument, InstrumentError, Problem, compile_instrument
from .xlsform_pyxform import PyxformRefused, canonical_content

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
    languages: list[dict[str, Any]] = field(default_factory=list)  # the form's own, as it names them
    mapped: list[str] = field(default_factory=list)  # how features were read (aliases, repeats ...)

    @property
    def ok(self) -> bool:
        return not self.errors and self.instrument is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [p.as_dict() for p in self.errors],
            "notes": [p.as_dict() for p in self.notes],
            "languages": self.languages,
            "mapped": self.mapped,
        }

    def lines(self) -> list[str]:
        languages = ", ".join(
            f"{lang['name']} ({lang['code']}){' default' if lang['default'] else ''}" for lang in self.languages
        )
        return (
            [f"error: {p}" for p in self.errors]
            + [f"note: {p}" for p in self.notes]
            + ([f"languages: {languages}"] if languages else [])
            + [f"read: {text}" for text in self.mapped]
        )


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
    book = _cleaned(book)
    try:
        content = canonical_content(book)
    except PyxformRefused as exc:
        if exc.crashed:
            raise InstrumentError(_diagnose(book, exc)) from exc
        raise InstrumentError([Problem(exc.sheet, exc.row, exc.column, exc.message)]) from exc
    content["_ignored_sheets"] = [
        name for name in (book.sheet_names or []) if name.lower() in _IGNORED_SHEETS and getattr(book, name.lower())
    ]
    return content


def _diagnose(book: Any, exc: PyxformRefused) -> list[Problem]:
    """pyxform failed without a reason (a Python error on some malformed cell): the platform's own
    checks of the rows as written say what is wrong, where they can; the failure otherwise."""
    content: dict[str, Any] = {"settings": {}}
    for sheet in ("survey", "choices"):
        content[sheet] = [{"_row": i + 2, **row} for i, row in enumerate(getattr(book, sheet) or []) if row]
    try:
        compile_instrument(content)
    except InstrumentError as found:
        return found.problems
    return [Problem("workbook", None, None, f"pyxform could not convert the form ({exc.message})")]


def _cleaned(book: Any) -> Any:
    """The workbook's cells as text without NUL characters, which no database text column accepts."""
    for sheet in ("survey", "choices", "settings"):
        rows = getattr(book, sheet, None)
        if rows:
            setattr(book, sheet, [_clean_row(row) if row else row for row in rows])
    return book


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
    report.mapped = _mapped_notes(content.pop("_mapped", []))
    try:
        instrument = compile_instrument(content)
    except InstrumentError as exc:
        report.errors = exc.problems
        report.notes += exc.notes
        return report
    report.notes += instrument.notes
    report.content = content
    report.instrument = instrument
    report.languages = [
        {
            "code": code,
            "name": instrument.language_names.get(code, code),
            "default": code == instrument.default_language,
        }
        for code in instrument.languages
    ]
    report.mapped += [
        f"repeat '{name}': each entry's answers are kept as an object in a list under '{name}'"
        for name in instrument.repeats
    ]
    return report


def _mapped_notes(mapped: list[tuple[int | None, str]]) -> list[str]:
    """How pyxform's reading was applied, once per kind of mapping (with the rows it applies to)."""
    rows: dict[str, list[int]] = {}
    for number, text in mapped:
        rows.setdefault(text, [])
        if number is not None:
            rows[text].append(number)
    out = []
    for text, numbers in rows.items():
        shown = ", ".join(str(n) for n in numbers[:5]) + (" ..." if len(numbers) > 5 else "")
        out.append(f"{text} (survey rows {shown})" if numbers else text)
    return out
