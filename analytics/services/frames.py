"""A wave's analysis frame: one row per complete response, one column per variable.

Columns are keyed by field name across every version answered in the wave (the
newest version's labels, in kk, ru and en); a select_multiple field becomes one 0/1
indicator column per choice (``field__choice``, empty where the question was not
asked). Free text, dates and files stay out: the frame is for aggregates.

The rows are read by one set-based query: on PostgreSQL ``COPY (SELECT ...) TO
STDOUT`` straight into pandas, elsewhere one cursor fetch; never a loop over ORM
objects. Reads go to the replica when one is configured (``config.routers``).
Each build is written to Parquet beside its job row, with the column labels in the
file's metadata. The next build reads only responses changed since the previous
one's watermark (less an overlap for transactions that committed late) and merges
them by response id; a removed response (count or id sum differ) forces a full read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connections
from django.db.models import Count, Sum
from django.db.models.fields.json import KeyTextTransform

from config.routers import analytics_reads, read_alias
from surveys.models import Response, Wave
from surveys.selectors_admin import NUMERIC_TYPES, MergedField, wave_fields

LANGUAGES = ("kk", "ru", "en")
META_COLUMNS = ("response_id", "version", "language", "submitted_at", "updated_at")
# Answer types kept in the frame; text, dates, geodata and files are not aggregated.
FRAME_TYPES = NUMERIC_TYPES | {"select_one", "select_multiple", "country"}


def watermark_overlap() -> dt.timedelta:
    """A transaction that took longer than this to commit after writing updated_at could be
    missed by a watermark taken meanwhile; each incremental read re-reads this span."""
    return dt.timedelta(seconds=getattr(settings, "ANALYTICS_WATERMARK_OVERLAP_SECONDS", 120))


@dataclass
class FrameColumn:
    name: str
    field: str
    kind: str  # number, category, indicator, meta
    label: dict[str, str] = field(default_factory=dict)
    choice: str | None = None
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class FrameSpec:
    """The columns of a wave's frame and the answer fields they come from."""

    columns: list[FrameColumn]
    fields: list[MergedField]

    @property
    def signature(self) -> str:
        """Changes when a column is added, removed or changes kind (then a full rebuild is needed)."""
        text = json.dumps([(c.name, c.kind) for c in self.columns])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def metadata(self) -> dict[str, Any]:
        return {
            c.name: {
                "field": c.field,
                "kind": c.kind,
                "label": c.label,
                "choice": c.choice,
                "value_labels": c.value_labels,
            }  # fmt: skip
            for c in self.columns
        }


def frame_spec(wave: Wave) -> FrameSpec:
    """The frame's columns for `wave`, labelled in every platform language."""
    by_language = {language: wave_fields(wave, language) for language in LANGUAGES}
    fields = [item for item in by_language["en"] if item.type in FRAME_TYPES]
    labelled = {language: {item.name: item for item in items} for language, items in by_language.items()}
    columns = [FrameColumn(name, name, "meta") for name in META_COLUMNS]
    for item in fields:
        label = {language: labelled[language][item.name].label for language in LANGUAGES}
        choice_labels = {language: dict(labelled[language][item.name].choices) for language in LANGUAGES}
        if item.type == "select_multiple":
            for choice, _ in item.choices:
                columns.append(
                    FrameColumn(
                        f"{item.name}__{choice}",
                        item.name,
                        "indicator",
                        {lang: f"{label[lang]}: {choice_labels[lang].get(choice, choice)}" for lang in LANGUAGES},
                        choice,
                    )
                )
        elif item.is_numeric:
            columns.append(FrameColumn(item.name, item.name, "number", label))
        else:
            value_labels = {
                choice: {lang: choice_labels[lang].get(choice, choice) for lang in LANGUAGES}
                for choice, _ in item.choices
            }
            # A country list is the whole ISO table: its labels are known without storing them.
            columns.append(
                FrameColumn(
                    item.name, item.name, "category", label, value_labels={} if item.type == "country" else value_labels
                )
            )
    return FrameSpec(columns, fields)


# --------------------------------------------------------------------------- reading


def _queryset(wave: Wave, fields: list[MergedField], since: dt.datetime | None):
    rows = Response.objects.filter(wave=wave, status=Response.Status.COMPLETE)
    if since is not None:
        rows = rows.filter(updated_at__gte=since)
    annotations = {f"a{index}": KeyTextTransform(item.name, "answers") for index, item in enumerate(fields)}
    names = ["id", "version__number", "language", "submitted_at", "updated_at", *annotations]
    return rows.annotate(**annotations).values_list(*names).order_by()


def read_rows(wave: Wave, spec: FrameSpec, since: dt.datetime | None = None) -> pd.DataFrame:
    """Complete responses of `wave` (changed since `since`), as raw text columns from one query."""
    raw_names = ["response_id", "version", "language", "submitted_at", "updated_at"] + [
        f"a{index}" for index in range(len(spec.fields))
    ]
    with analytics_reads():
        alias = read_alias()
        queryset = _queryset(wave, spec.fields, since).using(alias)
        connection = connections[alias]
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                statement = connection.ops.compose_sql(sql, params)
                buffer = io.BytesIO()
                with cursor.cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)") as copy:
                    for block in copy:
                        buffer.write(block)
                buffer.seek(0)
                if buffer.getbuffer().nbytes == 0:
                    raw = pd.DataFrame(columns=raw_names, dtype=object)
                else:
                    raw = pd.read_csv(buffer, header=None, names=raw_names, dtype=str, keep_default_na=False,
                                      na_values=[""])  # fmt: skip
            else:
                cursor.execute(sql, params)
                raw = pd.DataFrame.from_records(cursor.fetchall(), columns=raw_names)
    return _typed(raw, spec)


def _typed(raw: pd.DataFrame, spec: FrameSpec) -> pd.DataFrame:
    """Raw text columns to the frame's types: numbers, categories and 0/1 indicators (vectorised)."""
    out: dict[str, Any] = {
        "response_id": pd.to_numeric(raw["response_id"]).astype("int64"),
        "version": pd.to_numeric(raw["version"]).astype("int64"),
        "language": raw["language"].astype("string"),
        "submitted_at": pd.to_datetime(raw["submitted_at"], utc=True, format="ISO8601"),
        "updated_at": pd.to_datetime(raw["updated_at"], utc=True, format="ISO8601"),
    }
    for index, item in enumerate(spec.fields):
        values = raw[f"a{index}"]
        if item.type == "select_multiple":
            text = values.astype("string")
            answered = text.notna()
            for choice, _ in item.choices:
                chosen = text.str.contains(f'"{choice}"', regex=False).fillna(False)
                column = np.where(answered.to_numpy(), chosen.to_numpy(dtype=bool).astype("float64"), np.nan)
                out[f"{item.name}__{choice}"] = column
        elif item.is_numeric:
            out[item.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            out[item.name] = values.astype("string")
    frame = pd.DataFrame(out, index=raw.index)
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- storing


def frame_path(wave: Wave, job_id: int) -> str:
    return f"analytics/frames/wave-{wave.pk}/job-{job_id}.parquet"


def write_frame(frame: pd.DataFrame, spec: FrameSpec, relative: str) -> None:
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[b"kelu.columns"] = json.dumps(spec.metadata(), ensure_ascii=False).encode()
    metadata[b"kelu.signature"] = spec.signature.encode()
    partial = path.with_suffix(".part")
    pq.write_table(table.replace_schema_metadata(metadata), partial)
    partial.replace(path)  # readers never see half a file


def read_frame(relative: str) -> tuple[pd.DataFrame, dict[str, Any], str]:
    """The frame, its column metadata and its spec signature."""
    table = pq.read_table(Path(settings.MEDIA_ROOT) / relative)
    metadata = table.schema.metadata or {}
    columns = json.loads(metadata.get(b"kelu.columns", b"{}"))
    return table.to_pandas(), columns, metadata.get(b"kelu.signature", b"").decode()


def frame_exists(relative: str) -> bool:
    return bool(relative) and (Path(settings.MEDIA_ROOT) / relative).is_file()


# --------------------------------------------------------------------------- building


@dataclass
class FrameBuild:
    frame: pd.DataFrame
    spec: FrameSpec
    mode: str  # full or incremental
    watermark: dt.datetime | None
    read_rows: int


def _totals(wave: Wave) -> tuple[int, int]:
    with analytics_reads():
        stats = (
            Response.objects.using(read_alias())
            .filter(wave=wave, status=Response.Status.COMPLETE)
            .aggregate(n=Count("id"), ids=Sum("id"))
        )
    return int(stats["n"] or 0), int(stats["ids"] or 0)


def build_frame(wave: Wave, previous_file: str = "", previous_watermark: dt.datetime | None = None) -> FrameBuild:
    """The wave's frame: incremental from a previous build when it is still valid, else full."""
    spec = frame_spec(wave)
    if frame_exists(previous_file) and previous_watermark is not None:
        old, _, signature = read_frame(previous_file)
        if signature == spec.signature:
            delta = read_rows(wave, spec, since=previous_watermark - watermark_overlap())
            kept = old[~old["response_id"].isin(delta["response_id"])]
            frame = pd.concat([kept, delta], ignore_index=True) if len(delta) else kept.reset_index(drop=True)
            count, id_sum = _totals(wave)
            if len(frame) == count and int(frame["response_id"].sum()) == id_sum:
                watermark = _max_updated(delta, previous_watermark)
                return FrameBuild(frame, spec, "incremental", watermark, len(delta))
    frame = read_rows(wave, spec)
    return FrameBuild(frame, spec, "full", _max_updated(frame, None), len(frame))


def _max_updated(frame: pd.DataFrame, default: dt.datetime | None) -> dt.datetime | None:
    if not len(frame):
        return default
    latest = frame["updated_at"].max().to_pydatetime()
    return max(latest, default) if default else latest


def frame_hash(frame: pd.DataFrame) -> str:
    """Identifies the frame's content: the responses and when each last changed."""
    if not len(frame):
        return "empty"
    keys = frame[["response_id", "updated_at"]].sort_values("response_id")
    digest = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    return hashlib.sha256(digest.tobytes()).hexdigest()
