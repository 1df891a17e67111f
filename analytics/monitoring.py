"""Monitoring by policy pillar: brain gain, brain train, brain circulation, brain linkage.

Every figure comes with its source, its date and its denominator; survey figures are
the published (suppressed) tables of the waves the viewer may see, registry counts
are suppressed at the viewer's threshold like any other table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from analytics.compute.suppression import suppress
from diaspora.models import Mode
from diaspora.selectors import linkage_counts

from . import charts, selectors
from .charts import Figure, official_figure
from .official.selectors import observations_frame
from .services.aggregation import thresholds
from .services.official_series import BNS_CAVEAT, TOTALS, _annual, _net, _series_by_vintage, _students_abroad

PILLARS = {
    "gain": gettext_lazy("Brain gain: returns"),
    "train": gettext_lazy("Brain train: students abroad"),
    "circulation": gettext_lazy("Brain circulation: intentions to return"),
    "linkage": gettext_lazy("Brain linkage: the diaspora engaged"),
}


def pillar_figures(user: User, pillar: str, language: str) -> tuple[list[Figure], list[dict[str, Any]]]:
    return {
        "gain": _gain,
        "train": _train,
        "circulation": _circulation,
        "linkage": _linkage,
    }[pillar](user, language)


def _survey_trends(user: User, indicator: str) -> list[list[dict[str, Any]]]:
    """Per survey the user may see, its waves' whole-sample tables of `indicator`, oldest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in (
        selectors.tables_visible_to(user)
        .filter(indicator=indicator, breakdown="all", weighting="none")
        .order_by("wave__survey__slug", "wave__opens_at")
    ):
        out.setdefault(table.wave.survey.slug, []).append(selectors.published_table(user, table))
    return list(out.values())


def _share_trend(
    trends: list[list[dict[str, Any]]], categories: set[str], fig_id: str, title: str, series_label: str
) -> Figure:
    """Share of respondents whose answer is in `categories`, per wave, with its denominator."""
    series, caveats, sources = [], [], []
    rows_n = []
    for trend in trends:
        points = []
        for table in trend:
            cells = [c for c in table["cells"] if c["col"] in categories]
            if not cells or any(c.get("suppressed") for c in cells):
                continue
            share = sum(c["estimate"] for c in cells)
            points.append(
                {
                    "x": table["wave"],
                    "value": round(100 * share, 1),
                    "status": "",
                    "vintage": f"n = {table['meta'].get('n')}",
                    "source": charts.survey_source(table),
                    "period": (table["meta"].get("period") or {}).get("opens", ""),
                }
            )
            rows_n.append(f"{table['wave']}: {table['meta'].get('n')}")
            if table["meta"].get("synthetic") and _("Some waves hold synthetic demo data.") not in caveats:
                caveats.append(_("Some waves hold synthetic demo data."))
        if points:
            series.append({"label": f"{series_label} ({trend[0]['survey']})", "points": points})
            sources.append(trend[0]["survey"])
    figure = official_figure(fig_id, title, series, caveats=caveats, unit="%")
    figure.columns[-1] = _("Denominator")
    figure.n = _("Respondents per wave: %(list)s") % {"list": ", ".join(rows_n)} if rows_n else ""
    figure.synthetic = bool(caveats)
    if not series:
        figure.empty = _("No wave with published answers to this question yet.")
    return figure


def _programme_facts(user: User) -> list[dict[str, Any]]:
    """Programme monitoring figures from the official data (cumulative counts as of a month)."""
    frame = observations_frame(indicator=["PROG_GRAD", "PROG_OBLIG_FULFILLED", "PROG_OBLIG_MONITORED", "PROG_NONRETURN",
                                          "PROG_OBLIG_DEFERRED"], scope="BOLASHAK")  # fmt: skip
    facts = []
    graduates = frame[frame["indicator_code"] == "PROG_GRAD"] if not frame.empty else frame
    denominator = None
    if len(graduates):
        row = graduates.iloc[0]
        denominator = float(row["obs_value"])
        facts.append(_fact(row, _("Bolashak graduates"), None))
    if not frame.empty:
        for row in frame[frame["indicator_code"] != "PROG_GRAD"].to_dict("records"):
            facts.append(_fact(row, row.get("indicator_name") or row["indicator_code"], denominator))
    return facts


def _fact(row: Any, label: str, denominator: float | None) -> dict[str, Any]:
    value = float(row["obs_value"]) * 10 ** int(row["unit_mult"] or 0)
    share = f"{100 * value / denominator:.1f}%" if denominator else ""
    return {
        "label": label,
        "value": f"{value:,.0f}",
        "share": share,
        "denominator": f"{denominator:,.0f}" if denominator else "",
        "status": row["obs_status"],
        "period": row["time_period"],
        "source": row["source"],
        "comment": row.get("comment", ""),
    }


def _gain(user: User, language: str) -> tuple[list[Figure], list[dict[str, Any]]]:
    departures = _annual("EMIG_PERM", "OUT")
    arrivals = _annual("IMMIG_PERM", "IN")
    series = _series_by_vintage(arrivals, "time_period", _("Arrivals"))
    net = _net(departures, arrivals)
    if net:
        series.append({"label": _("Net migration (arrivals − departures)"), "points": net})
    figures = [
        official_figure(
            "gain-arrivals",
            _("Arrivals for permanent residence and net migration"),
            series,
            caveats=[
                str(BNS_CAVEAT),
                _(
                    "Arrivals include foreign citizens and ethnic Kazakh repatriates (kandas), not only returning citizens."
                ),
            ],
        ),
        _share_trend(
            _survey_trends(user, "return_intention"),
            {"already_returned"},
            "gain-survey",
            _("Respondents who report having returned, by wave (share of respondents answering, %)"),
            _("Returned"),
        ),
    ]
    figures.extend(_programme_returns(user))
    return figures, _programme_facts(user)


def _programme_returns(user: User) -> list[Figure]:
    """The programmes' own return and fulfilment rates by cohort, from participants' episodes (the
    programmes the user administers; every programme for researchers), suppressed at their threshold."""
    from accounts.models import Programme
    from diaspora.selectors_obligations import participations_for_monitoring
    from diaspora.services.obligation_indicators import programme_indicators

    limit = thresholds()[selectors.audience(user)]
    scoped = participations_for_monitoring(user)
    returns, fulfilment, synthetic = [], [], False
    for programme in Programme.objects.filter(pk__in=scoped.values("programme_id")).order_by("slug"):
        rows = scoped.filter(programme=programme)
        synthetic = synthetic or rows.filter(synthetic=True).exists()
        figures = {r.code: r for r in programme_indicators(rows, full=False, limit=limit)["rates"]}
        for code, out in (("return_12m", returns), ("fulfilment", fulfilment)):
            points = [
                {"x": str(row.cohort), "value": round(100 * row.rate, 1), "status": "",
                 "vintage": f"{row.numerator} / {row.denominator}",
                 "source": _("%(name)s participants and their episodes on this platform") % {"name": programme.local_name}}
                for row in figures[code].rows if row.cohort != "all" and row.rate is not None
            ]  # fmt: skip
            if points:
                out.append({"label": programme.local_name, "points": points})
    caveats = [
        _("Cohorts of fewer than %(k)s participants, and figures that would reveal them, are left out.") % {"k": limit}
    ]
    if synthetic:
        caveats.append(_("Some programmes hold synthetic demo participants."))
    made = []
    for fig_id, title, series, note in (
        ("gain-programme-returns", _("Programme participants back within 12 months of graduation, by cohort (%)"), returns,
         _("Denominator: participants who graduated at least 12 months ago.")),
        ("gain-programme-fulfilment", _("Work obligations fulfilled, by cohort whose window has closed (%)"), fulfilment,
         _("Denominator: participants who fulfilled or breached the obligation; exempt and waived are outside it.")),
    ):  # fmt: skip
        figure = official_figure(fig_id, title, series, caveats=[*caveats, note], unit="%")
        figure.columns[-1] = _("Numerator / denominator")
        figure.synthetic = synthetic
        if not series:
            figure.empty = _("No programme participants to count yet.")
        made.append(figure)
    return made


def _train(user: User, language: str) -> tuple[list[Figure], list[dict[str, Any]]]:
    figures = [_students_abroad(language)]
    stud = observations_frame(indicator="STUD_ABROAD", **TOTALS)
    if not stud.empty:
        names = {c: c for c in stud["counterpart_area"]}
        figures.append(
            official_figure(
                "train-stud-abroad",
                _("Students abroad as reported in official statements"),
                [
                    {
                        "label": _("Students abroad"),
                        "points": [
                            {
                                "x": names[r["counterpart_area"]] if r["counterpart_area"] != "_T" else _("All hosts"),
                                "value": float(r["obs_value"]) * 10 ** int(r["unit_mult"]),
                                "status": r["obs_status"],
                                "vintage": r.get("vintage_label", ""),
                                "source": r["source"],
                                "period": r["time_period"],
                            }
                            for r in stud.to_dict("records")
                        ],
                    }
                ],  # fmt: skip
                horizontal=True,
            )
        )
    figures.append(
        _share_trend(
            _survey_trends(user, "study_status"),
            {"studying"},
            "train-survey",
            _("Respondents still studying abroad, by wave (share of respondents answering, %)"),
            _("Studying"),
        )
    )
    return figures, []


def _circulation(user: User, language: str) -> tuple[list[Figure], list[dict[str, Any]]]:
    figures = [
        _share_trend(
            _survey_trends(user, "return_intention"),
            {"right_after_studies", "after_work_abroad"},
            "circulation-intend",
            _("Respondents who intend to return, by wave (share of respondents answering, %)"),
            _("Intend to return"),
        ),
        _share_trend(
            _survey_trends(user, "likelihood_5y"),
            {"4", "5"},
            "circulation-likely",
            _("Likely or very likely to live in Kazakhstan in five years, by wave (%)"),
            _("Likely in five years"),
        ),
    ]
    return figures, []


def _linkage(user: User, language: str) -> tuple[list[Figure], list[dict[str, Any]]]:
    counts = linkage_counts(user)
    threshold = thresholds()[selectors.audience(user)]
    members = counts["members"]
    total = sum(members.values())
    facts = [
        {
            "label": _("Registry members (profiles)"),
            "value": f"{total:,}" if total >= threshold else _("fewer than %(k)s") % {"k": threshold},
            "share": "",
            "denominator": "",
            "status": "",
            "period": _("now"),
            "source": _("Kelu registry"),
            "comment": ", ".join(f"{k}: {v}" for k, v in sorted(members.items()) if v >= threshold),
        }
    ]
    engagements = pd.DataFrame(counts["engagements"], columns=["mode", "status", "n"])
    series = []
    if not engagements.empty:
        table = engagements.pivot_table(index="status", columns="mode", values="n", aggfunc="sum", fill_value=0)
        cells = table.stack().rename("n").reset_index()
        state = suppress(cells, row="status", col="mode", n="n", threshold=threshold)
        hidden = state.cells.set_index(["status", "mode"])["suppressed"]
        modes = dict(Mode.choices)
        for status, part in cells.groupby("status"):
            points = []
            for row in part.to_dict("records"):
                if hidden.loc[(row["status"], row["mode"])] or row["n"] == 0:
                    continue
                points.append({"x": str(modes.get(row["mode"], row["mode"])), "value": int(row["n"]), "status": "",
                               "vintage": "", "source": _("Kelu registry matching"), "period": _("to date")})  # fmt: skip
            if points:
                series.append({"label": str(status), "points": points})
    engaged = official_figure(
        "linkage-engagements",
        _("Engagements by mode (offers made, accepted, active, completed)"),
        series,
        horizontal=True,
        caveats=[
            _("Counts below %(k)s, and any that would reveal them, are not shown.") % {"k": threshold},
            _("Denominator: all engagements of the requests you oversee."),
        ],
    )
    figures = [engaged]
    for trends in _survey_trends(user, "engagement_modes")[-1:]:
        latest = trends[-1]
        figures.append(
            charts.items_figure(
                latest,
                language,
                {k: charts._label(v, language, k) for k, v in (latest["meta"].get("item_labels") or {}).items()},
                "linkage-willing",
                percent=True,
            )
        )
    return figures, facts
