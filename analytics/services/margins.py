"""Raking margins from official series: a wave's plan names the field, the grouping and the series.

A margin spec (one item of ``WaveAnalysis.margins``)::

    {"field": "country_residence", "scheme": "destination-4",
     "indicator": "OE_5T8", "time_period": "2019", "other": "OTHER"}

The series' values by counterpart country (latest vintage, other dimensions at their
total) are summed into the scheme's groups; ``_O`` (all others not listed) and the
respondents' countries that the scheme does not list go to the ``other`` group. The
report says what the official series lacks: a country that respondents name, that the
scheme places in a group, but for which the series has no value that period (the USA
in the 2019 UIS extract) is named with its respondents, never read as zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics.compute.weighting import MarginError


@dataclass
class MarginBuild:
    field: str
    column: str  # the frame column holding each respondent's group
    targets: dict[str, float]
    source: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    groups: pd.Series | None = None


def build_margin(
    spec: dict[str, Any],
    frame: pd.DataFrame,
    observations: pd.DataFrame,
    mapping: dict[str, str],
) -> MarginBuild:
    """Targets for one margin; `observations` has counterpart_area, obs_value, unit_mult and source columns."""
    name = spec.get("field", "")
    if name not in frame:
        raise MarginError(f"The margin's field '{name}' is not among the wave's answers.")
    other = spec.get("other")
    period = spec.get("time_period", "")
    indicator = spec.get("indicator", "")
    if observations.empty:
        raise MarginError(f"No official values of {indicator} for {period}: the margin on '{name}' cannot be built.")
    rows = observations[observations["counterpart_area"] != "_T"]
    values = rows["obs_value"].astype("float64") * (10.0 ** rows["unit_mult"].astype("float64"))
    areas = rows["counterpart_area"]
    # Countries the scheme does not list (and `_O`, all others) belong to the 'other' group.
    grouped_areas = areas.map(lambda code: mapping.get(code) or other)
    unplaced = sorted(set(areas[grouped_areas.isna()]))
    if unplaced:
        raise MarginError(
            f"{indicator} {period}: the scheme '{spec.get('scheme')}' places no group for "
            + ", ".join(unplaced)
            + " and the margin names no 'other' group"
        )
    targets = values.groupby(grouped_areas.to_numpy()).sum().to_dict()

    answers = frame[name].astype("string")
    groups = answers.map(lambda code: mapping.get(code, other) if pd.notna(code) else None)
    notes: list[str] = []
    lost = answers[groups.isna() & answers.notna()]
    if len(lost):
        raise MarginError(
            f"Respondents in {', '.join(sorted(set(lost)))} belong to no group of '{spec.get('scheme')}' "
            "and the margin names no 'other' group."
        )
    listed = set(areas)
    named = answers.dropna().value_counts()
    for code, count in named.items():
        group = mapping.get(code)
        if group is not None and code not in listed:
            notes.append(
                f"{code}: {int(count)} respondents; {indicator} has no value for it in {period} "
                f"(not treated as zero: the target of group {group} lacks it)."
            )
    missing_answers = int(answers.isna().sum())
    if missing_answers:
        notes.append(
            f"{missing_answers} respondents did not answer '{name}': they are left out of the weighted figures."
        )
    source = {
        "indicator": indicator,
        "time_period": period,
        "scheme": spec.get("scheme"),
        "sources": sorted(set(observations.get("source", pd.Series(dtype=str)).dropna().astype(str)))[:3],
        "vintages": sorted(set(observations.get("vintage_label", pd.Series(dtype=str)).dropna().astype(str)))[:3],
    }
    column = f"_margin_{name}"
    return MarginBuild(name, column, {str(k): float(v) for k, v in targets.items()}, source, notes, groups)
