"""Small-cell suppression of a published two-way table of counts: primary, secondary, and an audit.

    table = suppress(cells, row="country_group", col="category", threshold=10)
    table.cells                      # the cells, with `suppressed` and `reason` ("", "primary", "secondary")
    table.row_totals, table.col_totals, table.grand_total   # the published margins, flagged the same way
    recoverable_cells(table)         # suppressed entries the published values determine: empty after suppress()
    publishable(estimates, table)    # blanks every figure derived from a suppressed count

The table is cells x[r, c] (unweighted respondent counts) with the margins published next to them:
row totals, column totals and the grand total. A 1-D table (one group) is a table of one row.

Primary: a cell or margin with 0 < n < threshold. Zero cells are published as zeros and never
suppressed (sdcTable's allowZeros = FALSE): a zero is not a small group of people, and hiding
every zero hides the shape of the table. Known zeros are published values for everything below.

Secondary, in two stages. (1) Lines: no line (a row with its row total, a column with its column
total, the column totals with the grand total, the row totals with the grand total) may hold
exactly one suppressed entry, as that entry would be the total minus the rest. While some line
does, suppress the smallest published non-zero entry in it, preferring one that also sits in
another such line (then the smaller count, then a cell over a margin). (2) Audit: lines are not
enough in two dimensions (a suppressed rectangle must close), so every suppressed entry is tested
exactly: with the suppressed cells as unknowns u, each published margin is an equation a.u = b;
an entry with coefficients f on u is determined iff f lies in the row space of A, i.e. f is
orthogonal to A's null space (SVD). For each determined entry, suppress the smallest published
non-zero entry of a line through it that makes it undetermined (else the smallest), re-run (1),
and audit again until nothing is determined. Every suppressed entry is non-zero, so an entry
that linear algebra leaves undetermined also has a positive range under non-negativity (the true
table is inside the orthant); the tests check this with linear programs. Each round suppresses
one more entry, so the loop ends; at worst every non-zero entry is suppressed.

A margin not published (publish_*=False) is no equation; its frame is None in the result.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["TOTAL", "GrandTotal", "SuppressedTable", "publishable", "recoverable_cells", "suppress"]

# The label of a margin in recoverable_cells() keys, as SDMX marks totals.
TOTAL = "_T"
PRIMARY, SECONDARY, LINKED = "primary", "secondary", "linked"
# Blanked when the cell is suppressed.
COUNT_COLUMNS = ("n",)
# Rates: blanked when the cell or its group's total is suppressed (a share reveals its denominator).
RATE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "rank")
# Figures of the whole group: blanked when the group's total is suppressed.
GROUP_COLUMNS = ("n_group", "n_eff", "deff")
# A suppressed entry counts as determined when its coefficients are this close to A's row space.
_DETERMINED_ATOL = 1e-9


@dataclass(frozen=True)
class GrandTotal:
    n: int
    suppressed: bool
    reason: str


@dataclass(frozen=True)
class SuppressedTable:
    """A table after suppression. Margins that are not published are None. The counts of
    suppressions cover cells and margins."""

    cells: pd.DataFrame
    row_totals: pd.DataFrame | None
    col_totals: pd.DataFrame | None
    grand_total: GrandTotal | None
    row: str
    col: str
    count: str
    threshold: int
    n_primary: int
    n_secondary: int


@dataclass(frozen=True)
class _Layout:
    """A table's entries (R*C cells row by row, R row totals, C column totals, the grand total),
    with each margin as a sum of cells (`sums[m, cell]`; a cell's own coefficients are a unit
    vector, so they are not stored), and its lines (`lines[l, e]`: entry e is in line l)."""

    rows: pd.Index
    cols: pd.Index
    n: np.ndarray
    present: np.ndarray
    sums: np.ndarray
    lines: np.ndarray

    @property
    def n_cells(self) -> int:
        return len(self.rows) * len(self.cols)

    def published(self, suppressed: np.ndarray) -> np.ndarray:
        return self.present & ~suppressed

    def label(self, e: int) -> tuple[Hashable, Hashable]:
        r_count, c_count = len(self.rows), len(self.cols)
        if e < self.n_cells:
            return self.rows[e // c_count], self.cols[e % c_count]
        if e < self.n_cells + r_count:
            return self.rows[e - self.n_cells], TOTAL
        if e < self.n_cells + r_count + c_count:
            return TOTAL, self.cols[e - self.n_cells - r_count]
        return TOTAL, TOTAL


def suppress(
    cells: pd.DataFrame,
    *,
    row: str,
    col: str,
    n: str = "n",
    threshold: int,
    publish_row_totals: bool = True,
    publish_col_totals: bool = True,
    publish_grand_total: bool = True,
    force: str | None = None,
) -> SuppressedTable:
    """Suppress the cells and margins of a table of counts (one row of `cells` per (row, col);
    missing combinations are zero cells) so that no count below `threshold` is published or
    recoverable from the published ones.

    `force` names a boolean column of cells that must be suppressed whatever their count
    (reason "linked"): cells of a column that another published table (the whole-sample one)
    already hides; that column's total is then hidden too."""
    if int(threshold) != threshold or threshold < 1:
        raise ValueError(f"threshold must be a positive integer, got {threshold!r}")
    full = _complete(cells, row, col, n)
    rows, cols = pd.Index(pd.unique(full[row])), pd.Index(pd.unique(full[col]))
    counts = full[n].to_numpy().reshape(len(rows), len(cols))
    layout = _layout(rows, cols, counts, publish_row_totals, publish_col_totals, publish_grand_total)
    forced = np.zeros(layout.n.size, dtype=bool)
    if force is not None:
        grid = full[force].astype("boolean").fillna(False).to_numpy(dtype=bool).reshape(len(rows), len(cols))
        forced[: layout.n_cells] = grid.ravel()
        start = layout.n_cells + len(rows)
        forced[start : start + len(cols)] = grid.any(axis=0)
    suppressed, reason = _suppress(layout, int(threshold), forced)
    return _table(full, layout, suppressed, reason, (row, col, n), int(threshold))


def recoverable_cells(table: SuppressedTable) -> set[tuple[Hashable, Hashable]]:
    """Suppressed entries whose value the published values determine exactly, as (row, col) keys;
    a margin's key has TOTAL in place of the summed dimension, the grand total is (TOTAL, TOTAL)."""
    layout, suppressed = _layout_of(table)
    return {layout.label(e) for e in _recoverable(layout, suppressed)}


def publishable(estimates: pd.DataFrame, table: SuppressedTable) -> pd.DataFrame:
    """`estimates` (one row per (row, col) of the table, e.g. from estimates.proportions) with every
    figure derived from a suppressed count blanked, and a `suppressed` column. Counts and rates of a
    suppressed cell go; when a group's total is suppressed its rates and group figures go too, as a
    share reveals its denominator. Rows with no cell in the table are blanked (fail closed).

    Shares reveal their group totals, so suppress a table of shares with its row totals published
    (the default); for tables that do not add up (select_multiple items, means) suppress the group
    sizes as a table of their own."""
    keys = [table.row, table.col]
    flags = table.cells[[*keys, "suppressed"]].rename(columns={"suppressed": "_cell_hidden"})
    merged = estimates.merge(flags, on=keys, how="left", validate="many_to_one")
    cell_hidden = merged["_cell_hidden"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    group_hidden = np.zeros(len(merged), dtype=bool)
    if table.row_totals is not None:
        hidden_groups = table.row_totals.loc[table.row_totals["suppressed"], table.row]
        group_hidden = merged[table.row].isin(hidden_groups).to_numpy()
    out = merged.drop(columns="_cell_hidden")
    for columns, hidden in (
        (COUNT_COLUMNS, cell_hidden),
        (RATE_COLUMNS, cell_hidden | group_hidden),
        (GROUP_COLUMNS, group_hidden),
    ):
        for column in (c for c in columns if c in out.columns):
            out[column] = _blank(out[column], hidden)
    out["suppressed"] = cell_hidden
    return out


def _blank(values: pd.Series, hidden: np.ndarray) -> pd.Series:
    if pd.api.types.is_integer_dtype(values.dtype):
        values = values.astype("Int64")  # a nullable integer keeps counts whole next to <NA>
    return values.mask(hidden)


def _complete(cells: pd.DataFrame, row: str, col: str, n: str) -> pd.DataFrame:
    """Every (row, col) combination in order of first appearance, missing ones as zero cells."""
    if cells.empty:
        raise ValueError("a table needs at least one cell")
    if cells[[row, col]].isna().any().any():
        raise ValueError(f"cells have missing {row!r} or {col!r} values")
    r_codes, rows = pd.factorize(cells[row], sort=False)
    c_codes, cols = pd.factorize(cells[col], sort=False)
    if TOTAL in set(rows) | set(cols):
        raise ValueError(f"{TOTAL!r} is reserved for totals")
    width = len(cols)
    position = r_codes * width + c_codes
    if len(np.unique(position)) != len(position):
        raise ValueError(f"cells must have one row per ({row!r}, {col!r})")
    size = len(rows) * width
    counts = np.zeros(size, dtype=float)
    counts[position] = pd.to_numeric(cells[n]).fillna(0).to_numpy(dtype=float)
    if (counts < 0).any() or (counts != np.round(counts)).any():
        raise ValueError(f"column {n!r} must hold non-negative whole counts")
    full = {
        row: np.repeat(np.asarray(rows, dtype=object), width),
        col: np.tile(np.asarray(cols, dtype=object), len(rows)),
    }
    for name in cells.columns:
        if name in (row, col, n):
            continue
        values = np.full(size, None, dtype=object)
        values[position] = cells[name].to_numpy(dtype=object)
        full[name] = values
    full[n] = counts.astype(np.int64)
    return pd.DataFrame(full)[[row, col, *[c for c in cells.columns if c not in (row, col)]]]


def _layout(
    rows: pd.Index, cols: pd.Index, counts: np.ndarray, with_rows: bool, with_cols: bool, with_grand: bool
) -> _Layout:
    r_count, c_count = counts.shape
    cells = r_count * c_count
    grid = np.arange(cells).reshape(r_count, c_count)
    sums = np.zeros((r_count + c_count + 1, cells))
    for r in range(r_count):
        sums[r, grid[r]] = 1
    for c in range(c_count):
        sums[r_count + c, grid[:, c]] = 1
    sums[-1] = 1
    row_total = cells + np.arange(r_count)
    col_total = cells + r_count + np.arange(c_count)
    grand = cells + r_count + c_count
    members: list[list[int]] = []
    if with_rows:
        members += [[*grid[r], row_total[r]] for r in range(r_count)]
    if with_cols:
        members += [[*grid[:, c], col_total[c]] for c in range(c_count)]
    if with_grand and with_cols:
        members.append([*col_total, grand])
    if with_grand and with_rows:
        members.append([*row_total, grand])
    if with_grand and not (with_rows or with_cols):
        members.append([*range(cells), grand])
    lines = np.zeros((len(members), cells + len(sums)), dtype=bool)
    for i, entries in enumerate(members):
        lines[i, entries] = True
    n = np.concatenate([counts.reshape(-1), sums @ counts.reshape(-1)]).astype(np.int64)
    present = np.concatenate(
        [np.ones(cells, bool), np.full(r_count, with_rows), np.full(c_count, with_cols), [with_grand]]
    )
    return _Layout(rows, cols, n, present, sums, lines)


def _suppress(layout: _Layout, threshold: int, forced: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Primary suppression, then lines and the audit in turn until nothing is determined."""
    suppressed = layout.present & (layout.n > 0) & (layout.n < threshold)
    reason = np.where(suppressed, PRIMARY, "").astype(object)
    if forced is not None:
        linked = forced & layout.present & (layout.n > 0) & ~suppressed
        suppressed |= linked
        reason[linked] = LINKED
    while True:
        _close_lines(layout, suppressed, reason)
        determined = _recoverable(layout, suppressed)
        if determined.size == 0:
            return suppressed, reason
        e = _protector(layout, suppressed, int(determined[0]))
        suppressed[e], reason[e] = True, SECONDARY


def _close_lines(layout: _Layout, suppressed: np.ndarray, reason: np.ndarray) -> None:
    """Suppress entries until no line holds exactly one suppressed entry (in place)."""
    while True:
        single = (layout.lines & suppressed).sum(axis=1) == 1
        if not single.any():
            return
        line = layout.lines[np.flatnonzero(single)[0]]
        also_fixes = layout.lines[single].sum(axis=0)
        candidates = np.flatnonzero(line & layout.published(suppressed) & (layout.n > 0))
        if candidates.size == 0:  # impossible while every suppressed entry is non-zero
            raise RuntimeError("a line with one suppressed entry has no published non-zero entry")
        e = min(candidates, key=lambda i: (-also_fixes[i], layout.n[i], i >= layout.n_cells, i))
        suppressed[e], reason[e] = True, SECONDARY


def _protector(layout: _Layout, suppressed: np.ndarray, target: int) -> int:
    """The entry to suppress so that `target` stops being determined: the smallest published
    non-zero entry on a line through it that does it, else the smallest such entry (anywhere,
    when its lines have none)."""
    open_entries = layout.published(suppressed) & (layout.n > 0)
    near = layout.lines[layout.lines[:, target]].any(axis=0) & open_entries
    candidates = np.flatnonzero(near if near.any() else open_entries)
    if candidates.size == 0:  # impossible: with nothing non-zero published, nothing is determined
        raise RuntimeError("no published non-zero entry left to suppress")
    ordered = sorted(candidates, key=lambda i: (layout.n[i], i >= layout.n_cells, i))
    for e in ordered:
        trial = suppressed.copy()
        trial[e] = True
        if target not in _recoverable(layout, trial):
            return int(e)
    return int(ordered[0])


def _recoverable(layout: _Layout, suppressed: np.ndarray) -> np.ndarray:
    """Suppressed entries whose value is a linear function of the published values."""
    unknown = np.flatnonzero(suppressed[: layout.n_cells])
    margin_known = layout.published(suppressed)[layout.n_cells :]
    null = _null_space(layout.sums[np.ix_(margin_known, unknown)], unknown.size)
    margin_hidden = (layout.present & suppressed)[layout.n_cells :]
    # Coefficients on the unknowns: a hidden cell's is a unit vector, a hidden margin's its row of sums.
    projections = np.vstack([null, layout.sums[np.ix_(margin_hidden, unknown)] @ null])
    hidden = np.concatenate([unknown, np.flatnonzero(margin_hidden) + layout.n_cells])
    if null.shape[1] == 0:
        return hidden
    return hidden[np.abs(projections).max(axis=1) <= _DETERMINED_ATOL]


def _null_space(a: np.ndarray, width: int) -> np.ndarray:
    """An orthonormal basis (as columns) of the vectors u with a @ u = 0."""
    if a.shape[0] == 0 or width == 0:
        return np.eye(width)
    _, s, vt = np.linalg.svd(a)
    rank = int((s > 1e-10 * max(s[0], 1.0)).sum())
    return vt[rank:].T


def _table(
    full: pd.DataFrame,
    layout: _Layout,
    suppressed: np.ndarray,
    reason: np.ndarray,
    names: tuple[str, str, str],
    threshold: int,
) -> SuppressedTable:
    row, col, count = names
    cells, r_count, c_count = layout.n_cells, len(layout.rows), len(layout.cols)

    def margin(name: str, labels: pd.Index, start: int) -> pd.DataFrame:
        part = slice(start, start + len(labels))
        return pd.DataFrame(
            {name: labels, "n": layout.n[part], "suppressed": suppressed[part], "reason": reason[part].astype(str)}
        )

    present = layout.present
    grand = cells + r_count + c_count
    return SuppressedTable(
        cells=full.assign(suppressed=suppressed[:cells], reason=reason[:cells].astype(str)),
        row_totals=margin(row, layout.rows, cells) if present[cells : cells + r_count].all() else None,
        col_totals=margin(col, layout.cols, cells + r_count) if present[cells + r_count : grand].all() else None,
        grand_total=GrandTotal(int(layout.n[grand]), bool(suppressed[grand]), str(reason[grand]))
        if present[grand]
        else None,
        row=row,
        col=col,
        count=count,
        threshold=threshold,
        n_primary=int((present & (reason == PRIMARY)).sum()),
        n_secondary=int((present & ((reason == SECONDARY) | (reason == LINKED))).sum()),
    )


def _layout_of(table: SuppressedTable) -> tuple[_Layout, np.ndarray]:
    """The layout and suppression flags of a finished table (for an independent audit)."""
    rows, cols = pd.Index(pd.unique(table.cells[table.row])), pd.Index(pd.unique(table.cells[table.col]))
    grid = table.cells.set_index([table.row, table.col]).reindex(pd.MultiIndex.from_product([rows, cols]))
    counts = grid[table.count].to_numpy(dtype=np.int64).reshape(len(rows), len(cols))
    with_rows, with_cols, with_grand = (
        table.row_totals is not None,
        table.col_totals is not None,
        table.grand_total is not None,
    )
    layout = _layout(rows, cols, counts, with_rows, with_cols, with_grand)
    parts: Sequence[np.ndarray] = [
        grid["suppressed"].to_numpy(dtype=bool),
        _flags(table.row_totals, table.row, rows),
        _flags(table.col_totals, table.col, cols),
        np.array([table.grand_total is not None and table.grand_total.suppressed]),
    ]
    return layout, np.concatenate(parts)


def _flags(totals: pd.DataFrame | None, key: str, labels: pd.Index) -> np.ndarray:
    if totals is None:
        return np.zeros(len(labels), dtype=bool)
    return totals.set_index(key)["suppressed"].reindex(labels).to_numpy(dtype=bool)
