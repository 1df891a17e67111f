"""Sufficient statistics of indicator tables, and the estimates made from them.

Every respondent in the same *weighting cell* (the same combination of margin categories)
gets the same raking weight, so a table's weighted estimates need only, per (cell, group,
column): the respondents answering (n), the sum of the answer (s1) and of its square (s2).
A share is the mean of a 0/1 answer (s1 = s2 = the count choosing it); a score's mean uses
s1 and s2. These sums add up: a wave's statistics after new responses are the previous
ones plus the new responses' (minus the old version of a changed one), which is what makes
an incremental update cheap, and they are tiny (cells x groups x columns rows).

    stats = table_stats(frame, kind, columns, by="country", cells=codes, cell_labels=labels)
    table = estimate(stats, kind, factors={"RUS": 1.3, ...})   # or factors=None: unweighted

`estimate` gives the same figures as `estimates.proportions`, `indicator_proportions` and
`means` on the respondent rows with the cells' weights (the tests check it to 1e-9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from .estimates import wilson_interval

__all__ = ["KEY", "NO_CELL", "add_stats", "coded", "estimate", "estimate_many", "table_arrays", "table_stats"]

KEY = ["cell", "group", "col"]
COLUMNS = [*KEY, "n", "s1", "s2"]
# The cell of respondents outside the weighting (a margin question unanswered): weight 0.
NO_CELL = "\u2205"


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
    """A numeric column as (codes, distinct values) when it has few distinct values (scores,
    0/1 answers: one counting pass per table), else as floats. Text answer codes ("1".."5")
    are numbered once per distinct text, not once per row."""
    if pd.api.types.is_float_dtype(values) or pd.api.types.is_integer_dtype(values):
        codes, distinct = pd.factorize(np.asarray(values, dtype=float), sort=True, use_na_sentinel=True)
        if len(distinct) <= MAX_CODED_VALUES:
            return codes.astype(np.int64), np.asarray(distinct, dtype=float)
        return np.asarray(values, dtype=float)
    text_codes, labels = pd.factorize(values, use_na_sentinel=True)
    label_values = pd.to_numeric(pd.Series(np.asarray(labels, dtype=object)), errors="coerce").to_numpy(dtype=float)
    distinct = np.unique(label_values[~np.isnan(label_values)])
    if len(distinct) <= MAX_CODED_VALUES:
        lookup = np.append(np.where(np.isnan(label_values), -1, np.searchsorted(distinct, label_values)), -1)
        return lookup[np.where(text_codes >= 0, text_codes, len(label_values))].astype(np.int64), distinct
    return np.append(label_values, np.nan)[np.where(text_codes >= 0, text_codes, len(label_values))]


def _category_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A text column's codes; the few distinct values of answer codes are numbered from them."""
    codes, labels = pd.factorize(values, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(labels, dtype=object)


MAX_CODED_VALUES = 64


def coded(frame: pd.DataFrame, categorical: Sequence[str], numeric: Sequence[str]):
    """Columns coded once for many `table_stats` calls: (codes, numbers)."""
    return (
        {name: _category_codes(frame[name]) for name in dict.fromkeys(categorical) if name in frame},
        {name: _numbers(frame[name]) for name in dict.fromkeys(numeric) if name in frame},
    )


def table_stats(frame: pd.DataFrame, kind: str, columns: Sequence[str], **options) -> pd.DataFrame:
    """Per (cell, group, col): n, s1, s2 for one table (see `table_arrays`)."""
    arrays = table_arrays(frame, kind, columns, **options)
    out = pd.DataFrame(arrays)
    out[["cell", "group", "col"]] = out[["cell", "group", "col"]].astype(object)
    return out


def table_arrays(
    frame: pd.DataFrame,
    kind: str,
    columns: Sequence[str],
    *,
    by: str,
    cells: np.ndarray,
    cell_labels: Sequence[str],
    codes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    numbers: dict[str, object] | None = None,
) -> pd.DataFrame:
    """Per (cell, group, col): n, s1, s2 for one table.

    `kind` is "distribution" (one single-choice column: a 0/1 answer per category),
    "multi" (0/1 indicator columns, NaN where not asked) or "mean" (numeric columns).
    `cells` holds each row's cell number (-1: outside the weighting), `cell_labels` their names.
    Rows whose group (`by`) is missing are left out (callers fill a group for them first).
    `codes` and `numbers` may carry columns already coded (see `coded`), when many tables are
    made from the same rows. Each column costs one counting pass over the rows. Returns the
    columns as arrays (cheap to gather for many tables before making one frame).
    """
    codes = codes if codes is not None else {}
    numbers = numbers if numbers is not None else {}
    groups, group_labels = codes[by] if by in codes else _category_codes(frame[by])
    cell_index = np.asarray(cells, dtype=np.int64) + 1  # 0 is NO_CELL
    all_cells = np.asarray([NO_CELL, *cell_labels], dtype=object)
    n_groups, n_cells = len(group_labels), len(all_cells)
    size = n_cells * n_groups
    base = cell_index * n_groups + groups
    if (groups < 0).any():
        base = np.where(groups >= 0, base, size)  # an extra slot, dropped below
    parts = []

    def counted(answer_codes: np.ndarray, width: int) -> np.ndarray:
        """(size, width) counts of each answer code per (cell, group); unanswered not counted."""
        key = base * (width + 1) + np.where(answer_codes >= 0, answer_codes, width)
        table = np.bincount(key, minlength=(size + 1) * (width + 1)).reshape(size + 1, width + 1)
        return table[:size, :width]

    if kind == "distribution":
        answers, categories = codes[columns[0]] if columns[0] in codes else _category_codes(frame[columns[0]])
        width = len(categories)
        if width:
            counts = counted(answers, width)
            n = counts.sum(axis=1)
            present = np.flatnonzero(n)
            if present.size:
                rows = np.repeat(present, width)
                ks = np.tile(np.arange(width), present.size)
                chosen = counts[present].reshape(-1).astype(float)
                parts.append(
                    {
                        "cell": all_cells[rows // n_groups],
                        "group": group_labels[rows % n_groups],
                        "col": categories[ks],
                        "n": n[rows].astype(np.int64),
                        "s1": chosen,
                        "s2": chosen,
                    }
                )
    else:
        for column in columns:
            prepared = numbers[column] if column in numbers else _numbers(frame[column])
            if isinstance(prepared, tuple):
                value_codes, values = prepared
                counts = counted(value_codes, len(values))
                n = counts.sum(axis=1)
                s1 = counts @ values
                s2 = counts @ (values * values)
            else:
                y = prepared
                answered = ~np.isnan(y) & (base < size)
                keys, values = base[answered], y[answered]
                n = np.bincount(keys, minlength=size)
                s1 = np.bincount(keys, weights=values, minlength=size)
                s2 = np.bincount(keys, weights=values * values, minlength=size)
            present = np.flatnonzero(n)
            parts.append(
                {
                    "cell": all_cells[present // n_groups],
                    "group": group_labels[present % n_groups],
                    "col": np.full(present.size, column, dtype=object),
                    "n": n[present].astype(np.int64),
                    "s1": np.asarray(s1, dtype=float)[present],
                    "s2": np.asarray(s2, dtype=float)[present],
                }
            )
    return _joined(parts)


def _joined(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return {c: np.zeros(0, dtype=object if c in KEY else (np.int64 if c == "n" else float)) for c in COLUMNS}
    return {c: np.concatenate([p[c] for p in parts]) for c in COLUMNS}


def add_stats(*parts: tuple[pd.DataFrame, int], keys: Sequence[str] = KEY) -> pd.DataFrame:
    """Sum statistics (each with a sign: +1 to add respondents, -1 to take them away), by `keys`."""
    frames = [frame.assign(n=frame["n"] * sign, s1=frame["s1"] * sign, s2=frame["s2"] * sign) for frame, sign in parts
              if len(frame)]  # fmt: skip
    if not frames:
        empty = {c: pd.Series(dtype=object) for c in keys}
        return pd.DataFrame(empty).assign(
            n=pd.Series(dtype=np.int64), s1=pd.Series(dtype=float), s2=pd.Series(dtype=float)
        )
    total = pd.concat(frames, ignore_index=True).groupby(list(keys), sort=True, as_index=False)[["n", "s1", "s2"]].sum()
    total = total[total["n"] != 0].reset_index(drop=True)
    total["n"] = total["n"].astype(np.int64)
    return total


def estimate(
    stats: pd.DataFrame,
    kind: str,
    factors: Mapping[str, float] | None = None,
    *,
    col_order: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """The table's cells (group, col, n, [n_group,] estimate, [se,] ci_low, ci_high, n_eff, deff[, rank])
    with each cell's weight `factors[cell]` (None: unweighted; a cell without a factor has weight 0).
    One table of `estimate_many`."""
    out = estimate_many(stats.assign(_table=kind), ["_table"], {"mean"}, factors, level=level)
    unused = ["n_group"] if kind == "mean" else ["se", "rank"]
    return _ordered(out.drop(columns=["_table", *unused]), col_order)


def _ordered(sums: pd.DataFrame, col_order: Sequence[str] | None) -> pd.DataFrame:
    """Groups in sorted order (special groups last), columns in the given order (others after)."""
    order = {name: i for i, name in enumerate(col_order or [])}
    groups = sums["group"].astype(str)
    special = groups.str.startswith("_")
    return (
        sums.assign(
            _special=special.to_numpy(),
            _g=groups.to_numpy(),
            _c=sums["col"].map(lambda c: order.get(c, len(order))).to_numpy(),
            _cname=sums["col"].astype(str).to_numpy(),
        )
        .sort_values(["_special", "_g", "_c", "_cname"], kind="stable")
        .drop(columns=["_special", "_g", "_c", "_cname"])
        .reset_index(drop=True)
    )


def estimate_many(
    stats: pd.DataFrame,
    tables: Sequence[str],
    means: set,
    factors: Mapping[str, float] | None = None,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """`estimate` for many tables at once: `stats` has the columns `tables` naming each row's table
    (e.g. indicator and breakdown); `means` holds the table keys (tuples) whose columns are scores.
    One grouping pass for all of them; the result has the same columns as `estimate` (n_group is
    empty for means, se and rank for shares) plus the table columns."""
    keys = [*tables, "group", "col"]
    f = _cell_factors(stats, factors)
    used = f > 0
    n = stats["n"].to_numpy(dtype=float)
    s1 = stats["s1"].to_numpy(dtype=float)
    s2 = stats["s2"].to_numpy(dtype=float)
    work = stats[keys].copy()
    work["n_used"] = np.where(used, n, 0.0)
    work["s1_used"] = np.where(used, s1, 0.0)
    work["fn"], work["fs1"], work["f2n"], work["f2s1"], work["f2s2"] = f * n, f * s1, f * f * n, f * f * s1, f * f * s2
    sums = work.groupby(keys, sort=False, as_index=False, observed=True).sum()
    W, n_group = sums["fn"].to_numpy(), sums["n_used"].to_numpy()
    table_key = pd.MultiIndex.from_frame(sums[list(tables)]) if len(tables) > 1 else pd.Index(sums[tables[0]])
    is_mean = np.asarray([key in means for key in table_key], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sums["fs1"].to_numpy() / W
        n_eff = W**2 / sums["f2n"].to_numpy()
        deff = n_group / n_eff
        low, high = wilson_interval(mean, n_eff, level)
        spread = np.maximum(
            sums["f2s2"].to_numpy() - 2 * mean * sums["f2s1"].to_numpy() + mean**2 * sums["f2n"].to_numpy(), 0
        )
        se = np.where(n_group > 1, np.sqrt(n_group / np.where(n_group > 1, n_group - 1, 1) * spread) / W, np.nan)
        t = np.where(n_eff > 1, scipy_stats.t.ppf(0.5 + level / 2, np.where(n_eff > 1, n_eff - 1, 1)), np.nan)
    out = sums[keys].copy()
    out["n"] = np.where(is_mean, n_group, np.rint(sums["s1_used"].to_numpy())).astype(np.int64)
    out["n_group"] = pd.Series(n_group.astype(np.int64), dtype="Int64").mask(is_mean).to_numpy()
    out["estimate"] = mean
    out["se"] = np.where(is_mean, se, np.nan)
    out["ci_low"] = np.where(is_mean, mean - t * se, low)
    out["ci_high"] = np.where(is_mean, mean + t * se, high)
    out["n_eff"] = n_eff
    out["deff"] = deff
    ranks = out.groupby([*tables, "group"], sort=False)["estimate"].rank(method="min", ascending=False)
    out["rank"] = pd.Series(ranks.to_numpy(), dtype="Int64").where(is_mean).to_numpy()
    return out


def _cell_factors(stats: pd.DataFrame, factors: Mapping[str, float] | None) -> np.ndarray:
    if factors is None:
        return np.ones(len(stats))
    return stats["cell"].map(dict(factors)).fillna(0.0).to_numpy(dtype=float)
