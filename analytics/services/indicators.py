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

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.compute.estimates import indicator_proportions, means, proportions
from analytics.compute.suppression import suppress

# What goes when a cell, or its whole group, is hidden (see analytics.compute.suppression.publishable).
COUNT_COLUMNS = {"n", "n_chosen"}
RATE_COLUMNS = {"estimate", "se", "ci_low", "ci_high", "rank"}
GROUP_COLUMNS = {"n_group", "n_eff", "deff"}

ALL = "all"
OTHER_GROUP = "_other"
MISSING_GROUP = "_missing"
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


# Titles of the standard indicators (the platform's own words, translated on the page).
TITLES = {
    "return_intention": "Return intentions",
    "likelihood_5y": "Likelihood of living in Kazakhstan in five years",
    "barriers": "Barriers to return (mean score 1-5, higher = stronger barrier)",
    "engagement_modes": "Willingness to contribute, by mode",
    "return_factors": "What would bring people back",
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
    out["_by_all"] = pd.Series(ALL, index=frame.index, dtype="string")
    if "country_residence" in frame:
        countries = frame["country_residence"]
        for slug, (mapping, group_labels, label) in country_schemes.items():
            column = f"_by_{slug}"
            out[column] = countries.map(mapping).astype("string")
            found.append(
                Breakdown(f"country:{slug}", column, label, {code: {"en": text} for code, text in group_labels.items()})
            )
    for name in ("field_of_study", "programme", "sex"):
        meta = columns.get(name)
        if meta and meta["kind"] == "category":
            out[f"_by_{name}"] = frame[name].astype("string")
            found.append(Breakdown(name, f"_by_{name}", meta["label"], meta.get("value_labels") or {}))
    if "departure_year" in frame:
        out["_by_cohort"] = five_year_band(frame["departure_year"])
        found.append(Breakdown("cohort", "_by_cohort", {lang: "Cohort (year of departure)" for lang in LANGUAGES}))
    ages = None
    if "age" in frame:
        ages = frame["age"]
    elif "birth_year" in frame:
        ages = frame["submitted_at"].dt.year - frame["birth_year"]
    if ages is not None:
        out["_by_age_band"] = age_band(ages)
        found.append(Breakdown("age_band", "_by_age_band", {lang: "Age band" for lang in LANGUAGES}))
    return frame.assign(**out), found


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

    def content_hash(self) -> str:
        payload = {"cells": self.cells, "published": self.published, "meta": self.meta, "kind": self.indicator.kind}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 10)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def _estimate(indicator: Indicator, frame: pd.DataFrame, by: str, weight: str | None) -> pd.DataFrame:
    """Cells of one table: group, col (category or item), n, estimate, interval, n_eff, deff."""
    if indicator.kind == "distribution":
        result = proportions(frame, indicator.columns[0], by=[by], weight=weight)
        result = result.rename(columns={"category": "col"})
    elif indicator.kind == "multi":
        result = indicator_proportions(frame, indicator.columns, by=[by], weight=weight).rename(columns={"item": "col"})
        # The respondents behind a share are those who chose the option.
        result["n_chosen"] = result["n"]
    else:
        result = means(frame, indicator.columns, by=[by], weight=weight).rename(columns={"item": "col"})
    return result.rename(columns={by: "group"})


def _collapse_small_groups(groups: pd.Series, threshold: int) -> pd.Series:
    """Groups with fewer respondents than `threshold` are shown together as one 'other' row."""
    sizes = groups.value_counts(dropna=True)
    small = sizes[sizes < threshold].index
    if len(small) == 0:
        return groups
    return groups.where(~groups.isin(small), OTHER_GROUP)


def _publish(
    indicator: Indicator,
    cells: pd.DataFrame,
    threshold: int,
    single_row: bool,
    linked_columns: set[str],
) -> dict[str, Any]:
    """Cells after primary and secondary suppression, with the margins published beside them."""
    additive_rows = indicator.kind == "distribution"
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
            result.cells["group"], result.cells["col"], result.cells["suppressed"], result.cells["reason"], strict=True
        )
    }
    hidden_groups = set()
    if result.row_totals is not None:
        hidden_groups = {
            g for g, h in zip(result.row_totals["group"], result.row_totals["suppressed"], strict=True) if h
        }
    published = []
    for record in cells.to_dict("records"):
        cell_hidden, why = status.get((record["group"], record["col"]), (True, "primary"))
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
    margins = {
        "rows": _margin_records(result.row_totals, "group"),
        "cols": _margin_records(result.col_totals, "col"),
        "total": _margin_record(result.grand_total),
    }
    return {
        "threshold": threshold,
        "cells": published,
        "margins": margins,
        "suppressed": {"primary": int(result.n_primary), "secondary": int(result.n_secondary)},
    }


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
    frame: pd.DataFrame,
    indicators: list[Indicator],
    groupings: list[Breakdown],
    *,
    weighting: str,
    weight: str | None,
    thresholds: dict[str, int],
    meta: dict[str, Any],
    columns: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[Table]:
    """Every (indicator, breakdown) table for one weighting, suppressed per audience."""
    out: list[Table] = []
    # Scores arrive as answer codes ("1".."5"): numbers once, not once per table.
    scores = {c: pd.to_numeric(frame[c], errors="coerce") for i in indicators if i.kind == "mean" for c in i.columns}
    if scores:
        frame = frame.assign(**scores)
    total = max(1, len(indicators) * len(groupings))
    done = 0
    for indicator in indicators:
        # The whole-sample table first: its suppressed columns are suppressed in every
        # breakdown too (their column sums would give them away).
        overall_hidden: dict[str, set[str]] = {}
        for breakdown in groupings:
            needed = [breakdown.column, *indicator.columns, *([weight] if weight else [])]
            grouped = frame[needed]
            if breakdown.code != ALL:
                # Everyone is in some group (those without an answer too), so a breakdown's
                # column sums equal the whole-sample table and reveal nothing by difference.
                grouped = grouped.assign(**{breakdown.column: grouped[breakdown.column].fillna(MISSING_GROUP)})
                # Groups too small for the strictest audience are shown together as 'other'
                # (one set of groups for every audience; each then suppresses at its threshold).
                groups = _collapse_small_groups(grouped[breakdown.column], max(thresholds.values()))
                grouped = grouped.assign(**{breakdown.column: groups})
            cells = _estimate(indicator, grouped, breakdown.column, weight)
            published = {}
            for audience, threshold in thresholds.items():
                result = _publish(
                    indicator,
                    cells,
                    threshold,
                    single_row=breakdown.code == ALL,
                    linked_columns=overall_hidden.get(audience, set()) if breakdown.code != ALL else set(),
                )
                if breakdown.code == ALL:
                    overall_hidden[audience] = {c["col"] for c in result["cells"] if c["suppressed"]}
                published[audience] = result
            n = int(len(grouped))
            table_meta = {
                **meta,
                **_labels(indicator, columns or {}),
                "n": n,
                "groups": sorted(str(g) for g in cells["group"].dropna().unique()),
                "columns": list(dict.fromkeys(str(c) for c in cells["col"])),
            }
            if weight:
                weights = grouped[weight].to_numpy(dtype="float64")
                n_eff = float(weights.sum() ** 2 / (weights**2).sum()) if len(weights) else 0.0
                table_meta["n_eff"] = round(n_eff, 1)
                table_meta["deff"] = round(n / n_eff, 3) if n_eff else None
            cleaned = [{key: _clean(value) for key, value in record.items()} for record in cells.to_dict("records")]
            out.append(Table(indicator, breakdown, weighting, cleaned, published, table_meta))
            done += 1
            if progress:
                progress(done / total)
    return out
