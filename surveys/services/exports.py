"""Exports of a wave's responses to CSV, XLSX and SPSS (.sav), as ExportJob rows.

``export_request`` reuses a finished file when nothing changed, or creates a job and
enqueues its build on commit; ``export_run`` claims the job (config.jobs.Job: a
conditional UPDATE, a lease its progress reports renew) and recomputes the whole file
under a name of its own, so running it twice (a redelivered task) is harmless.
Columns are keyed by field name across every version answered in the wave.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.files import File

from accounts.audit import audit_record
from accounts.models import User
from config.jobs import JobError

from ..models import ExportJob, Response, Wave
from ..selectors_admin import MergedField, wave_fields, wave_source_hash

logger = logging.getLogger(__name__)

CHUNK = 1000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
META = ("instance_id", "version", "status", "submitted_at", "language")
META_LABELS = {
    "instance_id": "Response id",
    "version": "Form version",
    "status": "Status",
    "submitted_at": "Submitted at",
    "language": "Language of answers",
}


# --------------------------------------------------------------------------- pure: columns and rows


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str  # meta, number, string, choice (an indicator 0/1), count (a repeat's entries)
    source: str | None = None  # the answer's field name
    choice: str | None = None
    value_labels: dict[Any, str] = field(default_factory=dict, compare=False, hash=False)


def export_columns(fields: list[MergedField]) -> list[Column]:
    """Metadata columns, then per field its value (select_multiple: raw text plus one 0/1 column per choice).

    Questions inside repeat groups are not columns here: each repeat has its own table (see
    ``repeat_tables``), and this one counts its entries (``jobs__count``)."""
    columns = [Column(name, META_LABELS[name], "meta") for name in META]
    columns += _answer_columns([f for f in fields if f.repeat is None])
    for repeat, label in _repeats(fields).items():
        columns.append(Column(f"{repeat}__count", f"{label}: number of entries", "count", repeat))
    return columns


@dataclass(frozen=True)
class RepeatTable:
    """One repeat group's entries: a row per entry, linked to its response by id and entry number."""

    name: str
    columns: list[Column]


ENTRY_META = ("instance_id", "entry")
ENTRY_LABELS = {"instance_id": "Response id", "entry": "Entry number (from 1)"}


def repeat_tables(fields: list[MergedField]) -> list[RepeatTable]:
    tables = []
    for repeat in _repeats(fields):
        columns = [Column(name, ENTRY_LABELS[name], "meta") for name in ENTRY_META]
        columns += _answer_columns([f for f in fields if f.repeat == repeat])
        tables.append(RepeatTable(repeat, columns))
    return tables


def _repeats(fields: list[MergedField]) -> dict[str, str]:
    """Each repeat group with the label its table's count column carries."""
    found: dict[str, str] = {}
    for item in fields:
        if item.repeat and item.repeat not in found:
            found[item.repeat] = item.repeat_label or item.repeat
    return found


def _answer_columns(fields: list[MergedField]) -> list[Column]:
    columns: list[Column] = []
    for item in fields:
        if item.type == "select_multiple":
            columns.append(Column(item.name, item.label, "string", item.name))
            for choice, label in item.choices:
                columns.append(
                    Column(
                        f"{item.name}__{choice}",
                        f"{item.label}: {label}",
                        "choice",
                        item.name,
                        choice,
                        {0: "not selected", 1: "selected"},
                    )
                )
        elif item.is_numeric:
            columns.append(Column(item.name, item.label, "number", item.name))
        elif item.type == "select_one" and item.choices and all(_is_code(name) for name, _ in item.choices):
            # Scales coded 1..5 stay numbers, so SPSS can compute with them.
            labels = {int(name): label for name, label in item.choices}
            columns.append(Column(item.name, item.label, "number", item.name, value_labels=labels))
        else:
            labels = dict(item.choices) if item.type in {"select_one", "country"} else {}
            columns.append(Column(item.name, item.label, "string", item.name, value_labels=labels))
    return columns


def _is_code(name: str) -> bool:
    return name.isascii() and name.lstrip("-").isdecimal()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def _selected(value: Any) -> set[str]:
    if isinstance(value, list):
        return {str(v) for v in value}
    return set(str(value).split()) if value else set()


def export_row(meta: dict[str, Any], answers: dict[str, Any], columns: list[Column]) -> list[Any]:
    """One response as cell values: numbers as numbers (None when missing), everything else as text."""
    cells: list[Any] = []
    for column in columns:
        if column.kind == "meta":
            cells.append(_text(meta.get(column.name)))
            continue
        value = answers.get(column.source)
        if column.kind == "count":
            cells.append(len(value) if isinstance(value, list) else 0)
        elif column.kind == "number":
            cells.append(_number(value))
        elif column.kind == "choice":
            cells.append(None if value in (None, "", []) else int(column.choice in _selected(value)))
        else:
            cells.append(_text(value))
    return cells


def escape_formula(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}


def spss_names(names: list[str]) -> dict[str, str]:
    """Safe, unique SPSS variable names: letters, digits and _; a letter first; at most 64 bytes."""
    result: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        safe = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "v"
        if not safe[0].isalpha():
            safe = "v_" + safe
        if safe.upper() in SPSS_RESERVED:
            safe += "_"
        safe = safe[:64]
        candidate, n = safe, 1
        while candidate.lower() in taken:
            n += 1
            suffix = f"_{n}"
            candidate = safe[: 64 - len(suffix)] + suffix
        taken.add(candidate.lower())
        result[name] = candidate
    return result


# --------------------------------------------------------------------------- writers


class _Progress:
    """Writes the percentage to the job row, renewing its lease, as chunks go by (not on every row)."""

    def __init__(self, job: ExportJob, total: int):
        self.job, self.total, self.done = job, max(total, 1), 0

    def tick(self) -> None:
        self.done += 1
        if self.done % CHUNK == 0:
            self.job.progress_to(min(99, int(100 * self.done / self.total)), "writing rows")


def _rows(wave: Wave, columns: list[Column], progress: _Progress) -> Iterator[list[Any]]:
    responses = (
        Response.objects.filter(wave=wave)
        .order_by("id")
        .values_list("instance_id", "version__number", "status", "submitted_at", "language", "answers")
    )
    for instance_id, version, status, submitted_at, language, answers in responses.iterator(chunk_size=CHUNK):
        meta = {
            "instance_id": instance_id,
            "version": version,
            "status": status,
            "submitted_at": submitted_at.isoformat() if submitted_at else None,
            "language": language,
        }
        yield export_row(meta, answers or {}, columns)
        progress.tick()


def _write_csv(path: Path, columns: list[Column], rows: Iterator[list[Any]]) -> None:
    # utf-8-sig: Excel opens Kazakh and Russian text correctly only with the BOM.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([column.name for column in columns])
        for row in rows:
            writer.writerow(["" if cell is None else escape_formula(cell) for cell in row])


def _write_xlsx(path: Path, columns: list[Column], rows: Iterator[list[Any]]) -> None:
    _write_xlsx_tables(path, [("responses", columns, rows)])


def _write_xlsx_tables(path: Path, tables: list[tuple[str, list[Column], Iterator[list[Any]]]]) -> None:
    """One sheet per table (the responses, then each repeat group's entries) and a sheet of variables."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)  # streams rows to disk instead of keeping cells in memory
    names: list[str] = []
    for name, columns, rows in tables:
        title = _sheet_title(name, names)
        names.append(title)
        sheet = book.create_sheet(title)
        sheet.append([column.name for column in columns])
        for row in rows:
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", escape_formula(c)) if isinstance(c, str) else c for c in row])
    labels = book.create_sheet(_sheet_title("variables", names))
    labels.append(["variable", "label"] if len(tables) == 1 else ["sheet", "variable", "label"])
    for title, (_name, columns, _rows) in zip(names, tables, strict=True):
        for column in columns:
            cells = [column.name, escape_formula(column.label)]
            labels.append(cells if len(tables) == 1 else [title, *cells])
    book.save(path)


def _sheet_title(name: str, taken: list[str]) -> str:
    title = re.sub(r"[\\/*?:\[\]]", "_", name)[:31] or "sheet"
    number = 2
    while title.lower() in (t.lower() for t in taken):
        suffix = f"_{number}"
        title, number = title[: 31 - len(suffix)] + suffix, number + 1
    return title


def _write_sav(path: Path, columns: list[Column], rows: Iterator[list[Any]]) -> None:
    # pyreadstat writes a whole frame at once, so values are gathered column by column
    # (compact lists, not row objects); rows are still read from the database in chunks.
    import pandas as pd
    import pyreadstat

    names = spss_names([column.name for column in columns])
    data: dict[str, list[Any]] = {names[column.name]: [] for column in columns}
    keys = [names[column.name] for column in columns]
    for row in rows:
        for key, cell in zip(keys, row, strict=True):
            data[key].append(cell)
    frame = pd.DataFrame(
        {
            names[c.name]: pd.Series(
                data[names[c.name]], dtype="float64" if c.kind in {"number", "choice", "count"} else object
            )
            for c in columns
        }
    )
    pyreadstat.write_sav(
        frame,
        str(path),
        column_labels=[column.label[:256] for column in columns],
        variable_value_labels={names[c.name]: c.value_labels for c in columns if c.value_labels},
    )


WRITERS: dict[str, Callable[[Path, list[Column], Iterator[list[Any]]], None]] = {
    ExportJob.Format.CSV: _write_csv,
    ExportJob.Format.XLSX: _write_xlsx,
    ExportJob.Format.SAV: _write_sav,
}


# --------------------------------------------------------------------------- services


def export_request(*, wave: Wave, format: str, language: str, user: User | None) -> tuple[ExportJob, bool]:
    """A finished or unfinished job for the same unchanged responses, else a new job enqueued on commit."""
    source_hash = wave_source_hash(wave)
    same = ExportJob.objects.filter(wave=wave, format=format, language=language, source_hash=source_hash)
    # An unfinished job is never lost: its lease or the sweeper sends it to a worker again.
    unfinished = same.filter(status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING])
    existing = (
        same.filter(status=ExportJob.Status.COMPLETE).exclude(file="").order_by("-finished_at").first()
        or unfinished.order_by("-id").first()
    )
    if existing is not None:
        export_audit(job=existing, user=user, action="export.requested")
        return existing, False
    # Two simultaneous requests may both get here and create two jobs: harmless (each
    # builds the same file), and cheaper than locking the wave for every request.
    job = ExportJob.objects.create(
        wave=wave, format=format, language=language, source_hash=source_hash, requested_by=user
    )
    job.enqueue()
    export_audit(job=job, user=user, action="export.requested")
    return job, True


def export_audit(*, job: ExportJob, user: User | None, action: str) -> None:
    """An export asked for (a new file or an existing one handed out) or downloaded."""
    audit_record(actor=user, action=action, target=job, programme_id=job.wave.survey.programme_id,
                 detail={"format": job.format, "language": job.language, "wave": job.wave.slug})  # fmt: skip


def exports_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Send again the export jobs a worker should have taken: never sent (or the message lost with
    the broker), or left processing by a worker that died (its lease expired). Harmless twice:
    the claim lets one run through. The job ids (config.jobs.Job.sweep)."""
    return ExportJob.sweep(now=now)


def export_run(*, job_id: int) -> ExportJob | None:
    """Build the job's file; safe to call twice (the second call finds the job claimed or done)."""
    ExportJob.execute(job_id, _build_recorded)
    return ExportJob.objects.filter(pk=job_id).first()


def _build_recorded(job: ExportJob) -> None:
    try:
        _build(job)
    except ExportJob.transient_errors:
        raise
    except Exception as exc:  # recorded on the row for the user; the traceback goes to the log
        logger.exception("export %s failed", job.pk)
        raise JobError(f"{type(exc).__name__}: {exc}"[:2000]) from exc


def _entry_rows(wave: Wave, table: RepeatTable) -> Iterator[list[Any]]:
    responses = Response.objects.filter(wave=wave).order_by("id").values_list("instance_id", "answers")
    for instance_id, answers in responses.iterator(chunk_size=CHUNK):
        entries = (answers or {}).get(table.name)
        for index, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
            meta = {"instance_id": instance_id, "entry": index}
            yield export_row(meta, entry if isinstance(entry, dict) else {}, table.columns)


def _write_tables(
    folder: Path, stem: str, job: ExportJob, columns: list[Column], rows: Iterator[list[Any]], tables: list[RepeatTable]
) -> Path:
    """The file to keep: one file as before; with repeat groups, an .xlsx sheet per repeat, or for
    CSV and SPSS a .zip holding the responses' file and one file per repeat (linked by response id)."""
    if not tables:
        path = folder / f"{stem}.{job.format}"
        WRITERS[job.format](path, columns, rows)
        return path
    if job.format == ExportJob.Format.XLSX:
        path = folder / f"{stem}.xlsx"
        sheets = [("responses", columns, rows)]
        sheets += [(t.name, t.columns, _entry_rows(job.wave, t)) for t in tables]
        _write_xlsx_tables(path, sheets)
        return path
    parts = [folder / f"{stem}.{job.format}"]
    WRITERS[job.format](parts[0], columns, rows)
    for table in tables:
        parts.append(folder / f"{stem}-{table.name}.{job.format}")
        WRITERS[job.format](parts[-1], table.columns, _entry_rows(job.wave, table))
    path = folder / f"{stem}-{job.format}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for part in parts:
            archive.write(part, part.name)
    return path


def _build(job: ExportJob) -> None:
    wave = Wave.objects.get(pk=job.wave_id)
    source_hash = wave_source_hash(wave)  # before reading: a later change makes the next request rebuild
    fields = wave_fields(wave, job.language)
    columns = export_columns(fields)
    total = Response.objects.filter(wave=wave).count()
    progress = _Progress(job, total)
    with tempfile.TemporaryDirectory() as folder:
        path = _write_tables(
            Path(folder),
            f"{wave.slug}-{job.language}",
            job,
            columns,
            _rows(wave, columns, progress),
            repeat_tables(fields),
        )
        previous = job.file.name
        # The job's id in the stored name: two jobs never share one, and a run killed between
        # writing its file and recording it left a file that this run's replaces (not a second).
        stored = f"job-{job.pk}-{path.name}"
        job.file.storage.delete(job.file.field.generate_filename(job, stored))
        with path.open("rb") as handle:
            job.file.save(stored, File(handle), save=False)
    if previous and previous != job.file.name:
        job.file.storage.delete(previous)  # a re-run overwrites: the older file goes
    job.finish(file=job.file.name, row_count=progress.done, source_hash=source_hash)
