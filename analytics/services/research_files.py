"""The files of an anonymised research export: read in chunks, anonymised, written in every format.

Two passes, memory bounded by the chunk and by the number of distinct values, never by the
number of records:

1. *Count.* The waves' complete responses are read in id order, CHUNK rows at a time, only
   the requested variables. Quasi-identifiers are normalised and coded (one dictionary of
   values per variable); each chunk adds to a count table of distinct (quasi-identifier,
   sensitive) combinations and is written to a temporary Parquet file.
2. *Write.* ``analytics.compute.anonymise`` chooses the generalisation levels and the local
   suppressions from the count table; the temporary file is read back chunk by chunk, each
   record takes its published values from the plan's lookup, and the chunk is appended to
   each writer (CSV, XLSX, Parquet; SPSS and Stata take the whole coded table at once, as
   compact numeric columns, because their writer has no append).

Direct identifiers never leave the database; free text leaves it only when an administrator
marked it reviewed; respondent ids become a keyed hash whose key is drawn for each export and
never stored. A dry run does pass 1 and the plan and writes no file.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import math
import re
import secrets
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connections
from django.db.models import IntegerField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, ExtractMonth, ExtractYear
from django.utils import translation

from analytics.compute.anonymise import (
    SUPPRESSED,
    AnonymityError,
    Plan,
    anonymise,
    apply_top_code,
    hierarchy_for,
    number_text,
    top_code,
)
from surveys.countries import country_choices
from surveys.models import Response, Wave
from surveys.services.exports import escape_formula, spss_names

from ..models import VariableRole
from .research_roles import VariableInfo

ROLE = VariableRole.Role
HIER = VariableRole.Hierarchy
CHUNK = 50_000
FORMATS = ("csv", "xlsx", "sav", "dta", "parquet")
FORMAT_LABELS = {"csv": "CSV (UTF-8)", "xlsx": "Excel (XLSX)", "sav": "SPSS (.sav)", "dta": "Stata (.dta)",
                 "parquet": "Parquet"}  # fmt: skip
XLSX_MAX_ROWS = 1_048_575
META = ("pid", "wave", "version", "language", "submitted_month")
SUPPRESSED_CODE = -1
DATA = Path(__file__).resolve().parent.parent / "data"


class ExportError(Exception):
    """The export cannot be made as asked (the message says why)."""


@dataclass
class ExportSpec:
    waves: list[Wave]
    variables: list[VariableInfo]  # the approved ones, in order; direct identifiers already out
    formats: list[str]
    language: str
    k: int
    l_div: int
    licence: str
    title: str = ""
    reference: str = ""
    max_suppressed: float = 0.05

    @property
    def quasi(self) -> list[VariableInfo]:
        return [v for v in self.variables if v.role == ROLE.QUASI]

    @property
    def sensitive(self) -> list[VariableInfo]:
        return [v for v in self.variables if v.role == ROLE.SENSITIVE]


@dataclass
class Outcome:
    rows: int
    report: dict[str, Any]
    files: list[Path] = field(default_factory=list)


Progress = Callable[[int, str], None]


# --------------------------------------------------------------------------- values


@cache
def country_groups() -> tuple[dict[str, str], dict[str, str]]:
    """ISO alpha-3 -> UN M49 sub-region, and -> region."""
    table = pd.read_csv(DATA / "un_m49_regions.csv", dtype=str).fillna("")
    sub = {row.iso3: row.subregion or row.region for row in table.itertuples()}
    region = {row.iso3: row.region for row in table.itertuples() if row.region}
    return sub, region


def hierarchy_of(info: VariableInfo):
    kind = info.hierarchy if info.hierarchy not in (HIER.NONE, HIER.INCOME) else HIER.CATEGORY
    return hierarchy_for(kind, country_groups() if kind == HIER.COUNTRY else ())


def _canonical_number(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    if not math.isfinite(number):
        return ""
    return number_text(number)


# What looks like an e-mail address, a phone number or an IIN (12 digits) never leaves in a text value.
# A phone number has at least 9 digits (a date has 8, so dates are left alone).
IDENTIFYING = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+|\+?\d(?:[ ()-]{0,2}\d){8,}|(?<!\d)\d{12}(?!\d)")
REMOVED = "[removed]"


def _by_value(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """transform(values) for a transform that maps each value on its own, computed once per distinct value."""
    codes, uniques = values.factorize(use_na_sentinel=False)
    distinct = transform(pd.Series(uniques, dtype=values.dtype))
    return pd.Series(distinct.array.take(codes), index=values.index, name=values.name)


def _normalise(values: pd.Series, info: VariableInfo) -> pd.Series:
    """Raw answer text to the value compared for disclosure control (empty when missing)."""
    return _by_value(values.fillna("").astype(str), lambda distinct: _normalised(distinct, info))


def _normalised(values: pd.Series, info: VariableInfo) -> pd.Series:
    if info.type == "text":
        values = values.str.replace(IDENTIFYING, REMOVED, regex=True)
    if info.type == "select_multiple":
        return values.map(_joined)
    if info.type in {"integer", "decimal", "range"} or info.hierarchy in (HIER.AGE, HIER.YEAR):
        return values.map(_canonical_number)
    if info.type == "text":
        return values.str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)
    return values


def _joined(text: str) -> str:
    if not text:
        return ""
    if text.startswith("["):
        try:
            return " ".join(sorted(str(v) for v in json.loads(text)))
        except ValueError:
            return text
    return " ".join(sorted(text.split()))


class Coder:
    """Values of one variable to stable integer codes, across chunks."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def encode(self, values: pd.Series) -> np.ndarray:
        local, uniques = values.factorize()  # new values take the next codes, in order of appearance
        codes = np.array([self.codes.setdefault(value, len(self.codes)) for value in uniques], dtype=np.int32)
        return codes[local]

    @property
    def domain(self) -> np.ndarray:
        return np.array(list(self.codes), dtype=object)


# --------------------------------------------------------------------------- pass 1: read and count


def _chunks(spec: ExportSpec) -> Any:
    """Complete responses of the waves, CHUNK at a time, as raw text columns (keyset by id)."""
    names = [v.name for v in spec.variables]
    for wave in spec.waves:
        last = 0
        annotations = {f"a{i}": KeyTextTransform(name, "answers") for i, name in enumerate(names)}
        # The month of submission (UTC) as one number, yyyymm: loading timestamps with their time zone costs
        # more than all the rest of a row.
        month = Cast(ExtractYear("submitted_at", tzinfo=dt.UTC) * 100 + ExtractMonth("submitted_at", tzinfo=dt.UTC),
                     IntegerField())  # fmt: skip
        base = Response.objects.filter(wave=wave, status=Response.Status.COMPLETE).annotate(**annotations, month=month)
        columns = ["id", "respondent_id", "version__number", "language", "month", *annotations]
        while True:
            frame = _frame(base.filter(id__gt=last).order_by("id").values_list(*columns)[:CHUNK], names)
            if frame is None:
                break
            last = int(frame.iloc[-1, 0])  # by position: a variable may be called "id" too
            frame.isetitem(4, _month(frame.iloc[:, 4]))
            frame["wave"] = wave.slug
            yield frame
            del frame  # not alive beside the next chunk


CHUNK_COLUMNS = ["id", "respondent", "version", "language", "submitted_month"]  # then the variables
CHUNK_TYPES = [pa.int64(), pa.int64(), pa.int64(), pa.string(), pa.int64()]  # then text


def _frame(queryset, names: list[str]) -> pd.DataFrame | None:
    """One chunk of rows as a frame (None when there are none).

    On PostgreSQL (psycopg 3) the rows come as CSV from COPY and Arrow parses them: no Python object per
    value, several times less time and memory than fetching tuples. The columns are those the tuples
    give: integers (float when some are missing), text (NaN when missing)."""
    columns = CHUNK_COLUMNS + names
    connection = connections[queryset.db]
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    if not _copies_csv(connection):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return pd.DataFrame.from_records(rows, columns=columns) if rows else None
    import psycopg
    import pyarrow.csv as pa_csv

    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        statement = psycopg.ClientCursor(cursor.connection).mogrify(sql, params)
        with cursor.cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                buffer.write(block)
    if not buffer.tell():
        return None
    buffer.seek(0)
    # Positional names: a variable may share a name with a column above. A missing value is an unquoted
    # empty field, an empty text a quoted one.
    keys = [f"c{i}" for i in range(len(columns))]
    types = dict(zip(keys, CHUNK_TYPES + [pa.string()] * len(names), strict=True))
    table = pa_csv.read_csv(
        buffer,
        read_options=pa_csv.ReadOptions(column_names=keys),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                              quoted_strings_can_be_null=False),
    )  # fmt: skip
    del buffer
    frame = table.to_pandas()
    frame.columns = columns
    return frame


def _letters(numbers: np.ndarray, width: int = 11) -> np.ndarray:
    """Each number as `width` letters, its least significant base-26 digit first ("a" = 0)."""
    numbers = numbers.astype(np.uint64)
    letters = np.empty((len(numbers), width), dtype=np.uint8)
    for position in range(width):
        letters[:, position] = 97 + numbers % 26
        numbers //= 26
    return letters.view(f"S{width}").ravel().astype(f"U{width}").astype(object)


def _pseudonyms(frame: pd.DataFrame, key: bytes) -> np.ndarray:
    """A keyed hash of the respondent (of the response when anonymous): 51 bits as 11 letters.

    Letters only, so no pseudonym can look like a phone number or an IIN to a scanner."""
    # As whole numbers: a chunk mixing anonymous responses reads the column as floats ("123.0"), and the
    # same respondent must get the same pseudonym in every chunk of a file.
    respondent = pd.to_numeric(frame["respondent"], errors="coerce").astype("Int64")
    response = pd.to_numeric(frame["id"], errors="coerce").astype("Int64")
    ids = np.where(respondent.notna(), "p" + respondent.astype(str), "r" + response.astype(str))
    return _letters(np.frombuffer(_keyed_heads(key, ids.tolist()), dtype=">u8") >> 13)


def _keyed_heads(key: bytes, messages: list[str]) -> bytes:
    """The first 8 bytes of HMAC-SHA-256 of each message under `key`, one after another.

    RFC 2104 with the key's inner and outer hash states computed once and copied for each message:
    the same digests as hmac.digest, in less than half the time."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner_start = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer_start = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    heads = []
    for message in messages:
        inner = inner_start.copy()
        inner.update(message.encode())
        outer = outer_start.copy()
        outer.update(inner.digest())
        heads.append(outer.digest()[:8])
    return b"".join(heads)


def _copies_csv(connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def _month(months: pd.Series) -> pd.Series:
    """yyyymm of each submission (UTC) as 'yyyy-mm', empty when not submitted."""
    codes, uniques = pd.factorize(pd.to_numeric(months, errors="coerce"))  # not submitted: code -1, the last label
    labels = [f"{int(value) // 100}-{int(value) % 100:02d}" for value in uniques] + [""]
    return pd.Series(np.array(labels, dtype=object)[codes], index=months.index, dtype="str")


class Counting:
    """Pass 1: coders, the count table and the temporary file of prepared chunks."""

    def __init__(self, spec: ExportSpec, folder: Path | None, key: bytes):
        self.spec, self.folder, self.key = spec, folder, key
        self.coders = {v.name: Coder() for v in spec.quasi}
        self.parts: list[pd.DataFrame] = []
        self.table: pd.DataFrame | None = None
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None

    def add(self, raw: pd.DataFrame) -> None:
        spec = self.spec
        prepared = pd.DataFrame(
            {
                "pid": _pseudonyms(raw, self.key),
                "wave": raw["wave"].astype(str),
                "version": raw["version"].astype("int64"),
                "language": raw["language"].fillna("").astype(str),
                "submitted_month": raw["submitted_month"],
            }
        )
        for info in spec.variables:
            values = _normalise(raw[info.name], info)
            if info.role == ROLE.QUASI:
                prepared[info.name] = self.coders[info.name].encode(values)
            else:
                prepared[info.name] = values
        keys = [v.name for v in spec.quasi] + [v.name for v in spec.sensitive]
        if keys:
            counted = prepared.groupby(keys, sort=False, dropna=False).size().rename("n").reset_index()
            self.parts.append(counted)
            if sum(len(p) for p in self.parts) > 4 * CHUNK:
                self._merge(keys)
        self.rows += len(prepared)
        if self.folder is not None:
            table = pa.Table.from_pandas(prepared, preserve_index=False)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.folder / "prepared.parquet", table.schema)
            self.writer.write_table(table.cast(self.writer.schema))

    def _merge(self, keys: list[str]) -> None:
        merged = pd.concat(([self.table] if self.table is not None else []) + self.parts, ignore_index=True)
        self.table = merged.groupby(keys, sort=False, dropna=False)["n"].sum().reset_index()
        self.parts = []

    def finish(self) -> pd.DataFrame:
        if self.writer is not None:
            self.writer.close()
        keys = [v.name for v in self.spec.quasi] + [v.name for v in self.spec.sensitive]
        if not keys:
            return pd.DataFrame({"n": [self.rows]})
        if self.parts:
            self._merge(keys)
        return self.table if self.table is not None else pd.DataFrame({**{k: [] for k in keys}, "n": []})


# --------------------------------------------------------------------------- the plan


def _income_order(info: VariableInfo) -> list[str] | None:
    if info.type in {"integer", "decimal", "range"}:
        return None
    # Ordered bands, lowest first; answers that are not amounts ("prefer not to say") stay apart.
    return [name for name, _ in info.choices if not _not_an_amount(name)]


def _not_an_amount(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ("prefer", "refus", "dont", "don_t", "not_say", "unknown", "na"))


def plan_export(spec: ExportSpec, table: pd.DataFrame, coders: dict[str, Coder]) -> tuple[Plan, dict[str, Any]]:
    """Top codes for income, then the generalisation and suppression plan."""
    top_codes: dict[str, Any] = {}
    for info in spec.sensitive:
        if info.hierarchy == HIER.INCOME and info.name in table:
            order = _income_order(info)
            code = top_code(table, info.name, order, spec.k)
            if code is not None:
                top_codes[info.name] = code
                table[info.name] = apply_top_code(table[info.name], code, order)
    if spec.sensitive and len(table):
        keys = [v.name for v in spec.quasi] + [v.name for v in spec.sensitive]
        table = table.groupby(keys, sort=False, dropna=False)["n"].sum().reset_index()
    hierarchies = {v.name: hierarchy_of(v) for v in spec.quasi}
    # A select_multiple variable is published as one 0/1 column per choice: each column must be l-diverse.
    sensitive = []
    for info in spec.sensitive:
        if info.type != "select_multiple":
            sensitive.append(info.name)
            continue
        for choice, _label in info.choices:
            column = f"{info.name}__{choice}"
            chosen = table[info.name].astype(str).str.split(" ").map(lambda parts, c=choice: c in parts)
            table[column] = np.where(table[info.name].astype(str) == "", "", np.where(chosen, "1", "0"))
            sensitive.append(column)
    try:
        plan = anonymise(
            table,
            hierarchies,
            sensitive=sensitive,
            k=spec.k,
            l_div=spec.l_div,
            max_suppressed=spec.max_suppressed,
            domains={name: coder.domain for name, coder in coders.items()},
        )
    except AnonymityError as exc:
        raise ExportError(str(exc)) from exc
    plan.top_codes = top_codes
    return plan, top_codes


# --------------------------------------------------------------------------- pass 2: output columns


@dataclass
class OutColumn:
    name: str
    label: str
    kind: str  # number, category, text, id
    source: str
    choice: str | None = None
    role: str = ROLE.OTHER
    derivation: str = ""
    value_labels: dict[str, str] = field(default_factory=dict)  # value -> label (categories)


def _choice_labels(info: VariableInfo, language: str) -> dict[str, str]:
    if info.type == "country" or info.hierarchy == HIER.COUNTRY:
        return {code: names.get(language) or names.get("en") or code for code, names in country_choices()}
    return dict(info.choices)


def output_columns(spec: ExportSpec, plan: Plan | None) -> list[OutColumn]:
    with translation.override(spec.language):
        meta = [
            OutColumn("pid", str(translation.gettext("Respondent (keyed hash, this file only)")), "id", "pid",
                      derivation="HMAC-SHA-256 of the respondent with a key drawn for this export and discarded"),
            OutColumn("wave", str(translation.gettext("Wave")), "category", "wave"),
        ]  # fmt: skip
    # The form version, the language of answers and the month of submission are not published: outside
    # the quasi-identifiers they would single people out of a k-anonymous group. With several waves the
    # wave is a quasi-identifier of its own (never generalised), so each group is people of one wave.
    if any(info.name == "wave" for info in spec.quasi):
        meta = meta[:1]
    columns = list(meta)
    for info in spec.variables:
        labels = _choice_labels(info, spec.language)
        if info.role == ROLE.QUASI:
            level = plan.levels.get(info.name, 0) if plan else 0
            hierarchy = hierarchy_of(info)
            derivation = f"generalised: {hierarchy.level_name(level)}" if level else "published as answered"
            columns.append(OutColumn(info.name, info.label, "category", info.name, role=info.role,
                                     derivation=derivation + "; '*' = suppressed for disclosure control",
                                     value_labels=labels if level == 0 else {}))  # fmt: skip
        elif info.type == "select_multiple":
            for choice, choice_label in info.choices:
                columns.append(OutColumn(f"{info.name}__{choice}", f"{info.label}: {choice_label}", "number", info.name,
                                         choice=choice, role=info.role, derivation="1 = selected, 0 = not selected",
                                         value_labels={"0": "0", "1": "1"}))  # fmt: skip
        elif info.type in {"integer", "decimal", "range"}:
            top = plan.top_codes.get(info.name) if plan else None
            columns.append(OutColumn(info.name, info.label, "number", info.name, role=info.role,
                                     derivation=f"top-coded at {top:g}" if top is not None else ""))  # fmt: skip
        elif info.role in (ROLE.FREE_TEXT,) or info.type in {"text", "date", "time", "datetime"}:
            columns.append(OutColumn(info.name, info.label, "text", info.name, role=info.role,
                                     derivation="free text reviewed by an administrator" if info.type == "text" else ""))  # fmt: skip
        else:
            top = plan.top_codes.get(info.name) if plan else None
            derivation = f"top-coded: '{top}' includes every higher band" if top is not None else ""
            columns.append(OutColumn(info.name, info.label, "category", info.name, role=info.role,
                                     derivation=derivation, value_labels=labels))  # fmt: skip
    return columns


def _out_frame(chunk: pd.DataFrame, spec: ExportSpec, plan: Plan, columns: list[OutColumn],
               lookup_index: pd.Index | None, lookup_out: dict[str, np.ndarray], radix: list[int]) -> pd.DataFrame:  # fmt: skip
    """One prepared chunk as published values (rows left out by disclosure control dropped)."""
    keep = np.ones(len(chunk), dtype=bool)
    published: dict[str, np.ndarray] = {}
    if lookup_index is not None:
        key = np.zeros(len(chunk), dtype=np.int64)
        for info, size in zip(spec.quasi, radix, strict=True):
            key = key * size + chunk[info.name].to_numpy(dtype=np.int64)
        position = lookup_index.get_indexer(key)
        if (position < 0).any():
            raise ExportError("A record has no place in the disclosure-control plan; run the export again.")
        keep = ~lookup_out["dropped"][position]
        for info in spec.quasi:
            published[info.name] = lookup_out[f"out:{info.name}"][position]
    chunk = chunk[keep].reset_index(drop=True)
    out: dict[str, Any] = {}
    distinct: dict[str, tuple[np.ndarray, pd.Series]] = {}  # source: (codes, distinct values), for the choices
    for column in columns:
        if column.source in published:
            out[column.name] = published[column.source][keep]
        elif column.choice is not None:
            if column.source not in distinct:
                codes, uniques = chunk[column.source].factorize(use_na_sentinel=False)
                distinct[column.source] = codes, pd.Series(uniques, dtype=chunk[column.source].dtype)
            codes, values = distinct[column.source]
            chosen = values.str.split(" ").map(lambda parts, c=column.choice: c in parts)
            out[column.name] = np.where(values == "", np.nan, chosen.astype("float64"))[codes]
        elif column.kind == "number":
            values = chunk[column.source]
            if column.source in plan.top_codes:
                values = apply_top_code(values.astype(str), plan.top_codes[column.source], None)
            out[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            values = chunk[column.source].astype(str)
            if column.source in plan.top_codes:
                info = next(v for v in spec.variables if v.name == column.source)
                values = apply_top_code(values, plan.top_codes[column.source], _income_order(info))
            out[column.name] = _text(values)
    return pd.DataFrame(out)


def _text(values: pd.Series) -> Any:
    """Text values for the output frame: Arrow text stays Arrow text when the frame would turn the
    objects back into it anyway (not when empty or all missing: those become objects)."""
    if values.dtype == "str" and len(values) and not values.isna().all():
        return values.array
    return values.to_numpy(dtype=object)


# --------------------------------------------------------------------------- writers


class CsvWriter:
    def __init__(self, path: Path, columns: list[OutColumn]):
        self.handle = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow([escape_formula(c.name) for c in columns])

    def write(self, frame: pd.DataFrame) -> None:
        for row in frame.itertuples(index=False, name=None):
            self.writer.writerow(["" if _missing(v) else escape_formula(_cell(v)) for v in row])

    def close(self) -> None:
        self.handle.close()


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class XlsxWriter:
    def __init__(self, path: Path, columns: list[OutColumn]):
        from openpyxl import Workbook

        self.path, self.columns = path, columns
        self.book = Workbook(write_only=True)
        self.sheets = 0
        self._sheet()

    def _sheet(self) -> None:
        self.sheets += 1
        self.sheet = self.book.create_sheet("data" if self.sheets == 1 else f"data_{self.sheets}")
        self.sheet.append([escape_formula(c.name) for c in self.columns])
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        for row in frame.itertuples(index=False, name=None):
            if self.rows >= XLSX_MAX_ROWS:  # a worksheet holds 1,048,576 rows: the rest go on the next
                self._sheet()
            cells = []
            for value in row:
                if _missing(value):
                    cells.append(None)
                elif isinstance(value, str):
                    cells.append(ILLEGAL_CHARACTERS_RE.sub("", escape_formula(value)))
                else:
                    cells.append(_cell(value))
            self.sheet.append(cells)
            self.rows += 1

    def close(self) -> None:
        labels = self.book.create_sheet("variables")
        labels.append(["variable", "label", "role", "derivation"])
        for c in self.columns:
            labels.append([escape_formula(c.name), escape_formula(c.label), c.role, escape_formula(c.derivation)])
        self.book.save(self.path)


class ParquetWriter:
    def __init__(self, path: Path, columns: list[OutColumn]):
        fields = []
        for c in columns:
            kind = pa.float64() if c.kind == "number" else pa.string()
            fields.append(pa.field(c.name, kind))
        labels = {c.name: {"label": c.label, "role": c.role, "value_labels": c.value_labels} for c in columns}
        schema = pa.schema(fields, metadata={b"kelu.columns": json.dumps(labels, ensure_ascii=False).encode()})
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, frame: pd.DataFrame) -> None:
        self.writer.write_table(pa.Table.from_pandas(frame, schema=self.writer.schema, preserve_index=False))

    def close(self) -> None:
        self.writer.close()


class LabelledWriter:
    """SPSS and Stata: categories become integer codes with value labels; "*" is code -1 (missing in SPSS).

    Their writer has no append, so the whole file is held until close, as compactly as the writer
    takes it: numbers and codes in arrays sized once for all the records (`rows`; grown if ever
    short), codes and the 0/1 columns of a multiple choice as float32 (exact for them; the files are
    the same), text as Arrow text. The frame handed to the writer is made of those arrays, not copied."""

    def __init__(self, path: Path, columns: list[OutColumn], kind: str, rows: int = 0):
        self.path, self.columns, self.kind = path, columns, kind
        self.codes: dict[str, dict[str, int]] = {c.name: {} for c in columns if c.kind == "category"}
        self.text: dict[str, list[Any]] = {c.name: [] for c in columns if c.kind in ("text", "id")}
        self.numbers: dict[str, np.ndarray] = {
            c.name: np.empty(rows, dtype="float32" if c.kind == "category" or c.choice is not None else "float64")
            for c in columns
            if c.name not in self.text
        }
        self.filled = 0
        self.writes = 0

    def write(self, frame: pd.DataFrame) -> None:
        start, end = self.filled, self.filled + len(frame)
        for name, array in self.numbers.items():
            if end > len(array):
                self.numbers[name] = array = np.resize(array, max(end, 2 * len(array)))
        for c in self.columns:
            values = frame[c.name]
            if c.kind == "category":
                codes = self.codes[c.name]
                local, uniques = values.factorize(use_na_sentinel=False)  # uniques in order of appearance
                for value in uniques:
                    if value not in codes and value != "":
                        codes[value] = (
                            SUPPRESSED_CODE if value == SUPPRESSED else len([v for v in codes.values() if v > 0]) + 1
                        )
                # missing: NaN (system missing)
                self.numbers[c.name][start:end] = np.array([codes.get(v, np.nan) for v in uniques], dtype="float32")[
                    local
                ]
            elif c.kind in ("text", "id"):
                self.text[c.name].append(values.array if values.dtype == "str" else values.to_numpy(dtype=object))
            else:
                self.numbers[c.name][start:end] = values.to_numpy()
        self.filled = end
        self.writes += 1

    def _column(self, c: OutColumn) -> Any:
        """One column of the whole file (a text column's chunks are let go)."""
        if not self.writes:
            return np.array([], dtype="float32")
        if c.name in self.numbers:
            column = self.numbers[c.name][: self.filled]
            return column.astype("float64") if c.choice is not None and not len(column) else column
        chunks = self.text[c.name]
        self.text[c.name] = []
        filled = [chunk for chunk in chunks if len(chunk)]
        if filled and all(isinstance(chunk, pd.arrays.ArrowStringArray) and chunk.dtype == "str" for chunk in filled):
            text = pd.concat([pd.Series(chunk, copy=False) for chunk in filled], ignore_index=True)
            if not text.isna().all():
                return text  # what the objects below would be turned into
        return np.concatenate([np.asarray(chunk, dtype=object) for chunk in chunks])

    def close(self) -> None:
        import pyreadstat

        names = (
            _stata_names([c.name for c in self.columns])
            if self.kind == "dta"
            else spss_names([c.name for c in self.columns])
        )
        # copy=False: each column its own block, no consolidated copy of the whole table.
        frame = pd.DataFrame({names[c.name]: self._column(c) for c in self.columns}, copy=False)
        for c in self.columns:
            if c.kind == "text":
                frame[names[c.name]] = frame[names[c.name]].map(
                    lambda v: escape_formula(v)[:2000] if isinstance(v, str) else ""
                )
        value_labels: dict[str, dict[int | float, str]] = {}
        for c in self.columns:
            if c.kind == "category":
                labels = {code: (c.value_labels.get(value, value) if value != SUPPRESSED else "Suppressed (disclosure control)")
                          for value, code in self.codes[c.name].items()}  # fmt: skip
                if labels:
                    value_labels[names[c.name]] = {int(code): str(label)[:120] for code, label in labels.items()}
        self.numbers, self.text = {}, {}  # the frame holds what is still needed
        column_labels = [c.label[: 80 if self.kind == "dta" else 256] for c in self.columns]
        if self.kind == "sav":
            missing = {names[c.name]: [SUPPRESSED_CODE] for c in self.columns
                       if c.kind == "category" and SUPPRESSED in self.codes[c.name]}  # fmt: skip
            pyreadstat.write_sav(frame, str(self.path), column_labels=column_labels,
                                 variable_value_labels=value_labels, missing_ranges=missing or None)  # fmt: skip
        else:
            pyreadstat.write_dta(frame, str(self.path), column_labels=column_labels,
                                 variable_value_labels=value_labels, version=15)  # fmt: skip


def _stata_names(names: list[str]) -> dict[str, str]:
    result, taken = {}, set()
    for name, safe in spss_names(names).items():
        candidate, n = safe[:32], 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{safe[: 32 - len(str(n)) - 1]}_{n}"
        taken.add(candidate.lower())
        result[name] = candidate
    return result


def _writer(fmt: str, path: Path, columns: list[OutColumn], rows: int = 0):
    if fmt == "csv":
        return CsvWriter(path, columns)
    if fmt == "xlsx":
        return XlsxWriter(path, columns)
    if fmt == "parquet":
        return ParquetWriter(path, columns)
    return LabelledWriter(path, columns, fmt, rows)


# --------------------------------------------------------------------------- the pipeline


def build_export(spec: ExportSpec, folder: Path, progress: Progress, *, dry_run: bool = False,
                 total: int | None = None) -> Outcome:  # fmt: skip
    """Pass 1, the plan, and (unless a dry run) pass 2 into files under `folder`."""
    with _arrow_pool():
        return _build_export(spec, folder, progress, dry_run=dry_run, total=total)


@contextmanager
def _arrow_pool():
    """Arrow allocates from jemalloc during the export, when this pyarrow has it.

    The default pool (mimalloc) keeps the memory each thread freed for that thread: over a million
    records the chunks' working memory stays resident, some 70 MB more at the peak. A buffer is always
    freed by the pool it came from, so going back to the default afterwards is safe."""
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _build_export(spec: ExportSpec, folder: Path, progress: Progress, *, dry_run: bool, total: int | None) -> Outcome:
    if not spec.variables:
        raise ExportError(
            "No variable can be exported: every one asked for is a direct identifier or unreviewed free text."
        )
    key = secrets.token_bytes(32)
    counting = Counting(spec, None if dry_run else folder, key)
    total = total or max(
        1, sum(Response.objects.filter(wave=w, status=Response.Status.COMPLETE).count() for w in spec.waves)
    )
    for raw in _chunks(spec):
        counting.add(raw)
        progress(min(45, int(45 * counting.rows / total)), "reading responses")
    table = counting.finish()
    if counting.rows == 0:
        raise ExportError("The chosen waves have no complete responses.")
    progress(46, "choosing generalisations")
    _radix(spec, counting.coders)  # a dry run refuses what the export would refuse
    plan, _ = plan_export(spec, table, counting.coders)
    report = dict(plan.report)
    report["top_codes"] = {
        name: (value if isinstance(value, str) else float(value)) for name, value in plan.top_codes.items()
    }
    report["records_read"] = counting.rows
    if dry_run:
        return Outcome(plan.report.get("records_published", counting.rows), report)
    columns = output_columns(spec, plan)
    writers = {fmt: _writer(fmt, folder / f"data.{fmt}", columns, counting.rows) for fmt in spec.formats}
    lookup_index, lookup_out, radix = _lookup(spec, plan, counting.coders)
    frequencies = Frequencies(columns)
    written = 0
    # One row group at a time, read as it is needed: buffering ahead (the default) costs some 30 MB at the peak.
    source = pq.ParquetFile(folder / "prepared.parquet", pre_buffer=False)
    for batch in source.iter_batches(batch_size=CHUNK, use_threads=False):
        chunk = batch.to_pandas()
        out = _out_frame(chunk, spec, plan, columns, lookup_index, lookup_out, radix)
        for writer in writers.values():
            writer.write(out)
        frequencies.add(out)
        written += len(out)
        progress(50 + int(40 * written / max(counting.rows, 1)), "writing files")
    progress(90, "writing SPSS and Stata files")
    for writer in writers.values():
        writer.close()
    (folder / "prepared.parquet").unlink()
    files = [folder / f"data.{fmt}" for fmt in spec.formats]
    report["records_published"] = written
    return Outcome(written, report, files + write_documents(spec, columns, frequencies, report, folder))


def _radix(spec: ExportSpec, coders: dict[str, Coder]) -> list[int]:
    radix = [max(len(coders[v.name].codes), 1) for v in spec.quasi]
    if math.prod(radix) >= 2**62:
        raise ExportError("Too many distinct combinations of quasi-identifiers; mark fewer variables as such.")
    return radix


def _lookup(spec: ExportSpec, plan: Plan, coders: dict[str, Coder]):
    if not spec.quasi:
        return None, {}, []
    radix = _radix(spec, coders)
    key = np.zeros(len(plan.lookup), dtype=np.int64)
    for info, size in zip(spec.quasi, radix, strict=True):
        key = key * size + plan.lookup[info.name].to_numpy(dtype=np.int64)
    out = {column: plan.lookup[column].to_numpy() for column in plan.lookup.columns if column.startswith("out:")}
    out["dropped"] = plan.lookup["dropped"].to_numpy(dtype=bool)
    return pd.Index(key), out, radix


class Frequencies:
    """Value counts of the published categories and summaries of the numbers, for the codebook."""

    def __init__(self, columns: list[OutColumn]):
        self.columns = columns
        self.counts: dict[str, dict[str, int]] = {c.name: {} for c in columns if c.kind == "category" or c.choice}
        self.numbers: dict[str, list[float]] = {c.name: [0, 0.0, math.inf, -math.inf, 0]
                                                for c in columns if c.kind == "number" and not c.choice}  # fmt: skip

    def add(self, frame: pd.DataFrame) -> None:
        for name, counts in self.counts.items():
            for value, n in frame[name].value_counts(dropna=False).items():
                label = "" if _missing(value) else str(_cell(value))
                counts[label] = counts.get(label, 0) + int(n)
        for name, stats in self.numbers.items():
            values = frame[name].dropna()
            stats[0] += len(values)
            stats[1] += float(values.sum())
            if len(values):
                stats[2], stats[3] = min(stats[2], float(values.min())), max(stats[3], float(values.max()))
            stats[4] += int(frame[name].isna().sum())


# --------------------------------------------------------------------------- codebook, report, readme


def codebook_rows(spec: ExportSpec, columns: list[OutColumn], frequencies: Frequencies) -> list[dict[str, Any]]:
    rows = []
    for c in columns:
        entry: dict[str, Any] = {"name": c.name, "label": c.label, "type": c.kind, "role": c.role,
                                 "derivation": c.derivation, "categories": []}  # fmt: skip
        if c.name in frequencies.counts:
            for value, n in sorted(frequencies.counts[c.name].items(), key=lambda item: item[0]):
                label = (
                    "(missing)"
                    if value == ""
                    else "Suppressed (disclosure control)"
                    if value == SUPPRESSED
                    else c.value_labels.get(value, value)
                )
                # A frequency below the threshold is not printed (it could single out people).
                entry["categories"].append({"value": value, "label": label, "frequency": n if n >= spec.k else None,
                                            "frequency_text": str(n) if n >= spec.k else f"< {spec.k}"})  # fmt: skip
        if c.name in frequencies.numbers:
            n, total, low, high, missing = frequencies.numbers[c.name]
            entry["summary"] = {"valid": n, "missing": missing, "mean": round(total / n, 4) if n else None,
                                "min": low if n else None, "max": high if n else None}  # fmt: skip
        rows.append(entry)
    return rows


def write_documents(spec: ExportSpec, columns: list[OutColumn], frequencies: Frequencies,
                    report: dict[str, Any], folder: Path) -> list[Path]:  # fmt: skip
    rows = codebook_rows(spec, columns, frequencies)
    files = []
    path = folder / "codebook.json"
    path.write_text(
        json.dumps({"study": _study(spec, report), "variables": rows}, ensure_ascii=False, indent=1), "utf-8"
    )
    files.append(path)
    path = folder / "codebook.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variable", "label", "type", "role", "derivation", "value", "value_label", "frequency"])
        for row in rows:
            base = [row["name"], row["label"], row["type"], row["role"], row["derivation"]]
            if not row["categories"]:
                writer.writerow([escape_formula(v) for v in base + ["", "", ""]])
            for category in row["categories"]:
                writer.writerow(
                    [
                        escape_formula(str(v))
                        for v in base + [category["value"], category["label"], category["frequency_text"]]
                    ]
                )
    files.append(path)
    path = folder / "codebook.html"
    path.write_text(_codebook_html(spec, rows, report), "utf-8")
    files.append(path)
    path = folder / "codebook.ddi.xml"
    path.write_bytes(ddi_codebook(spec, rows, report))
    files.append(path)
    path = folder / "disclosure_report.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
    files.append(path)
    path = folder / "README.txt"
    path.write_text(_readme(spec, report), "utf-8")
    files.append(path)
    return files


def _study(spec: ExportSpec, report: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": spec.title,
        "reference": spec.reference,
        "waves": [{"slug": w.slug, "name": w.name_in(spec.language)} for w in spec.waves],
        "language": spec.language,
        "licence": spec.licence,
        "k": spec.k,
        "l": spec.l_div,
        "records": report.get("records_published"),
        "weights": "None: the file is the unweighted sample of respondents (a self-selected sample, not a probability sample).",
        "created": dt.date.today().isoformat(),
    }


def _codebook_html(spec: ExportSpec, rows: list[dict[str, Any]], report: dict[str, Any]) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang='{e(spec.language)}'><meta charset='utf-8'><title>{e(spec.title)}</title>",
             "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left}</style>",
             f"<h1>{e(spec.title)}</h1><p>{e(spec.reference)}</p>",
             f"<p>Licence: {e(spec.licence)}; k = {spec.k}, l = {spec.l_div}; records: {report.get('records_published')}; "
             f"information loss: {report.get('information_loss')}</p>"]  # fmt: skip
    for row in rows:
        parts.append(f"<h2 id='{e(row['name'])}'>{e(row['name'])}</h2><p>{e(row['label'])}</p>"
                     f"<p>Type: {e(row['type'])}; role: {e(row['role'])}. {e(row['derivation'])}</p>")  # fmt: skip
        if row["categories"]:
            parts.append("<table><tr><th>Value</th><th>Label</th><th>Frequency</th></tr>")
            for category in row["categories"]:
                parts.append(f"<tr><td>{e(category['value'])}</td><td>{e(str(category['label']))}</td>"
                             f"<td>{e(category['frequency_text'])}</td></tr>")  # fmt: skip
            parts.append("</table>")
        if row.get("summary"):
            parts.append("<p>" + e(", ".join(f"{k}: {v}" for k, v in row["summary"].items())) + "</p>")
    parts.append("</html>")
    return "".join(parts)


DDI = "ddi:codebook:2_5"


def ddi_codebook(spec: ExportSpec, rows: list[dict[str, Any]], report: dict[str, Any]) -> bytes:
    """The codebook as DDI-Codebook 2.5 XML (document, study, file and variable descriptions)."""
    ET.register_namespace("", DDI)
    q = lambda tag: f"{{{DDI}}}{tag}"  # noqa: E731
    root = ET.Element(
        q("codeBook"), {"version": "2.5", "ID": spec.reference or "kelu-export", "xml:lang": spec.language}
    )
    doc = ET.SubElement(ET.SubElement(ET.SubElement(root, q("docDscr")), q("citation")), q("titlStmt"))
    ET.SubElement(doc, q("titl")).text = f"Codebook: {spec.title}"
    study = ET.SubElement(root, q("stdyDscr"))
    citation = ET.SubElement(study, q("citation"))
    title = ET.SubElement(citation, q("titlStmt"))
    ET.SubElement(title, q("titl")).text = spec.title
    ET.SubElement(title, q("IDNo")).text = spec.reference
    info = ET.SubElement(ET.SubElement(study, q("stdyInfo")), q("sumDscr"))
    for wave in spec.waves:
        if wave.opens_at:
            ET.SubElement(
                info, q("collDate"), {"date": wave.opens_at.date().isoformat(), "event": "start", "cycle": wave.slug}
            )
        if wave.closes_at:
            ET.SubElement(
                info, q("collDate"), {"date": wave.closes_at.date().isoformat(), "event": "end", "cycle": wave.slug}
            )
    ET.SubElement(info, q("nation"), {"abbr": "KAZ"}).text = "Kazakhstan (citizens and graduates at home and abroad)"
    ET.SubElement(info, q("anlyUnit")).text = "individual respondent"
    method = ET.SubElement(ET.SubElement(study, q("method")), q("dataColl"))
    ET.SubElement(method, q("weight")).text = "No weights: the unweighted sample of respondents."
    access = ET.SubElement(ET.SubElement(study, q("dataAccs")), q("useStmt"))
    ET.SubElement(access, q("restrctn")).text = (
        f"{spec.licence} file; k-anonymity k = {spec.k} and distinct l-diversity l = {spec.l_div} on the quasi-identifiers; "
        f"{report.get('records_removed', 0)} records left out, {report.get('cells_suppressed', 0)} cells suppressed."
    )
    file_dscr = ET.SubElement(root, q("fileDscr"), {"ID": "F1"})
    text = ET.SubElement(file_dscr, q("fileTxt"))
    ET.SubElement(text, q("fileName")).text = "data"
    dims = ET.SubElement(text, q("dimensns"))
    ET.SubElement(dims, q("caseQnty")).text = str(report.get("records_published", 0))
    ET.SubElement(dims, q("varQnty")).text = str(len(rows))
    data = ET.SubElement(root, q("dataDscr"))
    for index, row in enumerate(rows, start=1):
        var = ET.SubElement(data, q("var"), {"ID": f"V{index}", "name": row["name"], "files": "F1",
                                             "intrvl": "contin" if row["type"] == "number" else "discrete"})  # fmt: skip
        ET.SubElement(var, q("labl")).text = row["label"]
        if row["derivation"]:
            ET.SubElement(ET.SubElement(var, q("codInstr")), q("txt")).text = row["derivation"]
        for category in row["categories"]:
            cat = ET.SubElement(var, q("catgry"), {"missing": "Y"} if category["value"] in ("", SUPPRESSED) else {})
            ET.SubElement(cat, q("catValu")).text = category["value"]
            ET.SubElement(cat, q("labl")).text = str(category["label"])
            if category["frequency"] is not None:
                ET.SubElement(cat, q("catStat"), {"type": "freq"}).text = str(category["frequency"])
        ET.SubElement(var, q("varFormat"), {"type": "numeric" if row["type"] == "number" else "character"})
        ET.SubElement(var, q("notes")).text = f"role: {row['role']}"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _readme(spec: ExportSpec, report: dict[str, Any]) -> str:
    lines = [
        spec.title,
        "=" * len(spec.title),
        "",
        f"Reference: {spec.reference}",
        f"Waves: {', '.join(w.slug for w in spec.waves)}",
        f"Licence: {spec.licence}. Use these data only for the purpose stated in the request; do not attempt to",
        "identify any respondent, link the file with other data to that end, or pass it on.",
        "",
        "Disclosure control",
        f"- k-anonymity on the quasi-identifiers: k = {spec.k} (achieved: {report.get('k_achieved')})",
        f"- distinct l-diversity on the sensitive variables: l = {spec.l_div} (achieved: {report.get('l_achieved')})",
        f"- records published: {report.get('records_published')}; left out: {report.get('records_removed')}",
        f"- cells suppressed ('*'; code -1 in SPSS and Stata): {report.get('cells_suppressed')}",
        f"- information loss (LM, 0 = none, 1 = all): {report.get('information_loss')}",
        "- direct identifiers are not in the file; respondent ids are a keyed hash valid in this file only",
        "",
        "Files: data.* (the same records in each format), codebook.* (HTML, CSV, JSON, DDI-Codebook 2.5 XML),",
        "disclosure_report.json.",
        "Weights: none; the respondents are a self-selected sample, not a probability sample.",
        f"Citation: Kelu research export {spec.reference}, {dt.date.today().isoformat()}.",
    ]
    return "\n".join(lines) + "\n"


def zip_files(files: list[Path], target: Path) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, arcname=path.name)
    return target


def media_folder() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "research" / "work"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder))
