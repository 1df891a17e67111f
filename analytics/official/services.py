"""Writing official statistics: one import, all or nothing.

Protocol of `official_import`:
1. read the file (a file-level problem is reported and nothing is written);
2. check every row and the rows together (`validation`); any error refuses the
   whole file, and the report lists every error with its row;
3. a file already imported into the dataset (same SHA-256) is not imported again;
4. otherwise, in one transaction: the dataset, the import row, one vintage per rank,
   and every observation with its warnings in `flags`.

The report is a dict stored on the import and returned to the API and the page:
{"ok", "file_name", "format", "dataset", "rows_read", "rows_written", "errors",
"warnings", "notes", "issues": [{level, code, message, row, column, rows}],
"import_id", "duplicate_of"}.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from ..models.official import Dataset, Observation, OfficialImport, Vintage
from . import reading, validation

SEED_DATASET = "KZ_OFFICIAL_SEED"


@dataclass
class ImportResult:
    report: dict
    official_import: OfficialImport | None = None

    @property
    def ok(self) -> bool:
        return bool(self.report.get("ok"))


def dataset_code_for(file_name: str, structure: str = "") -> str:
    """A dataset code from the SDMX structure id or the file name (`kz_stats.csv` -> `KZ_STATS`)."""
    base = structure or Path(file_name).stem
    return re.sub(r"[^A-Z0-9]+", "_", base.upper()).strip("_")[:80] or "UPLOAD"


def _report(file_name: str, file_format: str, dataset: str, rows_read: int, issues: list) -> dict:
    levels = [i.level for i in issues]
    return {
        "ok": "error" not in levels,
        "file_name": file_name,
        "format": file_format,
        "dataset": dataset,
        "rows_read": rows_read,
        "rows_written": 0,
        "errors": levels.count("error"),
        "warnings": levels.count("warning"),
        "notes": levels.count("note"),
        "issues": sorted((i.as_dict() for i in issues), key=lambda i: (i["row"] or 0, i["level"])),
        "import_id": None,
        "duplicate_of": None,
    }


def _file_error(file_name: str, message: str, file_format: str = "") -> ImportResult:
    issue = validation.Issue("error", "file", message)
    return ImportResult(_report(file_name, file_format, "", 0, [issue]))


def official_import(
    *,
    content: bytes,
    file_name: str,
    uploaded_by=None,
    dataset_code: str = "",
    dataset_name: str = "",
    file_format: str | None = None,
) -> ImportResult:
    """Import one file of observations; all or nothing. See the module docstring."""
    try:
        raw = reading.read_file(content, file_name, file_format)
    except reading.FileError as exc:
        return _file_error(file_name, str(exc), file_format or "")
    missing = [c for c in ("indicator_code", "ref_area", "time_period", "obs_value") if c not in raw.columns]
    if missing:
        message = _("Columns missing from the header: %(columns)s.") % {"columns": ", ".join(missing)}
        return _file_error(file_name, message, raw.format)
    code = dataset_code or dataset_code_for(file_name, raw.structure)
    rows, issues = validation.clean_rows(raw.rows)
    if not any(i.level == "error" for i in issues):
        issues += validation.check_breakdowns(rows)
    report = _report(file_name, raw.format, code, len(raw.rows), issues)
    if not report["ok"]:
        return ImportResult(report)
    sha256 = hashlib.sha256(content).hexdigest()
    earlier = OfficialImport.objects.filter(dataset__code=code, sha256=sha256).first()
    if earlier is not None:
        report["ok"] = False
        report["duplicate_of"] = earlier.pk
        message = _("This file was already imported into %(dataset)s (import %(id)s); nothing was written.") % {
            "dataset": code,
            "id": earlier.pk,
        }
        report["issues"].insert(0, validation.Issue("error", "already_imported", message).as_dict())
        report["errors"] += 1
        return ImportResult(report, earlier)
    return ImportResult(report, _write(rows, report, code, dataset_name, sha256, uploaded_by))


@transaction.atomic
def _write(rows, report, code, dataset_name, sha256, uploaded_by) -> OfficialImport:
    # One transaction: a failure anywhere (even a database constraint) leaves no
    # dataset, import, vintage or observation behind.
    first = rows[0].values if rows else {}
    dataset, _created = Dataset.objects.get_or_create(
        code=code,
        defaults={
            "name": dataset_name or code,
            "source_org": _uniform(rows, "source_org"),
            "source_type": _uniform(rows, "source_type"),
            "source": _uniform(rows, "source") or first.get("source", ""),
        },
    )
    report["rows_written"] = len(rows)
    status = OfficialImport.Status.WARNINGS if report["warnings"] else OfficialImport.Status.COMPLETE
    record = OfficialImport.objects.create(
        dataset=dataset,
        file_name=report["file_name"][:255],
        sha256=sha256,
        format=report["format"],
        uploaded_by=uploaded_by,
        status=status,
        rows=len(rows),
        warnings=report["warnings"],
        report=report,
    )
    report["import_id"] = record.pk
    vintages = {}
    for rank in sorted({r.rank for r in rows}):
        label = f"{code} #{record.pk} {record.created_at:%Y-%m-%d}" + (f" (value {rank})" if rank > 1 else "")
        vintages[rank] = Vintage.objects.create(dataset=dataset, source_import=record, rank=rank, label=label)
    Observation.objects.bulk_create(
        [Observation(vintage=vintages[r.rank], row_number=r.row, flags=r.flags, **r.values) for r in rows],
        batch_size=500,
    )
    record.report = report
    record.save(update_fields=["report"])
    return record


def _uniform(rows, column: str) -> str:
    values = {r.values[column] for r in rows}
    return values.pop() if len(values) == 1 else ""


def official_seed_load() -> dict:
    """The shipped seed data and country groupings; safe to run any number of times.

    The seed file is imported once (a second run finds the same SHA-256 and writes
    nothing); a grouping is rewritten only when its data file changed.
    """
    from .groups import DATA_DIR, platform_schemes_load

    path = DATA_DIR / "kz_official_statistics.csv"
    result = official_import(
        content=path.read_bytes(),
        file_name=path.name,
        dataset_code=SEED_DATASET,
        dataset_name="Migration statistics of Kazakhstan (seed, compiled from published sources)",
    )
    if not result.ok and result.report["duplicate_of"] is None:
        raise ValueError(f"the seed file does not import: {result.report['issues'][:3]}")
    return {
        "observations": result.report["rows_written"] if result.ok else 0,
        "schemes_changed": platform_schemes_load(),
    }
