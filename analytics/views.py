"""Analytics pages: survey analysis per wave, official statistics, monitoring by policy pillar.

Views only shape what the selectors return (every table already suppressed for the
viewer's audience) into figures; recomputing goes through ``aggregation_request``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import charts, monitoring, selectors
from .services.aggregation import aggregation_request
from .services.official_series import official_figures


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def _page(request: HttpRequest, template: str, context: dict[str, Any], current: str, status: int = 200):
    context = {**context, "current": current, "analytics_nav": {"analysis": selectors.may_see_analysis(request.user)}}
    return render(request, template, context, status=status)


def _forbidden(request: HttpRequest) -> HttpResponse:
    response = _page(
        request,
        "analytics/forbidden.html",
        {"reason": _("Survey analysis is for programme administrators and researchers.")},
        "",
        status=403,
    )
    return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if not selectors.may_see_analysis(request.user):
        return redirect("analytics:official")
    waves = selectors.analysis_overview(request.user)
    return _page(
        request,
        "analytics/home.html",
        {"waves": waves, "audience": selectors.audience(request.user), "pillars": monitoring.PILLARS},
        "home",
    )


def _value_labels(tables: list[dict[str, Any]], indicator: str) -> dict[str, dict[str, str]]:
    for table in tables:
        if table["indicator"] == indicator:
            return table["meta"].get("value_labels") or {}
    return {}


@login_required
def wave_analysis(request: HttpRequest, slug: str) -> HttpResponse:
    if not selectors.may_see_analysis(request.user):
        return _forbidden(request)
    wave = selectors.analysis_wave_get(request.user, slug)
    language = _language()
    tables = selectors.wave_tables(request.user, wave)
    weightings = sorted({t["weighting"] for t in tables if t["kind"] != "composition"})
    weighting = request.GET.get("weighting") or ("raked" if "raked" in weightings else "none")
    if weighting not in weightings:
        weighting = weightings[0] if weightings else "none"
    by_key = {(t["indicator"], t["breakdown"], t["weighting"]): t for t in tables}
    breakdown_choices = []
    for table in tables:
        if table["indicator"] == "return_intention" and table["weighting"] == weighting and table["breakdown"] != "all":
            breakdown_choices.append(
                (table["breakdown"], charts._label(table["meta"].get("breakdown_label"), language, table["breakdown"]))
            )
    default_by = next((code for code, _label in breakdown_choices if code.startswith("country:")), "all")
    by = request.GET.get("by") or default_by
    if by not in {code for code, _label in breakdown_choices}:
        by = default_by

    figures = []
    for table in tables:
        if table["kind"] == "composition":
            figures.append(
                charts.composition_figure(table, language, _group_labels(table), f"composition-{len(figures)}")
            )
    intention = by_key.get(("return_intention", by, weighting))
    if intention:
        figures.append(
            charts.distribution_figure(intention, language, intention["meta"].get("value_labels") or {}, "intentions")
        )
    likelihood = by_key.get(("likelihood_5y", by, weighting))
    if likelihood:
        figures.append(
            charts.distribution_figure(likelihood, language, likelihood["meta"].get("value_labels") or {}, "likelihood")
        )
    barriers = by_key.get(("barriers", "all", weighting))
    if barriers:
        figures.append(charts.items_figure(barriers, language, _items(barriers, language), "barriers", percent=False))
    for code in ("engagement_modes", "return_factors"):
        table = by_key.get((code, "all", weighting))
        if table:
            figures.append(charts.items_figure(table, language, _items(table, language), code, percent=True))
    for code in ("return_intention", "likelihood_5y"):
        trend = selectors.survey_trend(request.user, wave, code, weighting)
        if len(trend) > 1:
            figures.append(
                charts.trend_figure(
                    trend,
                    language,
                    trend[-1]["meta"].get("value_labels") or {},
                    f"trend-{code}",
                    _("%(title)s, across waves") % {"title": charts._label(trend[-1]["label"], language, code)},
                )
            )
    job = selectors.latest_job(wave)
    plan = selectors.wave_plan(wave)
    weighting_report = next(
        (t["meta"].get("weighting") for t in tables if t["weighting"] == "raked" and t["meta"].get("weighting")), None
    )
    if weighting_report and weighting_report.get("margins"):
        weighting_report = {
            **weighting_report,
            "margins": [
                {**margin, "notes": [charts.note_text(note) for note in margin.get("notes", [])]}
                for margin in weighting_report["margins"]
            ],
        }
    if weighting_report and "max_margin_error" in weighting_report:
        weighting_report = {**weighting_report, "max_margin_error": f"{weighting_report['max_margin_error']:.1e}"}
    if job and job.report.get("weighting", {}).get("error"):
        weighting_report = {"error": job.report["weighting"]["error"]}
    return _page(
        request,
        "analytics/wave.html",
        {
            "wave": wave,
            "plan": plan,
            "job": job,
            "figures": [f.as_dict() for f in figures],
            "weighting": weighting,
            "weightings": weightings,
            "by": by,
            "breakdowns": [("all", _("All respondents")), *breakdown_choices],
            "weighting_report": weighting_report,
            # The wave came through the user's scope: administrators may recompute what they see.
            "may_recompute": selectors.may_recompute(request.user),
            "audience": selectors.audience(request.user),
        },
        "home",
    )


def _items(table: dict[str, Any], language: str) -> dict[str, str]:
    labels = table["meta"].get("item_labels") or {}
    return {name: charts._label(label, language, name) for name, label in labels.items()}


def _group_labels(table: dict[str, Any]) -> dict[str, str]:
    weighting = table["meta"].get("weighting") or {}
    labels = {}
    for margin in weighting.get("margins", []):
        labels.update(margin.get("group_labels") or {})
    return labels


@login_required
@require_POST
def wave_recompute(request: HttpRequest, slug: str) -> HttpResponse:
    if not selectors.may_recompute(request.user):
        return HttpResponseForbidden(_("Only programme administrators recompute a wave's figures."))
    wave = selectors.analysis_wave_get(request.user, slug)
    job = aggregation_request(wave, user=request.user)
    job.refresh_from_db()
    if job.status == job.Status.COMPLETE:
        messages.success(request, _("The figures were recomputed."))
    elif job.status == job.Status.ERROR:
        messages.error(request, _("The figures could not be computed: %(error)s") % {"error": job.error})
    else:
        messages.info(
            request, _("The figures are being recomputed; this page shows the new ones when the job is done.")
        )
    return redirect("analytics:wave", slug=wave.slug)


@login_required
def official(request: HttpRequest) -> HttpResponse:
    figures = official_figures(_language())
    context = {"figures": [f.as_dict() for f in figures], "may_import": selectors.may_recompute(request.user)}
    return _page(request, "analytics/official.html", context, "official")


@login_required
def monitoring_page(request: HttpRequest, pillar: str) -> HttpResponse:
    if not selectors.may_see_analysis(request.user):
        return _forbidden(request)
    if pillar not in monitoring.PILLARS:
        return _page(request, "analytics/forbidden.html", {"reason": _("No such page.")}, "", status=404)
    figures, facts = monitoring.pillar_figures(request.user, pillar, _language())
    return _page(
        request,
        "analytics/monitoring.html",
        {
            "pillar": pillar,
            "pillars": monitoring.PILLARS,
            "title": monitoring.PILLARS[pillar],
            "figures": [f.as_dict() for f in figures],
            "facts": facts,
        },
        "monitoring",
    )
