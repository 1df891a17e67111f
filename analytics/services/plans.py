"""Checks of a wave's analysis plan, so a bad margin is refused when it is saved, not at night."""

from __future__ import annotations

from typing import Any

from analytics.models import CountryGroupScheme
from analytics.official.selectors import observations_frame

REQUIRED = ("field", "scheme", "indicator", "time_period")


def plan_problems(plan: Any) -> dict[str, list[str]]:
    """{model field: [messages]} for what is wrong with the plan (empty when it is usable)."""
    problems: dict[str, list[str]] = {}
    margins = plan.margins
    if not isinstance(margins, list) or not all(isinstance(m, dict) for m in margins):
        problems["margins"] = ['A list of margins, each {"field", "scheme", "indicator", "time_period", "other"}.']
    else:
        messages = []
        fields = _fields(plan)
        programme = plan.wave.survey.programme if plan.wave_id else None
        for number, margin in enumerate(margins, start=1):
            missing = [key for key in REQUIRED if not margin.get(key)]
            if missing:
                messages.append(f"Margin {number}: {', '.join(missing)} missing.")
                continue
            if fields is not None and margin["field"] not in fields:
                messages.append(f"Margin {number}: the wave's survey has no question '{margin['field']}'.")
            schemes = CountryGroupScheme.objects.filter(slug=margin["scheme"])
            if not schemes.filter(programme__isnull=True).exists() and not (
                programme and schemes.filter(programme=programme).exists()
            ):
                messages.append(f"Margin {number}: no country grouping '{margin['scheme']}'.")
            observations = observations_frame(indicator=margin["indicator"], time_period=str(margin["time_period"]))
            if observations.empty:
                messages.append(
                    f"Margin {number}: no official values of {margin['indicator']} for {margin['time_period']}."
                )
        if messages:
            problems["margins"] = messages
    bounds = plan.weight_bounds
    if bounds not in (None, []) and not (
        isinstance(bounds, list)
        and len(bounds) == 2
        and all(isinstance(b, int | float) for b in bounds)
        and 0 < bounds[0] < 1 < bounds[1]
    ):
        problems["weight_bounds"] = ["Weight bounds are [low, high] with 0 < low < 1 < high, e.g. [0.2, 5]."]
    return problems


def _fields(plan: Any) -> set[str] | None:
    if not plan.wave_id:
        return None
    from analytics.services.frames import frame_spec

    return {item.name for item in frame_spec(plan.wave).fields}
