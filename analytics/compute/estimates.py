"""Weighted estimates with confidence intervals, by group: shares of a categorical answer, shares
choosing each option of a select_multiple question, and means of scores.

    proportions(frame, "destination", by=["cohort"], weight="w")
        -> cohort, category, n, n_group, estimate, ci_low, ci_high, n_eff, deff
    indicator_proportions(frame, ["barrier_visa", "barrier_cost"], by=["cohort"], weight="w")
        -> cohort, item, n, n_group, estimate, ci_low, ci_high, n_eff, deff
    means(frame, ["score_pay", "score_housing"], by=["cohort"], weight="w")
        -> cohort, item, n, estimate, se, ci_low, ci_high, n_eff, deff, rank

n counts respondents (unweighted); estimates use the weights; n_eff = (sum w)^2 / sum w^2 (Kish)
over the respondents behind the estimate and deff = n / n_eff. A share's interval is the Wilson
score interval with n replaced by n_eff (Korn-Graubard style), which is the plain Wilson interval
when the weights are equal. A mean's standard error is the linearised (ratio-estimator) one,
sqrt(n / (n - 1) * sum w^2 (y - ybar)^2) / sum w, and its interval uses t with n_eff - 1 degrees
of freedom. Both ignore clustering and stratification: the weights are the whole design here.

Rows with a missing group value are left out; a missing answer is left out of that item only.
Weights must be present, finite and non-negative. Every group and every category (or item)
gets a row, zero counts included, so a table built from the result has no holes. Everything is
one pass of np.bincount over group codes per item: with 1,000,000 rows and 20 groups, shares of
10 categories take about 0.1 s, means of 10 scores 0.3 s and 10 indicator columns 0.5 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["indicator_proportions", "means", "proportions", "wilson_interval"]


def wilson_interval(p: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a share p out of n (n may be an effective, non-integer n)."""
    z = stats.norm.ppf(0.5 + level / 2)
    p, n = np.asarray(p, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    # At p = 0 (or 1) the bound is exactly 0 (or 1); the subtraction would leave rounding dust.
    return np.where(p == 0, 0.0, np.clip(centre - half, 0, 1)), np.where(p == 1, 1.0, np.clip(centre + half, 0, 1))


def proportions(
    frame: pd.DataFrame, outcome: str, by: Sequence[str] | None, weight: str | None, level: float = 0.95
) -> pd.DataFrame:
    """Weighted share of each category of `outcome` in each group (one row per group and category)."""
    groups, keys = _groups(frame, by, reserved="category")
    answers = frame[outcome]
    if isinstance(answers.dtype, pd.CategoricalDtype):
        codes, categories = answers.cat.codes.to_numpy(), answers.cat.categories
    else:
        codes, categories = _factorize(answers)
    valid = (codes >= 0) & (groups >= 0)
    g, k, w = groups[valid], codes[valid], _weights(frame, weight)[valid]
    size = len(keys) * len(categories)
    n = np.bincount(g * len(categories) + k, minlength=size).reshape(len(keys), -1)
    total = np.bincount(g * len(categories) + k, weights=w, minlength=size).reshape(len(keys), -1)
    sums = _GroupSums(n.sum(axis=1), total.sum(axis=1), np.bincount(g, weights=w * w, minlength=len(keys)))
    table = _repeat(keys, len(categories), "category", categories)
    return table.assign(**_share_columns(n, total, sums, level))


def indicator_proportions(
    frame: pd.DataFrame, columns: Sequence[str], by: Sequence[str] | None, weight: str | None, level: float = 0.95
) -> pd.DataFrame:
    """Weighted share choosing each option of a select_multiple question (0/1 indicator columns)."""
    groups, keys = _groups(frame, by, reserved="item")
    weights = _weights(frame, weight)
    sums: dict[str, list[np.ndarray]] = {"chosen": [], "chosen_w": [], "n": [], "total": [], "squares": []}
    for column in columns:
        y = _indicator(frame, column)
        valid = ~np.isnan(y) & (groups >= 0)
        g, w, picked = groups[valid], weights[valid], y[valid] == 1
        sums["chosen"].append(np.bincount(g[picked], minlength=len(keys)))
        sums["chosen_w"].append(np.bincount(g[picked], weights=w[picked], minlength=len(keys)))
        sums["n"].append(np.bincount(g, minlength=len(keys)))
        sums["total"].append(np.bincount(g, weights=w, minlength=len(keys)))
        sums["squares"].append(np.bincount(g, weights=w * w, minlength=len(keys)))
    # (groups, items) arrays; the shares of an item use only the respondents who answered it.
    by_item = {k: np.column_stack(v) if v else np.zeros((len(keys), 0)) for k, v in sums.items()}
    answered = _GroupSums(by_item["n"], by_item["total"], by_item["squares"])
    table = _repeat(keys, len(columns), "item", pd.Index(columns))
    return table.assign(**_share_columns(by_item["chosen"].astype(np.int64), by_item["chosen_w"], answered, level))


def means(
    frame: pd.DataFrame, columns: Sequence[str], by: Sequence[str] | None, weight: str | None, level: float = 0.95
) -> pd.DataFrame:
    """Weighted mean of each column in each group, with its rank in the group (1 = highest)."""
    groups, keys = _groups(frame, by, reserved="item")
    weights = _weights(frame, weight)
    parts = [_mean_of(frame[c].to_numpy(dtype=float, na_value=np.nan), groups, weights, len(keys)) for c in columns]
    stacked = {
        name: np.column_stack([p[name] for p in parts]).reshape(-1) if parts else np.zeros(0) for name in _MEAN_PARTS
    }
    table = _repeat(keys, len(columns), "item", pd.Index(columns))
    n, estimate, se, n_eff = stacked["n"], stacked["estimate"], stacked["se"], stacked["n_eff"]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(n_eff > 1, stats.t.ppf(0.5 + level / 2, np.where(n_eff > 1, n_eff - 1, 1)), np.nan)
        deff = n / n_eff
    table = table.assign(
        n=np.asarray(n, dtype=np.int64),
        estimate=estimate,
        se=se,
        ci_low=estimate - t * se,
        ci_high=estimate + t * se,
        n_eff=n_eff,
        deff=deff,
    )
    group_of_row = np.repeat(np.arange(len(keys)), len(columns))
    table["rank"] = table["estimate"].groupby(group_of_row).rank(method="min", ascending=False).astype("Int64")
    return table


_MEAN_PARTS = ("n", "estimate", "se", "n_eff")


def _mean_of(y: np.ndarray, groups: np.ndarray, weights: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Weighted mean, linearised SE and Kish n_eff of one column in every group (two passes)."""
    valid = ~np.isnan(y) & (groups >= 0)
    g, w, y = groups[valid], weights[valid], y[valid]
    n = np.bincount(g, minlength=size)
    total = np.bincount(g, weights=w, minlength=size)
    squares = np.bincount(g, weights=w * w, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(g, weights=w * y, minlength=size) / total
        # Residuals about the group's own mean (second pass), so no cancellation in sum w^2 r^2.
        spread = np.bincount(g, weights=np.square(w * (y - mean[g])), minlength=size)
        se = np.where(n > 1, np.sqrt(n / np.where(n > 1, n - 1, 1) * spread) / total, np.nan)
        n_eff = total**2 / squares
    return {"n": n, "estimate": mean, "se": se, "n_eff": n_eff}


@dataclass(frozen=True)
class _GroupSums:
    """Per group (or per group and item): respondents, sum of weights, sum of squared weights."""

    n: np.ndarray
    total: np.ndarray
    squares: np.ndarray


def _share_columns(n: np.ndarray, total: np.ndarray, sums: _GroupSums, level: float) -> dict[str, np.ndarray]:
    """The output columns of a table of shares; n and total are (groups, categories) arrays and the
    group sums are per group (one column) or per group and item (same shape as n)."""
    shape = n.shape

    def spread(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a.reshape(shape[0], -1), shape).reshape(-1)

    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = (total / sums.total.reshape(shape[0], -1)).reshape(-1)
        n_eff = spread(sums.total**2 / sums.squares)
        n_group = spread(sums.n)
        low, high = wilson_interval(estimate, n_eff, level)
        deff = n_group / n_eff
    return {
        "n": n.reshape(-1).astype(np.int64),
        "n_group": n_group.astype(np.int64),
        "estimate": estimate,
        "ci_low": low,
        "ci_high": high,
        "n_eff": n_eff,
        "deff": deff,
    }


def _groups(frame: pd.DataFrame, by: Sequence[str] | None, *, reserved: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's group number (-1 when a group value is missing) and the groups' key values."""
    if not by:
        return np.zeros(len(frame), dtype=np.intp), pd.DataFrame(index=pd.RangeIndex(1))
    if reserved in by:
        raise ValueError(f"a group column may not be called {reserved!r}: the output uses that name")
    grouped = frame.groupby(list(by), sort=True, dropna=True, observed=True)
    codes = grouped.ngroup().to_numpy(dtype=float, na_value=np.nan)
    keys = grouped.size().index.to_frame(index=False)
    return np.where(np.isnan(codes), -1, codes).astype(np.intp), keys


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Category codes (-1 for missing) with the categories sorted when they can be."""
    try:
        codes, categories = pd.factorize(values, sort=True)
    except TypeError:  # mixed types that do not sort: keep the order of first appearance
        codes, categories = pd.factorize(values, sort=False)
    return codes, pd.Index(categories)


def _weights(frame: pd.DataFrame, weight: str | None) -> np.ndarray:
    if weight is None:
        return np.ones(len(frame))
    w = frame[weight].to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"weight column {weight!r} must be present, finite and non-negative on every row")
    return w


def _indicator(frame: pd.DataFrame, column: str) -> np.ndarray:
    y = frame[column].to_numpy(dtype=float, na_value=np.nan)
    if not np.isin(y[~np.isnan(y)], (0.0, 1.0)).all():
        raise ValueError(f"indicator column {column!r} must hold only 0, 1 or missing")
    return y


def _repeat(keys: pd.DataFrame, times: int, name: str, labels: pd.Index) -> pd.DataFrame:
    """Every group's keys repeated for each category/item, with the category/item column added."""
    table = keys.loc[np.repeat(keys.index.to_numpy(), times)].reset_index(drop=True)
    table[name] = np.tile(np.asarray(labels, dtype=object), len(keys))
    return table
