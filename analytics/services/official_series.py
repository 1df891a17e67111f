"""Official series for the pages: departures, arrivals and net migration by year; departures by
education, specialty and destination (with the destination's human-development tier);
students abroad by host country. Every vintage of a value is kept and shown.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.charts import Figure, official_figure
from analytics.official.groups import country_group_map, group_labels
from analytics.official.selectors import observations_frame
from surveys.countries import country_choices

YEAR = re.compile(r"^\d{4}$")
BNS_CAVEAT = gettext_lazy(
    "The Bureau of National Statistics counts only people who deregister for permanent residence "
    "abroad; emigration is widely held to be undercounted."
)
TOTALS = {"ref_area": "KAZ", "sex": "_T", "age": "_T", "education": "_T", "specialty": "_T", "scope": "_T"}


def country_names(language: str) -> dict[str, str]:
    return {code: labels.get(language) or labels.get("en") or code for code, labels in country_choices()}


def _points(frame: pd.DataFrame, x: str, label_of=None) -> list[dict[str, Any]]:
    points = []
    for row in frame.to_dict("records"):
        value = row["obs_value"]
        if value is None or pd.isna(value):
            continue
        scaled = float(value) * (10 ** int(row.get("unit_mult") or 0))
        key = row[x]
        points.append(
            {
                "x": label_of(key) if label_of else key,
                "value": round(scaled, 1),
                "status": row.get("obs_status", ""),
                "vintage": row.get("vintage_label", ""),
                "source": row.get("source", ""),
                "period": row.get("time_period", ""),
            }
        )
    return points


def _series_by_vintage(frame: pd.DataFrame, x: str, name: str, label_of=None) -> list[dict[str, Any]]:
    """One series per vintage rank: a second, conflicting value of a key becomes its own series."""
    if frame.empty:
        return []
    out = []
    for rank, part in frame.sort_values(x).groupby("vintage_rank", sort=True):
        label = name if rank == 1 else _("%(name)s (another reported value)") % {"name": name}
        out.append({"label": label, "points": _points(part, x, label_of)})
    return out


def _annual(indicator: str, flow: str) -> pd.DataFrame:
    frame = observations_frame(indicator=indicator, flow=flow, counterpart_area="_T", all_vintages=True, **TOTALS)
    if frame.empty:
        return frame
    return frame[frame["time_period"].str.match(YEAR)]


def official_figures(language: str) -> list[Figure]:
    figures = []
    departures = _annual("EMIG_PERM", "OUT")
    arrivals = _annual("IMMIG_PERM", "IN")
    series = _series_by_vintage(departures, "time_period", _("Departures")) + _series_by_vintage(
        arrivals, "time_period", _("Arrivals")
    )
    net = _net(departures, arrivals)
    if net:
        series.append({"label": _("Net migration (arrivals − departures)"), "points": net})
    figures.append(
        official_figure(
            "official-years",
            _("Migration for permanent residence by year: departures, arrivals, net"),
            series,
            caveats=[str(BNS_CAVEAT)],
            unit=_("persons"),
        )
    )

    period = _latest_breakdown_period("EMIG_PERM", "education")
    education = observations_frame(indicator="EMIG_PERM", flow="OUT", counterpart_area="_T", time_period=period,
                                   ref_area="KAZ", sex="_T", specialty="_T", scope="_T", all_vintages=True)  # fmt: skip
    education = education[~education["education"].isin(["_T"])] if not education.empty else education
    figures.append(
        official_figure(
            "official-education",
            _("Departures aged 15+ by level of education, %(period)s") % {"period": period or "—"},
            _series_by_vintage(education, "education", _("Departures"), _education_label),
            horizontal=True,
            caveats=[str(BNS_CAVEAT), _("Total 15+ is the denominator of each share.")],
        )
    )

    period = _latest_breakdown_period("EMIG_PERM", "specialty")
    specialty = observations_frame(indicator="EMIG_PERM", flow="OUT", counterpart_area="_T", time_period=period,
                                   ref_area="KAZ", sex="_T", scope="_T", all_vintages=True)  # fmt: skip
    specialty = specialty[specialty["specialty"] != "_T"] if not specialty.empty else specialty
    figures.append(
        official_figure(
            "official-specialty",
            _("Departures by specialty, %(period)s") % {"period": period or "—"},
            _series_by_vintage(specialty, "specialty", _("Departures")),
            horizontal=True,
            caveats=[
                str(BNS_CAVEAT),
                _("Specialties are counted for people with higher or secondary vocational education."),
            ],
        )
    )

    figures.append(_destinations(language))
    figures.append(_students_abroad(language))
    return figures


def _net(departures: pd.DataFrame, arrivals: pd.DataFrame) -> list[dict[str, Any]]:
    if departures.empty or arrivals.empty:
        return []
    first_out = departures[departures["vintage_rank"] == 1].set_index("time_period")
    first_in = arrivals[arrivals["vintage_rank"] == 1].set_index("time_period")
    points = []
    for period in sorted(set(first_out.index) & set(first_in.index)):
        out_row, in_row = first_out.loc[period], first_in.loc[period]
        value = float(in_row["obs_value"]) * 10 ** int(in_row["unit_mult"]) - float(out_row["obs_value"]) * 10 ** int(
            out_row["unit_mult"]
        )
        points.append(
            {"x": period, "value": round(value, 1), "status": "derived", "vintage": "", "source": "", "period": period}
        )
    return points


def _latest_breakdown_period(indicator: str, dimension: str) -> str:
    frame = observations_frame(indicator=indicator)
    if frame.empty:
        return ""
    periods = frame[frame[dimension] != "_T"]["time_period"]
    return str(sorted(periods)[-1]) if len(periods) else ""


EDUCATION = {
    "HIGHER": "Higher",
    "SEC_PROF": "Secondary vocational",
    "GEN_SEC": "General secondary",
    "BASIC_SEC": "Basic secondary",
    "NONE": "None",
    "HIGHER_OR_SEC_PROF": "Higher or secondary vocational",
}


def _education_label(code: str) -> str:
    return _(EDUCATION.get(code, code))


def _destinations(language: str) -> Figure:
    frame = observations_frame(indicator="EMIG_PERM", flow="OUT", **TOTALS)
    if not frame.empty:
        by_period = frame[frame["counterpart_area"] != "_T"]
        period = str(sorted(by_period["time_period"])[-1]) if len(by_period) else ""
        frame = frame[frame["time_period"] == period]
    else:
        period = ""
    total = frame[frame["counterpart_area"] == "_T"] if not frame.empty else frame
    parts = frame[frame["counterpart_area"] != "_T"] if not frame.empty else frame
    names = country_names(language)
    tiers = country_group_map("hdi-2021")
    tier_names = group_labels("hdi-2021")
    series = []
    if not parts.empty:
        parts = parts.assign(tier=parts["counterpart_area"].map(tiers).fillna("NOT_RANKED"))
        for tier, part in parts.sort_values("obs_value", ascending=False).groupby("tier", sort=False):
            label = _("HDI: %(tier)s") % {"tier": _(str(tier_names.get(tier, tier)))}
            series.append({"label": label, "points": _points(part, "counterpart_area", lambda c: names.get(c, c))})
    caveats = [str(BNS_CAVEAT)]
    if not total.empty and not parts.empty:
        listed = float(parts["obs_value"].sum())
        whole = float(total["obs_value"].iloc[0])
        caveats.append(
            _(
                "The countries shown account for %(listed)s of %(total)s departures (%(share)s%%); the rest are not broken down."
            )
            % {"listed": f"{listed:,.0f}", "total": f"{whole:,.0f}", "share": f"{100 * listed / whole:.1f}"}
        )
    return official_figure(
        "official-destinations",
        _("Departures by destination, %(period)s, coloured by the destination's human development (HDI 2021)")
        % {"period": period or "—"},
        series,
        horizontal=True,
        caveats=caveats,
    )


def _students_abroad(language: str) -> Figure:
    frame = observations_frame(indicator="OE_5T8", flow="STOCK", all_vintages=True, **TOTALS)
    names = country_names(language)
    series = []
    if not frame.empty:
        parts = frame[frame["counterpart_area"] != "_T"]
        for period, part in parts.sort_values("obs_value", ascending=False).groupby("time_period"):
            label = _("Students abroad, %(period)s") % {"period": period}
            series.append(
                {
                    "label": label,
                    "points": _points(
                        part, "counterpart_area", lambda c: _("All other hosts") if c == "_O" else names.get(c, c)
                    ),
                }
            )
    return official_figure(
        "official-students",
        _("Kazakhstani students abroad (tertiary, ISCED 5-8) by host country"),
        series,
        horizontal=True,
        caveats=[
            _(
                "Reported by host countries to UNESCO UIS; a host missing from a year (the USA in 2019) is not yet reported, not zero."
            )
        ],
    )
