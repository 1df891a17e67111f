"""Figures for the analysis pages: a chart spec for the browser (Chart.js), the same values as
an accessible table, and a caption with source, period, n (and n_eff when weighted) and caveats.

Pure functions over published tables (already suppressed for the viewer) and official
observation frames; nothing here reads the database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext as _

SUPPRESSED = "—"


@dataclass
class Figure:
    id: str
    title: str
    chart: dict[str, Any]
    columns: list[str]
    rows: list[list[Any]]
    source: str
    period: str
    n: str = ""
    caveats: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False
    empty: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def note_text(note: Any) -> str:
    """A weighting note in the reader's language (stored as data by the job)."""
    if isinstance(note, dict) and note.get("kind") == "lacking":
        return (
            _(
                "%(country)s: %(respondents)s respondents; %(indicator)s has no value for it in %(period)s "
                "(not treated as zero: the target of group %(group)s lacks it)."
            )
            % note
        )
    return str(note)


def _label(labels: dict[str, str] | None, language: str, fallback: str) -> str:
    """A label in the reader's language; the platform's own English words (the same in every
    language slot) go through the translation catalogue."""
    if not labels:
        return fallback
    text = labels.get(language) or labels.get("en") or fallback
    if len(set(labels.values())) == 1:
        return _(text)
    return text


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _interval(cell: dict[str, Any], percent: bool) -> str:
    low, high = cell.get("ci_low"), cell.get("ci_high")
    if low is None or high is None:
        return SUPPRESSED
    if percent:
        return f"{100 * low:.1f}–{100 * high:.1f}"
    return f"{low:.2f}–{high:.2f}"


def sample_caption(table: dict[str, Any]) -> tuple[str, str]:
    """(n text, period text) of a survey table."""
    meta = table["meta"]
    n = _("n = %(n)s respondents") % {"n": meta.get("n", 0)}
    if table["weighting"] != "none" and meta.get("n_eff") is not None:
        n += "; " + _("effective n = %(n_eff)s, design effect %(deff)s") % {
            "n_eff": meta.get("n_eff"),
            "deff": meta.get("deff"),
        }
    period = meta.get("period") or {}
    still_open = _("open")
    text = f"{period.get('opens', '')} – {period.get('closes') or still_open}"
    return n, text


def survey_source(table: dict[str, Any]) -> str:
    text = _("Kelu survey, wave %(wave)s") % {"wave": table["wave"]}
    if table["weighting"] == "raked":
        weighting = table["meta"].get("weighting") or {}
        official = [m["source"] for m in weighting.get("margins", [])]
        if official:
            text += "; " + _("weighted to %(series)s") % {
                "series": ", ".join(f"{o.get('indicator')} {o.get('time_period')}" for o in official)
            }
    return text


def _caveats(table: dict[str, Any]) -> list[str]:
    out = [_(str(c)) for c in table["meta"].get("caveats", [])]
    threshold = table.get("threshold")
    if threshold:
        out.append(
            _(
                "Cells with fewer than %(k)s respondents are not shown (—), nor any cell that would reveal them; "
                "smaller groups are combined as 'other'."
            )
            % {"k": threshold}
        )
    return out


def group_name(table: dict[str, Any], group: str, language: str) -> str:
    if group == "_other":
        return _("Other (small groups)")
    if group == "_missing":
        return _("Not answered")
    if group == "all":
        return _("All respondents")
    labels = (table["meta"].get("group_labels") or {}).get(group)
    return _label(labels, language, group) if labels else _(str(group))


def distribution_figure(
    table: dict[str, Any], language: str, value_labels: dict[str, dict[str, str]], fig_id: str
) -> Figure:
    """Stacked shares of a single-choice question, one bar per group."""
    groups = list(dict.fromkeys(c["group"] for c in table["cells"]))
    categories = list(dict.fromkeys(c["col"] for c in table["cells"]))
    by_key = {(c["group"], c["col"]): c for c in table["cells"]}
    datasets = []
    for category in categories:
        name = _label(value_labels.get(category), language, category)
        datasets.append(
            {"label": name, "data": [_percent((by_key.get((g, category)) or {}).get("estimate")) for g in groups]}
        )
    rows = []
    for group in groups:
        for category in categories:
            cell = by_key.get((group, category)) or {}
            rows.append(
                [
                    group_name(table, group, language),
                    _label(value_labels.get(category), language, category),
                    cell.get("n") if not cell.get("suppressed") else SUPPRESSED,
                    _percent(cell.get("estimate")) if not cell.get("suppressed") else SUPPRESSED,
                    _interval(cell, True) if not cell.get("suppressed") else SUPPRESSED,
                ]
            )
    n, period = sample_caption(table)
    return Figure(
        id=fig_id,
        title=_label(table["label"], language, table["indicator"]),
        chart={
            "type": "bar",
            "labels": [group_name(table, g, language) for g in groups],
            "datasets": datasets,
            "stacked": True,
            "horizontal": True,
            "percent": True,
        },
        columns=[_("Group"), _("Answer"), _("Respondents"), _("Share, %"), _("Interval at 95%, %")],
        rows=rows,
        source=survey_source(table),
        period=period,
        n=n,
        caveats=_caveats(table),
        synthetic=bool(table["meta"].get("synthetic")),
    )


def items_figure(
    table: dict[str, Any], language: str, item_labels: dict[str, str], fig_id: str, *, percent: bool
) -> Figure:
    """One bar per item (barrier means, or shares choosing each mode), whole sample, largest first."""
    cells = [c for c in table["cells"] if c["group"] == "all"] or table["cells"]
    ordered = sorted(cells, key=lambda c: (c.get("estimate") is None, -(c.get("estimate") or 0)))
    labels = [item_labels.get(c["col"], c["col"]) for c in ordered]
    values = [_percent(c.get("estimate")) if percent else c.get("estimate") for c in ordered]
    rows = []
    for rank, cell in enumerate(ordered, start=1):
        hidden = cell.get("suppressed")
        value = SUPPRESSED if hidden else (_percent(cell.get("estimate")) if percent else round(cell["estimate"], 2))
        rows.append(
            [
                rank if not hidden else SUPPRESSED,
                item_labels.get(cell["col"], cell["col"]),
                cell.get("n") if not hidden else SUPPRESSED,
                value,
                _interval(cell, percent) if not hidden else SUPPRESSED,
            ]
        )
    n, period = sample_caption(table)
    return Figure(
        id=fig_id,
        title=_label(table["label"], language, table["indicator"]),
        chart={
            "type": "bar",
            "labels": labels,
            "datasets": [{"label": _("Share, %") if percent else _("Mean score"), "data": values}],
            "horizontal": True,
            "percent": percent,
            "max": None if percent else 5,
        },
        columns=[
            _("Rank"),
            _("Item"),
            _("Respondents"),
            _("Share, %") if percent else _("Mean (1-5)"),
            _("Interval at 95%"),
        ],
        rows=rows,
        source=survey_source(table),
        period=period,
        n=n,
        caveats=_caveats(table),
        synthetic=bool(table["meta"].get("synthetic")),
    )


def composition_figure(table: dict[str, Any], language: str, group_labels: dict[str, str], fig_id: str) -> Figure:
    """The sample's composition on a weighting variable beside the official distribution."""
    cells = table["cells"]
    names = {code: _(str(name)) for code, name in group_labels.items()}
    labels = [names.get(c["col"], c["col"]) for c in cells]
    official = table.get("official") or {}
    datasets = [
        {"label": _("Sample (unweighted), %"), "data": [_percent(c.get("sample_share")) for c in cells]},
        {"label": _("Sample (weighted), %"), "data": [_percent(c.get("weighted_share")) for c in cells]},
        {"label": _("Official, %"), "data": [_percent(official.get(c["col"])) for c in cells]},
    ]
    rows = [
        [
            names.get(c["col"], c["col"]),
            c.get("n") if not c.get("suppressed") else SUPPRESSED,
            _percent(c.get("sample_share")) if not c.get("suppressed") else SUPPRESSED,
            _percent(c.get("weighted_share")) if not c.get("suppressed") else SUPPRESSED,
            _percent(official.get(c["col"])),
        ]
        for c in cells
    ]
    meta = table["meta"]
    weighting = meta.get("weighting") or {}
    official_source = meta.get("source_official") or {}
    source = _("Kelu survey, wave %(wave)s; official: %(indicator)s %(period)s (%(sources)s)") % {
        "wave": table["wave"],
        "indicator": official_source.get("indicator", ""),
        "period": official_source.get("time_period", ""),
        "sources": "; ".join(official_source.get("sources") or []),
    }
    n = _(
        "n = %(n)s; effective n = %(n_eff)s, design effect %(deff)s; raking converged: %(ok)s in %(it)s iterations"
    ) % {
        "n": weighting.get("n", meta.get("n")),
        "n_eff": weighting.get("n_eff"),
        "deff": weighting.get("deff"),
        "ok": _("yes") if weighting.get("converged") else _("no"),
        "it": weighting.get("iterations"),
    }
    _n, period = sample_caption(table)
    return Figure(
        id=fig_id,
        title=_("Sample composition against the official distribution: %(field)s")
        % {"field": _label(table["label"], language, table["indicator"].split(":", 1)[-1])},
        chart={"type": "bar", "labels": labels, "datasets": datasets, "percent": True},
        columns=[_("Group"), _("Respondents"), _("Sample, %"), _("Weighted, %"), _("Official, %")],
        rows=rows,
        source=source,
        period=period,
        n=n,
        caveats=_caveats(table),
        notes=[note_text(note) for note in meta.get("notes", [])],
        synthetic=bool(meta.get("synthetic")),
    )


def trend_figure(
    trend: list[dict[str, Any]], language: str, value_labels: dict[str, dict[str, str]], fig_id: str, title: str
) -> Figure:
    """The whole-sample distribution of one question in each wave (grouped bars, one group per wave)."""
    categories = list(dict.fromkeys(c["col"] for table in trend for c in table["cells"]))
    waves = [table["wave"] for table in trend]
    datasets = []
    for category in categories:
        data = []
        for table in trend:
            cell = next((c for c in table["cells"] if c["col"] == category), {})
            data.append(_percent(cell.get("estimate")))
        datasets.append({"label": _label(value_labels.get(category), language, category), "data": data})
    rows = []
    for table in trend:
        for cell in table["cells"]:
            hidden = cell.get("suppressed")
            rows.append(
                [
                    table["wave"],
                    _label(value_labels.get(cell["col"]), language, cell["col"]),
                    cell.get("n") if not hidden else SUPPRESSED,
                    _percent(cell.get("estimate")) if not hidden else SUPPRESSED,
                    _interval(cell, True) if not hidden else SUPPRESSED,
                ]
            )
    ns = ", ".join(f"{t['wave']}: {t['meta'].get('n', 0)}" for t in trend)
    return Figure(
        id=fig_id,
        title=title,
        chart={"type": "bar", "labels": waves, "datasets": datasets, "stacked": True, "percent": True},
        columns=[_("Wave"), _("Answer"), _("Respondents"), _("Share, %"), _("Interval at 95%, %")],
        rows=rows,
        source=_("Kelu surveys, waves %(waves)s") % {"waves": ", ".join(waves)},
        period=", ".join(
            f"{(t['meta'].get('period') or {}).get('opens', '')}–{(t['meta'].get('period') or {}).get('closes') or ''}"
            for t in trend
        ),
        n="n: " + ns,
        caveats=_caveats(trend[-1]) if trend else [],
        synthetic=any(t["meta"].get("synthetic") for t in trend),
    )


# --------------------------------------------------------------------------- official series


def official_figure(
    fig_id: str,
    title: str,
    series: list[dict[str, Any]],
    *,
    kind: str = "bar",
    horizontal: bool = False,
    caveats: list[str] | None = None,
    unit: str = "",
) -> Figure:
    """Official values: `series` is a list of {label, points: [{x, value, status, vintage, source, period}]}."""
    labels = list(dict.fromkeys(p["x"] for s in series for p in s["points"]))
    datasets = []
    rows = []
    sources: list[str] = []
    periods: list[str] = []
    for item in series:
        by_x = {p["x"]: p for p in item["points"]}
        datasets.append({"label": item["label"], "data": [(by_x.get(x) or {}).get("value") for x in labels]})
        for point in item["points"]:
            rows.append([item["label"], point["x"], point["value"], point.get("status", ""), point.get("vintage", "")])
            if point.get("source") and point["source"] not in sources:
                sources.append(point["source"])
            if point.get("period") and point["period"] not in periods:
                periods.append(point["period"])
    flagged = [r for r in rows if r[3] and r[3] != "A"]
    notes = []
    if flagged:
        notes.append(
            _("Values marked E are estimates or a second, conflicting report of the same figure; both are kept.")
        )
    return Figure(
        id=fig_id,
        title=title,
        chart={"type": kind, "labels": labels, "datasets": datasets, "horizontal": horizontal, "unit": unit},
        columns=[_("Series"), _("Category"), _("Value"), _("Status"), _("Vintage")],
        rows=rows,
        source="; ".join(sources[:4]) + (" …" if len(sources) > 4 else ""),
        period=", ".join(periods[:8]) + (" …" if len(periods) > 8 else ""),
        caveats=list(caveats or []),
        notes=notes,
        empty="" if rows else _("No official values are loaded for this series."),
    )
