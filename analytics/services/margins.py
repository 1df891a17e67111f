"""Raking margins from official series: a wave's plan names the field, the grouping and the series.

A margin spec (one item of ``WaveAnalysis.margins``)::

    {"field": "country_residence", "scheme": "destination-4",
     "indicator": "OE_5T8", "time_period": "2019", "other": "OTHER"}

Each respondent's answer to the field is placed in a group of the scheme; countries the
scheme does not list (and the series' ``_O``, all others) go to the ``other`` group. The
series' values by counterpart country (latest vintage, other dimensions at their total)
are summed into the same groups. The report says what the official series lacks: a
country that respondents name, that the scheme places in a group, but for which the series
has no value that period (the USA in the 2019 UIS extract) is named with its respondents,
never read as zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics.compute.weighting import MarginError


@dataclass
class MarginPlan:
    field: str
    scheme: str
    indicator: str
    time_period: str
    other: str | None
    mapping: dict[str, str]


@dataclass
class MarginBuild:
    field: str
    targets: dict[str, float]
    source: dict[str, Any]
    notes: list[dict[str, Any]] = field(default_factory=list)


def margin_plan(spec: dict[str, Any], mapping: dict[str, str]) -> MarginPlan:
    for key in ("field", "scheme", "indicator", "time_period"):
        if not spec.get(key):
            raise MarginError(f"A margin needs '{key}': {spec}")
    if not mapping:
        raise MarginError(f"The country-group scheme '{spec['scheme']}' does not exist or is empty.")
    return MarginPlan(spec["field"], spec["scheme"], spec["indicator"], str(spec["time_period"]), spec.get("other"),
                      mapping)  # fmt: skip


def build_margin(plan: MarginPlan, answers: pd.Series, observations: pd.DataFrame) -> MarginBuild:
    """Targets for one margin. `answers`: respondents per answer value of the field (value -> count);
    `observations` has counterpart_area, obs_value, unit_mult and source columns."""
    name, other, period, indicator = plan.field, plan.other, plan.time_period, plan.indicator
    if observations.empty:
        raise MarginError(f"No official values of {indicator} for {period}: the margin on '{name}' cannot be built.")
    rows = observations[observations["counterpart_area"] != "_T"]
    values = rows["obs_value"].astype("float64") * (10.0 ** rows["unit_mult"].astype("float64"))
    areas = rows["counterpart_area"]
    grouped_areas = areas.map(lambda code: plan.mapping.get(code) or other)
    unplaced = sorted(set(areas[grouped_areas.isna()]))
    if unplaced:
        raise MarginError(
            f"{indicator} {period}: the scheme '{plan.scheme}' places no group for "
            + ", ".join(unplaced)
            + " and the margin names no 'other' group"
        )
    targets = values.groupby(grouped_areas.to_numpy()).sum().to_dict()
    lost = sorted(str(value) for value in answers.index if plan.mapping.get(value, other) is None)
    if lost:
        raise MarginError(
            f"Respondents in {', '.join(lost)} belong to no group of '{plan.scheme}' and the margin names no 'other' group."
        )
    listed = set(areas)
    notes: list[dict[str, Any]] = []
    for code, count in answers.sort_values(ascending=False).items():
        group = plan.mapping.get(code)
        if group is not None and code not in listed and count > 0:
            # Kept as data and worded where it is shown, in the reader's language.
            notes.append({"kind": "lacking", "country": str(code), "respondents": int(count), "indicator": indicator,
                          "period": period, "group": group})  # fmt: skip
    source = {
        "indicator": indicator,
        "time_period": period,
        "scheme": plan.scheme,
        "sources": sorted(set(observations.get("source", pd.Series(dtype=str)).dropna().astype(str)))[:3],
        "vintages": sorted(set(observations.get("vintage_label", pd.Series(dtype=str)).dropna().astype(str)))[:3],
    }
    return MarginBuild(name, {str(k): float(v) for k, v in targets.items()}, source, notes)
