"""A wave's analysis frame: one row per complete response, one column per variable.

Columns are keyed by field name across every version answered in the wave (the
newest version's labels, in kk, ru and en); a select_multiple field becomes one 0/1
indicator column per choice (``field__choice``, empty where the question was not
asked). Free text, dates and files stay out: the frame is for aggregates.

The rows are read by one set-based query: on PostgreSQL the server formats them into
large text blocks read by Arrow (in parallel slices), elsewhere one cursor fetch; never a
loop over ORM objects. Reads go to the replica when one is configured (``config.routers``).
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
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connections
from django.db.models import Count, Max, Min, Sum
from django.db.models.fields.json import KeyTextTransform

from config.routers import analytics_reads, read_alias
from surveys.models import Response, ResponseRemoval, Wave
from surveys.selectors_admin import NUMERIC_TYPES, MergedField, merged_fields, wave_versions

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
    instruments = [version.instrument for version in wave_versions(wave)]
    by_language = {language: merged_fields(instruments, language) for language in LANGUAGES}
    # One row per response: questions asked once per entry of a repeat group are not its columns
    # (the export has a table per repeat for entry-level work).
    fields = [item for item in by_language["en"] if item.type in FRAME_TYPES and item.repeat is None]
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
    """Complete responses of `wave` (changed since `since`), as raw text columns, read set-based."""
    raw_names = ["response_id", "version", "language", "submitted_at", "updated_at"] + [
        f"a{index}" for index in range(len(spec.fields))
    ]
    with analytics_reads():
        alias = read_alias()
        queryset = _queryset(wave, spec.fields, since).using(alias)
        connection = connections[alias]
        sql, params = queryset.query.sql_with_params()
        if connection.vendor == "postgresql":
            # A full read is cut into blocks by id range; the responses changed since a watermark are
            # read as one (an id range would tempt the planner away from the index on updated_at).
            span = (
                queryset.values("id").aggregate(n=Count("id"), low=Min("id"), high=Max("id"))
                if since is None
                else {"n": None, "low": None, "high": None}
            )
            raw = _read_postgresql(alias, connection.ops.compose_sql(sql, params), raw_names, spec, span)
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                raw = pd.DataFrame.from_records(cursor.fetchall(), columns=raw_names)
    return _typed(raw, spec)


# Rows per block of text PostgreSQL sends: a few large strings instead of a message per row.
BLOCK_ROWS = 50_000
TAB = "\\t"  # as PostgreSQL reads it in an E'' string
TIMES = ("submitted_at", "updated_at")


def _row_text(names: list[str]) -> tuple[list[str], str]:
    """Column aliases and the SQL expression printing one row as tab-separated text."""
    aliases = [f"c{i}" for i in range(len(names))]
    # Times travel as microseconds since the epoch (exact, and cheaper to print and parse than text).
    values = [
        f"(extract(epoch from q.{a}) * 1000000)::bigint" if names[i] in TIMES else f"q.{a}"
        for i, a in enumerate(aliases)
    ]
    # format() takes at most 99 values: wide frames are formatted in pieces.
    pieces = []
    for start in range(0, len(values), 90):
        chunk = values[start : start + 90]
        template = TAB.join(["%s"] * len(chunk))
        pieces.append(f"format(E'{template}', {', '.join(chunk)})")
    return aliases, " || E'\\t' || ".join(pieces)


def _read_postgresql(alias: str, statement: str, names: list[str], spec: FrameSpec, span: dict) -> pd.DataFrame:
    """The query's rows as tab-separated text built by the server, block by block, parsed by Arrow.

    A full read is cut into blocks by response id (about BLOCK_ROWS each, from the count and id
    range in `span`); each block is one plain aggregate over an id range (no sort, no spill),
    returned as one string. The rows changed since a watermark (`span` without a count) are cut
    by id modulo the number of connections instead. Extracting the answers is most of the work
    and it is the server's: ANALYTICS_READ_CONNECTIONS connections (each its own server
    process) take blocks in turn, and each block is parsed while the next is being built. No
    frame value can hold a tab or a line break (answer codes, numbers, country codes, lists of
    codes); NULL becomes an empty field. JIT compilation is off for these queries: compiling
    the row expressions costs more than it saves.
    """
    connection = connections[alias]
    slices = max(1, int(getattr(settings, "ANALYTICS_READ_CONNECTIONS", 2)))
    if connection.in_atomic_block:
        slices = 1  # other connections would not see this transaction's rows
    count, low, high = span["n"], span["low"], span["high"]
    if count is None:
        # The changed rows: as many slices as connections, by id modulo (all of them in one).
        conditions = [f"q.c0 % {slices} = {part}" for part in range(slices)] if slices > 1 else [""]
    elif not count:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    else:
        blocks = max(1, -(-count // BLOCK_ROWS))
        edges = np.linspace(low, high + 1, blocks + 1).round().astype(np.int64)
        conditions = [
            f"q.c0 >= {int(a)} AND q.c0 < {int(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a
        ]
    slices = min(slices, len(conditions))
    aliases, row = _row_text(names)
    numeric = {f"a{i}" for i, item in enumerate(spec.fields) if item.is_numeric}
    text = pa.dictionary(pa.int32(), pa.string())
    types = {name: (pa.float64() if name in numeric else text) for name in names}
    types.update({"response_id": pa.int64(), "version": pa.int64(), "submitted_at": pa.int64(),
                  "updated_at": pa.int64()})  # fmt: skip
    read_options = pa_csv.ReadOptions(column_names=names, use_threads=False)
    parse_options = pa_csv.ParseOptions(delimiter="\t", quote_char=False, escape_char=False)
    convert_options = pa_csv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True)
    query = f"SELECT convert_to(string_agg({row}, E'\\n'), 'UTF8') FROM ({statement}) AS q({', '.join(aliases)})"

    def read(cursor, condition: str) -> pa.Table | None:
        # The conditions hold integers only; the statement is already composed.
        cursor.execute(f"{query} WHERE {condition}" if condition else query)
        (block,) = cursor.fetchone()
        if not block:
            return None
        return pa_csv.read_csv(io.BytesIO(block), read_options, parse_options, convert_options)

    tables: dict[int, pa.Table | None] = {}
    if slices == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
            try:
                for index, condition in enumerate(conditions):
                    tables[index] = read(cursor, condition)
            finally:
                cursor.execute("RESET jit")
    else:
        pending = iter(list(enumerate(conditions)))
        lock = threading.Lock()

        def work() -> None:
            try:
                with connections[alias].cursor() as own:
                    own.execute("SET jit = off")
                    while True:
                        with lock:
                            item = next(pending, None)
                        if item is None:
                            return
                        tables[item[0]] = read(own, item[1])
            finally:
                connections[alias].close()  # this thread's own connection

        with ThreadPoolExecutor(max_workers=slices) as pool:
            for future in [pool.submit(work) for _ in range(slices)]:
                future.result()
    read_tables = [tables[index] for index in sorted(tables) if tables[index] is not None]
    if not read_tables:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    return pa.concat_tables(read_tables).to_pandas()


def _times(values: pd.Series) -> pd.Series:
    """Microseconds since the epoch (PostgreSQL) or ISO text (SQLite) to UTC timestamps."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="us", utc=True).dt.as_unit("us")
    return pd.to_datetime(values, utc=True, format="ISO8601").dt.as_unit("us")


def _typed(raw: pd.DataFrame, spec: FrameSpec) -> pd.DataFrame:
    """Raw text columns to the frame's types: numbers, categories and 0/1 indicators (vectorised)."""
    out: dict[str, Any] = {
        "response_id": raw["response_id"].astype("int64"),
        "version": raw["version"].astype("int64"),
        "language": raw["language"].astype("category"),
        "submitted_at": _times(raw["submitted_at"]),
        "updated_at": _times(raw["updated_at"]),
    }
    for index, item in enumerate(spec.fields):
        values = raw[f"a{index}"]
        if item.type == "select_multiple":
            # Each distinct list of choices is looked at once, not each response.
            codes, lists = pd.factorize(values, use_na_sentinel=True)
            lists = pd.Series(np.asarray(lists, dtype=object), dtype=object)
            answered = codes >= 0
            for choice, _ in item.choices:
                chosen = np.append(lists.str.contains(f'"{choice}"', regex=False).to_numpy(dtype=bool), False)
                column = np.where(answered, chosen[np.where(answered, codes, len(lists))].astype("float64"), np.nan)
                out[f"{item.name}__{choice}"] = column
        elif item.is_numeric:
            out[item.name] = (
                values if values.dtype == "float64" else pd.to_numeric(values, errors="coerce").astype("float64")
            )
        else:
            out[item.name] = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    frame = pd.DataFrame(out, index=raw.index)
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- storing
#
# A frame is a folder of Parquet parts: a full build writes the first part, each incremental
# build one more with the responses it read (a later part's row replaces an earlier row of the
# same response). Readers see whole parts only (written aside, then renamed).


ROW_GROUP = 64_000


def frame_dir(wave: Wave, job_id: int) -> str:
    return f"analytics/frames/wave-{wave.pk}/build-{job_id}"


def _parts(relative: str) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / relative
    return sorted(folder.glob("part-*.parquet"), key=lambda p: int(p.stem.split("-")[1]))


def write_part(frame: pd.DataFrame, spec: FrameSpec, relative: str, job_id: int) -> None:
    folder = Path(settings.MEDIA_ROOT) / relative
    folder.mkdir(parents=True, exist_ok=True)
    # Sorted by response, in row groups whose id ranges let a later build read back a few
    # responses without reading the whole part.
    if not frame["response_id"].is_monotonic_increasing:
        frame = frame.sort_values("response_id", kind="stable")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[b"kelu.columns"] = json.dumps(spec.metadata(), ensure_ascii=False).encode()
    metadata[b"kelu.signature"] = spec.signature.encode()
    path = folder / f"part-{job_id}.parquet"
    partial = path.with_suffix(".part")
    # Dictionary pages for the answer codes only (numbers gain little from them), and min/max
    # statistics only where a reader uses them (the response id), which halves the writing time.
    coded = [f.name for f in table.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
    pq.write_table(
        table.replace_schema_metadata(metadata),
        partial,
        row_group_size=ROW_GROUP,
        use_dictionary=coded,
        write_statistics=["response_id"],
    )
    partial.replace(path)


def frame_parts(relative: str) -> int:
    return len(_parts(relative)) if relative else 0


def frame_exists(relative: str) -> bool:
    return bool(relative) and frame_parts(relative) > 0


def read_frame(relative: str, ids: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, Any], str]:
    """The frame (the latest row of each response; only `ids` if given), its column metadata and signature.

    With `ids`, only the row groups whose id range holds one of them are read."""
    parts = _parts(relative)
    wanted = np.unique(np.asarray(ids, dtype=np.int64)) if ids is not None else None
    tables = []
    for part in parts:
        if wanted is None:
            tables.append(pq.read_table(part))
            continue
        handle = pq.ParquetFile(part)
        column = handle.schema_arrow.get_field_index("response_id")
        groups = []
        for index in range(handle.metadata.num_row_groups):
            statistics = handle.metadata.row_group(index).column(column).statistics
            if statistics is None or not statistics.has_min_max:
                groups.append(index)
                continue
            low, high = (
                np.searchsorted(wanted, [statistics.min, statistics.max], side="left")[0],
                np.searchsorted(wanted, statistics.max, side="right"),
            )
            if high > low:
                groups.append(index)
        if groups:
            table = handle.read_row_groups(groups)
            mask = np.isin(table.column("response_id").to_numpy(), wanted)
            tables.append(table.filter(pa.array(mask)))
    metadata = pq.read_schema(parts[-1]).metadata or {}
    frame = pa.concat_tables(tables, promote_options="default").to_pandas() if tables else pd.DataFrame()
    if len(parts) > 1 and len(frame):
        frame = frame.drop_duplicates("response_id", keep="last").reset_index(drop=True)
    columns = json.loads(metadata.get(b"kelu.columns", b"{}"))
    return frame, columns, metadata.get(b"kelu.signature", b"").decode()


def frame_ids(relative: str) -> np.ndarray:
    """The response ids in the frame, sorted (kept beside the parts; read from them if missing)."""
    stored = Path(settings.MEDIA_ROOT) / relative / "ids.npy"
    if stored.is_file():
        return np.load(stored)
    ids = [pq.read_table(part, columns=["response_id"]).column(0).to_numpy() for part in _parts(relative)]
    return np.unique(np.concatenate(ids)) if ids else np.zeros(0, dtype=np.int64)


def drop_responses(wave_id: int, response_ids) -> int:
    """Rewrite every stored build of the wave's frame without these responses (an erasure);
    returns the rows dropped. Each part is written aside and renamed, as builds write them."""
    wanted = np.asarray(sorted(response_ids), dtype=np.int64)
    folder = Path(settings.MEDIA_ROOT) / "analytics" / "frames" / f"wave-{wave_id}"
    dropped = 0
    if not len(wanted) or not folder.is_dir():
        return 0
    for build in sorted(p for p in folder.iterdir() if p.is_dir()):
        relative = str(build.relative_to(settings.MEDIA_ROOT))
        for part in _parts(relative):
            table = pq.read_table(part)
            keep = ~np.isin(table.column("response_id").to_numpy(), wanted)
            if keep.all():
                continue
            dropped += int((~keep).sum())
            partial = part.with_suffix(".part")
            pq.write_table(table.filter(pa.array(keep)), partial, row_group_size=ROW_GROUP)
            partial.replace(part)
        stored = build / "ids.npy"
        if stored.is_file():
            ids = np.load(stored)
            _save_ids(relative, ids[~np.isin(ids, wanted)])
    return dropped


def _save_ids(relative: str, ids: np.ndarray) -> None:
    stored = Path(settings.MEDIA_ROOT) / relative / "ids.npy"
    partial = stored.with_name("ids.part.npy")
    np.save(partial, ids)
    partial.replace(stored)


# --------------------------------------------------------------------------- building


@dataclass
class FrameBuild:
    rows: pd.DataFrame  # the responses read by this build (all of them for a full build)
    removed: pd.DataFrame  # earlier versions of responses this build read again (incremental only)
    spec: FrameSpec
    mode: str  # full or incremental
    watermark: dt.datetime | None
    relative: str
    total_rows: int
    removals: int  # the wave's removal mark when this build started (see removal_mark)
    saving: Future | None = None  # the part being written (in the background)

    def saved(self) -> None:
        """Wait until this build's part and ids are on disk (raises what the writing raised)."""
        if self.saving is not None:
            self.saving.result()

    def settle(self) -> None:
        """Wait for the writing to end, whatever its outcome (when the job fails meanwhile)."""
        if self.saving is not None:
            wait([self.saving])


# Parts are written beside the rest of the job (statistics, weights, indicators), which does
# not need them; the job waits for its part before it finishes.
_WRITER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="frame-writer")


def _save(frame: pd.DataFrame, spec: FrameSpec, relative: str, job_id: int, ids: np.ndarray) -> None:
    write_part(frame, spec, relative, job_id)
    _save_ids(relative, ids)


def _totals(wave: Wave) -> tuple[int, int]:
    with analytics_reads():
        stats = (
            Response.objects.using(read_alias())
            .filter(wave=wave, status=Response.Status.COMPLETE)
            .aggregate(n=Count("id"), ids=Sum("id"))
        )
    return int(stats["n"] or 0), int(stats["ids"] or 0)


def _totals_later(wave: Wave) -> Callable[[], tuple[int, int]]:
    """The wave's totals, counted on another connection while this one reads the changed rows
    (in this thread, later, when a transaction is open: another connection would not see it)."""
    with analytics_reads():
        if connections[read_alias()].in_atomic_block:
            return lambda: _totals(wave)

    def count() -> tuple[int, int]:
        try:
            return _totals(wave)
        finally:
            connections.close_all()  # this thread's own connections

    future = _WRITER.submit(count)
    return future.result


MAX_PARTS = 12


def removal_mark(wave: Wave) -> int:
    """The latest entry of the wave's removal log (0 when none of its complete responses ever left)."""
    with analytics_reads():
        latest = ResponseRemoval.objects.using(read_alias()).filter(wave_id=wave.pk).aggregate(latest=Max("id"))
    return int(latest["latest"] or 0)


def build_frame(
    wave: Wave,
    job_id: int,
    previous_dir: str = "",
    previous_watermark: dt.datetime | None = None,
    *,
    incremental: bool = True,
    spec: FrameSpec | None = None,
    previous_removals: int | None = None,
    verify_totals: bool = False,
) -> FrameBuild:
    """Read the wave's responses: only those changed since the previous build when it is still
    valid (same columns, no response removed since, not too many parts), else all of them into a
    new folder.

    Removals are known from the removal log the database keeps (``ResponseRemoval``), read before
    the rows so that one made meanwhile is seen by the next build. With `verify_totals` (the
    nightly builds) the wave's responses are also counted, which catches a response whose
    transaction committed later than the watermark overlap allows for.
    """
    spec = spec or frame_spec(wave)
    removals = removal_mark(wave)
    if (
        incremental
        and frame_exists(previous_dir)
        and previous_watermark is not None
        and previous_removals == removals
        and frame_parts(previous_dir) < MAX_PARTS
    ):
        signature = (pq.read_schema(_parts(previous_dir)[-1]).metadata or {}).get(b"kelu.signature", b"").decode()
        if signature == spec.signature:
            totals = _totals_later(wave) if verify_totals else None
            delta = read_rows(wave, spec, since=previous_watermark - watermark_overlap())
            known = frame_ids(previous_dir)
            delta_ids = delta["response_id"].to_numpy(dtype=np.int64)
            if len(known):
                position = np.minimum(np.searchsorted(known, delta_ids), len(known) - 1)
                again = known[position] == delta_ids
            else:
                again = np.zeros(len(delta_ids), dtype=bool)
            new_ids = delta.loc[~again, "response_id"]
            total = len(known) + len(new_ids)
            if totals is None or totals() == (total, int(known.sum()) + int(new_ids.sum())):
                removed = (
                    read_frame(previous_dir, ids=delta.loc[again, "response_id"].to_numpy())[0]
                    if again.any()
                    else delta.iloc[:0]
                )
                saving = None
                if len(delta):
                    merged = np.concatenate([known, new_ids.to_numpy(dtype=np.int64)])
                    merged.sort(kind="stable")  # the new ids are not among the known ones
                    saving = _WRITER.submit(_save, delta, spec, previous_dir, job_id, merged)
                watermark = _max_updated(delta, previous_watermark)
                return FrameBuild(delta, removed, spec, "incremental", watermark, previous_dir, total, removals, saving)
    rows = read_rows(wave, spec)
    relative = frame_dir(wave, job_id)
    ids = rows["response_id"].to_numpy(dtype=np.int64)
    ids = ids.copy() if len(ids) < 2 or np.all(ids[1:] > ids[:-1]) else np.unique(ids)
    saving = _WRITER.submit(_save, rows, spec, relative, job_id, ids)
    return FrameBuild(
        rows, rows.iloc[:0], spec, "full", _max_updated(rows, None), relative, len(rows), removals, saving
    )


def _max_updated(frame: pd.DataFrame, default: dt.datetime | None) -> dt.datetime | None:
    if not len(frame):
        return default
    latest = frame["updated_at"].max().to_pydatetime()
    return max(latest, default) if default else latest
