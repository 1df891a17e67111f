"""The standard indicator set of a wave's frame: pure functions on frames (no ORM, no Celery).

``standard_indicators`` finds, among the frame's columns, the variables the platform's
instruments use (return intention, five-year likelihood, barrier scores, willingness
to engage, what would bring people back); another survey's fields with the same names
get the same indicators. ``breakdowns`` derives the grouping columns (country groups
of the country of residence, field, programme, cohort, age band, sex) that exist.
``tables`` computes every (indicator, breakdown) table for one weighting and, per
audience, what may be published after small-cell suppression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext_noop

from analytics.compute.cubes import add_stats, coded, estimate_many, table_arrays
from analytics.compute.suppression import suppress

# What goes when a cell, or its whole group, is hidden (see analytics.compute.suppression.publishable).
COUNT_COLUMNS = {"n", "n_chosen"}
RATE_COLUMNS = {"estimate", "se", "ci_low", "ci_high", "rank"}
GROUP_COLUMNS = {"n_group", "n_eff", "deff"}

ALL = "all"
OTHER_GROUP = "_other"
MISSING_GROUP = "_missing"
# The statistics of respondents per weighting cell travel with the tables' under this name.
RESPONDENTS = "_respondents"
LANGUAGES = ("kk", "ru", "en")


@dataclass
class Indicator:
    code: str
    kind: str  # distribution, multi, mean
    columns: list[str]
    label: dict[str, str]
    field: str


@dataclass
class Breakdown:
    code: str
    column: str
    label: dict[str, str]
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)


# The platform's own words, stored in English and translated where they are shown.
COHORT = gettext_noop("Cohort (year of departure)")
AGE_BAND = gettext_noop("Age band")
TITLES = {
    "return_intention": gettext_noop("Return intentions"),
    "likelihood_5y": gettext_noop("Likelihood of living in Kazakhstan in five years"),
    "barriers": gettext_noop("Barriers to return (mean score 1-5, higher = stronger barrier)"),
    "engagement_modes": gettext_noop("Willingness to contribute, by mode"),
    "return_factors": gettext_noop("What would bring people back"),
}
STANDARD = (
    ("return_intention", "distribution", "return_intention"),
    ("likelihood_5y", "distribution", "likelihood_5y"),
    ("study_status", "distribution", "respondent_status"),
    ("barriers", "mean", "barrier_"),
    ("engagement_modes", "multi", "engagement_modes"),
    ("return_factors", "multi", "return_factors"),
)


def standard_indicators(columns: dict[str, dict[str, Any]]) -> tuple[list[Indicator], list[str]]:
    """The standard indicators the frame can give, and the codes it cannot (with the missing field)."""
    found, missing = [], []
    for code, kind, source in STANDARD:
        if kind == "distribution":
            meta = columns.get(source)
            if meta and meta["kind"] == "category":
                found.append(Indicator(code, kind, [source], meta["label"], source))
            else:
                missing.append(f"{code}: no single-choice field '{source}'")
        elif kind == "multi":
            items = [name for name, meta in columns.items() if meta["kind"] == "indicator" and meta["field"] == source]
            if items:
                label = _field_label(columns, items[0])
                found.append(Indicator(code, kind, items, label, source))
            else:
                missing.append(f"{code}: no multiple-choice field '{source}'")
        else:
            items = [
                name
                for name, meta in columns.items()
                if name.startswith(source) and meta["kind"] == "category" and _is_scale(meta)
            ]
            if items:
                found.append(Indicator(code, kind, items, {lang: TITLES[code] for lang in LANGUAGES}, source))
            else:
                missing.append(f"{code}: no scored fields named '{source}*'")
    return found, missing


def _field_label(columns: dict[str, dict[str, Any]], name: str) -> dict[str, str]:
    label = columns[name]["label"]
    return {lang: text.rsplit(": ", 1)[0] for lang, text in label.items()}


def _is_scale(meta: dict[str, Any]) -> bool:
    codes = list(meta.get("value_labels") or {})
    return bool(codes) and all(code.lstrip("-").isdigit() for code in codes)


# --------------------------------------------------------------------------- breakdowns


def five_year_band(years: pd.Series) -> pd.Series:
    start = (years // 5) * 5
    text = start.astype("Int64").astype("string") + "-" + (start + 4).astype("Int64").astype("string")
    return text.where(years.notna())


def age_band(ages: pd.Series) -> pd.Series:
    bins = [0, 25, 30, 35, 45, 55, 200]
    labels = ["<25", "25-29", "30-34", "35-44", "45-54", "55+"]
    return pd.cut(ages, bins=bins, labels=labels, right=False).astype("string")


def breakdowns(
    frame: pd.DataFrame,
    columns: dict[str, dict[str, Any]],
    country_schemes: dict[str, tuple[dict[str, str], dict[str, str], dict[str, str]]],
) -> tuple[pd.DataFrame, list[Breakdown]]:
    """Add one grouping column per available breakdown; `country_schemes` maps a scheme slug to
    (country -> group code, group code -> label, scheme label per language)."""
    out = {}
    found = [Breakdown(ALL, "_by_all", {lang: ALL for lang in LANGUAGES})]
    out["_by_all"] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[ALL])
    if "country_residence" in frame:
        countries = frame["country_residence"]
        for slug, (mapping, group_labels, label) in country_schemes.items():
            column = f"_by_{slug}"
            out[column] = _as_category(countries).map(mapping, na_action="ignore")
            found.append(
                Breakdown(f"country:{slug}", column, label, {code: {"en": text} for code, text in group_labels.items()})
            )
    for name in ("field_of_study", "programme", "sex"):
        meta = columns.get(name)
        if meta and meta["kind"] == "category":
            out[f"_by_{name}"] = _as_category(frame[name])
            found.append(Breakdown(name, f"_by_{name}", meta["label"], meta.get("value_labels") or {}))
    if "departure_year" in frame:
        out["_by_cohort"] = five_year_band(frame["departure_year"])
        found.append(Breakdown("cohort", "_by_cohort", {lang: COHORT for lang in LANGUAGES}))
    ages = None
    if "age" in frame:
        ages = frame["age"]
    elif "birth_year" in frame:
        ages = frame["submitted_at"].dt.year - frame["birth_year"]
    if ages is not None:
        out["_by_age_band"] = age_band(ages)
        found.append(Breakdown("age_band", "_by_age_band", {lang: AGE_BAND for lang in LANGUAGES}))
    # Everyone is in some group (those without an answer too), so a breakdown's column
    # sums equal the whole-sample table and reveal nothing by difference.
    filled = {name: _filled(values) for name, values in out.items()}
    return frame.assign(**filled), found


def _as_category(values) -> pd.Series:
    values = pd.Series(values) if not isinstance(values, pd.Series) else values
    return values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")


def _filled(values) -> pd.Categorical:
    """A grouping as categories, with those who have no value in a group of their own (cheap on
    a million rows: only the categories are touched, not each row)."""
    values = _as_category(values).astype("category")
    categories = [str(c) for c in values.cat.categories]
    codes = values.cat.codes.to_numpy()
    if (codes < 0).any():
        codes = np.where(codes < 0, len(categories), codes)
        categories = [*categories, MISSING_GROUP]
    if len(set(categories)) != len(categories):  # categories that map to the same group
        return pd.Categorical(np.asarray(categories, dtype=object)[codes])
    return pd.Categorical.from_codes(codes, categories=categories)


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    indicator: Indicator
    breakdown: Breakdown
    weighting: str
    cells: list[dict[str, Any]]
    published: dict[str, dict[str, Any]]
    meta: dict[str, Any]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.indicator.code, self.breakdown.code, self.weighting)


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 10)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def stats_of(
    rows: pd.DataFrame,
    indicators: list[Indicator],
    groupings: list[Breakdown],
    cells: np.ndarray,
    cell_labels: list[str],
) -> pd.DataFrame:
    """The sufficient statistics of every (indicator, breakdown) table over `rows`, in one frame
    with `indicator` and `breakdown` columns, plus the respondents per weighting cell."""
    parts = []
    categorical = [b.column for b in groupings] + [i.columns[0] for i in indicators if i.kind == "distribution"]
    numeric = [c for i in indicators if i.kind != "distribution" for c in i.columns]
    codes, numbers = coded(rows, categorical, numeric)
    everyone = (np.zeros(len(rows), dtype=np.int64), np.asarray([ALL], dtype=object))
    codes["_all"] = everyone
    tables = [(RESPONDENTS, ALL, "distribution", ["_all"], "_all")]
    tables += [(i.code, b.code, i.kind, i.columns, b.column) for i in indicators for b in groupings]
    for indicator, breakdown, kind, columns, by in tables:
        arrays = table_arrays(rows, kind, columns, by=by, cells=cells, cell_labels=cell_labels, codes=codes,
                              numbers=numbers)  # fmt: skip
        size = len(arrays["n"])
        arrays["indicator"] = np.full(size, indicator, dtype=object)
        arrays["breakdown"] = np.full(size, breakdown, dtype=object)
        parts.append(arrays)
    return pd.DataFrame({name: np.concatenate([p[name] for p in parts]) for name in parts[0]})


def merge_stats(*parts: tuple[pd.DataFrame, int]) -> pd.DataFrame:
    """Statistics of several sets of rows added (sign 1) or taken away (sign -1), table by table."""
    return add_stats(*parts, keys=["indicator", "breakdown", "cell", "group", "col"])


def _collapse_small_groups(stats: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """In every breakdown, groups with fewer respondents than `threshold` are shown together as
    one 'other' group (a group's size: the most respondents behind any of its columns)."""
    tables = ["indicator", "breakdown"]
    sizes = stats.groupby([*tables, "group", "col"], sort=False)["n"].sum().groupby(level=[0, 1, 2], sort=False).max()
    small = sizes[(sizes < threshold) & (sizes.index.get_level_values(1) != ALL)]
    if small.empty:
        return stats
    flagged = pd.MultiIndex.from_frame(stats[[*tables, "group"]]).isin(small.index)
    merged = stats.assign(group=stats["group"].where(~flagged, OTHER_GROUP))
    return merged.groupby([*tables, "cell", "group", "col"], sort=False, as_index=False)[["n", "s1", "s2"]].sum()


def _publish(
    indicator: Indicator,
    cells: pd.DataFrame,
    threshold: int,
    single_row: bool,
    linked_columns: set[str],
    records: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Cells after primary and secondary suppression, with the margins published beside them."""
    additive_rows = indicator.kind == "distribution"
    records = records if records is not None else cells.to_dict("records")
    row_sums, col_sums = _sums(records)
    margins_n = (list(row_sums.values()) if additive_rows else []) + (list(col_sums.values()) if not single_row else [])
    if additive_rows:
        margins_n.append(sum(row_sums.values()))
    small = [v for v in (*(int(r["n"]) for r in records), *margins_n) if 0 < v < threshold]
    if not small and not linked_columns:
        # Nothing below the threshold anywhere: nothing to hide, nothing to protect.
        status, hidden_groups, result = {}, set(), None
    else:
        counts = cells[["group", "col", "n"]].copy()
        if linked_columns:
            counts["force"] = counts["col"].isin(linked_columns)
        result = suppress(
            counts,
            row="group",
            col="col",
            n="n",
            threshold=threshold,
            publish_row_totals=additive_rows,
            publish_col_totals=not single_row,
            publish_grand_total=additive_rows,
            force="force" if linked_columns else None,
        )
        # Counts and rates of suppressed cells go, and every figure of a group whose size is
        # hidden (a share reveals its denominator). Tables are small: plain Python from here.
        status = {
            (g, c): (bool(hidden), str(why))
            for g, c, hidden, why in zip(
                result.cells["group"], result.cells["col"], result.cells["suppressed"], result.cells["reason"],
                strict=True,
            )
        }  # fmt: skip
        hidden_groups = set()
        if result.row_totals is not None:
            hidden_groups = {
                g for g, h in zip(result.row_totals["group"], result.row_totals["suppressed"], strict=True) if h
            }
    published = []
    for record in records:
        cell_hidden, why = (
            status.get((record["group"], record["col"]), (False, ""))
            if result is None
            else status.get((record["group"], record["col"]), (True, "primary"))
        )
        group_hidden = record["group"] in hidden_groups
        if not additive_rows and "n_group" in record and (record.get("n_group") or 0) < threshold:
            # Group sizes of tables that do not add up are published beside each cell:
            # a group smaller than the threshold shows none of its figures.
            group_hidden = True
        out = {}
        for key, value in record.items():
            if key in ("group", "col"):
                out[key] = value
            elif (
                key in COUNT_COLUMNS | RATE_COLUMNS
                and (cell_hidden or group_hidden)
                or key in GROUP_COLUMNS
                and group_hidden
            ):
                out[key] = None
            else:
                out[key] = _clean(value)
        out["suppressed"] = cell_hidden or group_hidden
        out["reason"] = why if cell_hidden else ("group" if group_hidden else "")
        published.append(out)
    if result is None:
        margins = {
            "rows": [{"group": g, "n": n, "suppressed": False} for g, n in row_sums.items()] if additive_rows else [],
            "cols": [{"col": c, "n": n, "suppressed": False} for c, n in col_sums.items()] if not single_row else [],
            "total": {"n": sum(row_sums.values()), "suppressed": False} if additive_rows else None,
        }
        suppressed = {"primary": 0, "secondary": 0}
    else:
        margins = {
            "rows": _margin_records(result.row_totals, "group"),
            "cols": _margin_records(result.col_totals, "col"),
            "total": _margin_record(result.grand_total),
        }
        suppressed = {"primary": int(result.n_primary), "secondary": int(result.n_secondary)}
    return {"threshold": threshold, "cells": published, "margins": margins, "suppressed": suppressed}


def _sums(records: list[dict[str, Any]]) -> tuple[dict[Any, int], dict[Any, int]]:
    """Respondents per row (group) and per column of a table's cells."""
    rows: dict[Any, int] = {}
    cols: dict[Any, int] = {}
    for record in records:
        n = int(record["n"])
        rows[record["group"]] = rows.get(record["group"], 0) + n
        cols[record["col"]] = cols.get(record["col"], 0) + n
    return rows, cols


def _margin_records(frame: pd.DataFrame | None, key: str) -> list[dict[str, Any]]:
    if frame is None:
        return []
    label = frame.columns[0]
    return [
        {key: name, "n": None if hidden else int(n), "suppressed": bool(hidden)}
        for name, n, hidden in zip(frame[label], frame["n"], frame["suppressed"], strict=True)
    ]


def _margin_record(total: Any) -> dict[str, Any] | None:
    if total is None:
        return None
    hidden = bool(getattr(total, "suppressed", False))
    return {"n": None if hidden else _clean(getattr(total, "n", None)), "suppressed": hidden}


def _labels(indicator: Indicator, columns: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Names of the table's columns per language: answer labels, or item labels."""
    if indicator.kind == "distribution":
        return {"value_labels": (columns.get(indicator.columns[0]) or {}).get("value_labels") or {}}
    items = {}
    for name in indicator.columns:
        meta = columns.get(name) or {}
        label = meta.get("label") or {}
        if indicator.kind == "multi":
            label = {lang: text.split(": ", 1)[-1] for lang, text in label.items()}
        items[name] = label
    return {"item_labels": items}


def tables(
    stats: pd.DataFrame,
    indicators: list[Indicator],
    groupings: list[Breakdown],
    *,
    weighting: str,
    factors: dict[str, float] | None,
    thresholds: dict[str, int],
    meta: dict[str, Any],
    columns: dict[str, dict[str, Any]] | None = None,
) -> list[Table]:
    """Every (indicator, breakdown) table for one weighting (factors per cell; None: unweighted),
    suppressed per audience. All tables are estimated in one pass over their statistics."""
    out: list[Table] = []
    wanted = {i.code for i in indicators}
    by_code = {i.code: i for i in indicators}
    breakdown_of = {b.code: b for b in groupings}
    respondents = stats[stats["indicator"] == RESPONDENTS]
    f = _factors(respondents, factors)
    n = respondents["n"].to_numpy(dtype=float)
    table_n = int(n[f > 0].sum())
    n_eff = float((f * n).sum() ** 2 / (f * f * n).sum()) if factors is not None and (f * f * n).sum() > 0 else None
    part = stats[stats["indicator"].isin(wanted) & stats["breakdown"].isin(breakdown_of)]
    if part.empty:
        return out
    part = _collapse_small_groups(part, max(thresholds.values()))
    means_of = {(i.code, b.code) for i in indicators if i.kind == "mean" for b in groupings}
    estimates = estimate_many(part, ["indicator", "breakdown"], means_of, factors)
    if factors is not None:
        estimates = estimates[estimates["n_group"].fillna(estimates["n"]) > 0]
    pieces = dict(iter(estimates.groupby(["indicator", "breakdown"], sort=False)))
    for indicator in indicators:
        order = _col_order(indicator, columns or {})
        drop = ["indicator", "breakdown"] + (["se", "rank"] if indicator.kind != "mean" else ["n_group"])
        # The whole-sample table first: its suppressed columns are suppressed in every
        # breakdown too (their column sums would give them away).
        overall_hidden: dict[str, set[str]] = {}
        for breakdown in groupings:
            cells = pieces.get((indicator.code, breakdown.code))
            if cells is None or cells.empty:
                continue
            records = _ordered(cells.drop(columns=drop).to_dict("records"), order)
            cells = pd.DataFrame.from_records(records) if records else cells
            published = {}
            for audience, threshold in thresholds.items():
                result = _publish(
                    indicator,
                    cells,
                    threshold,
                    single_row=breakdown.code == ALL,
                    linked_columns=overall_hidden.get(audience, set()) if breakdown.code != ALL else set(),
                    records=records,
                )
                if breakdown.code == ALL:
                    overall_hidden[audience] = {c["col"] for c in result["cells"] if c["suppressed"]}
                published[audience] = result
            table_meta = {
                **meta,
                **_labels(indicator, columns or {}),
                "n": table_n,
                "groups": sorted(str(g) for g in cells["group"].dropna().unique()),
                "columns": list(dict.fromkeys(str(c) for c in cells["col"])),
            }
            if n_eff is not None:
                table_meta["n_eff"] = round(n_eff, 1)
                table_meta["deff"] = round(table_n / n_eff, 3) if n_eff else None
            cleaned = [{key: _clean(value) for key, value in record.items()} for record in records]
            out.append(Table(by_code[indicator.code], breakdown_of[breakdown.code], weighting, cleaned, published,
                             table_meta))  # fmt: skip
    return out


def _factors(stats: pd.DataFrame, factors: dict[str, float] | None) -> np.ndarray:
    if factors is None:
        return np.ones(len(stats))
    return stats["cell"].map(factors).fillna(0.0).to_numpy(dtype=float)


def _ordered(records: list[dict[str, Any]], col_order: list[str]) -> list[dict[str, Any]]:
    """Groups sorted (special groups last), columns in the questionnaire's order."""
    rank = {name: i for i, name in enumerate(col_order)}

    def key(record: dict[str, Any]) -> tuple:
        group, col = str(record["group"]), record["col"]
        return (group.startswith("_"), group, rank.get(col, len(rank)), str(col))

    return sorted(records, key=key)


def _col_order(indicator: Indicator, columns: dict[str, dict[str, Any]]) -> list[str]:
    if indicator.kind == "distribution":
        return list((columns.get(indicator.columns[0]) or {}).get("value_labels") or {})
    return list(indicator.columns)
