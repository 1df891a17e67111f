"""Programme administrators: run matching now, watch a run, and the matching metrics."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.scoping import administered

from .. import selectors
from ..explanations import short_reason
from ..models import Match, MatchRun
from ..selectors_matching import matching_metrics
from ..services.matching import MatchingRefused, matching_run_request
from .common import PAGE_SIZE, admins_only, page, sender_label

# Figures from the run's stats worth a line of their own (the rest are listed as they come).
RUN_FIGURES = {
    "requests": gettext_lazy("Open requests with free places"),
    "experts": gettext_lazy("Experts who could be matched"),
    "proposals_created": gettext_lazy("Proposals created"),
    "proposals_skipped": gettext_lazy("Proposals skipped (already asked)"),
    "total_seconds": gettext_lazy("Seconds taken"),
}


@admins_only
def runs(request: HttpRequest) -> HttpResponse:
    listing = Paginator(selectors.runs_visible_to(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    programmes = administered(request.user).order_by("slug")
    context = {"page": listing, "programmes": programmes, "platform_wide": request.user.is_superuser}
    return page(request, "diaspora/admin/runs.html", context, current="admin")


@admins_only
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    try:
        run = matching_run_request(user=request.user, programme_slug=request.POST.get("programme", ""))
    except MatchingRefused as exc:
        messages.error(request, str(exc))
        return redirect("diaspora-admin")
    messages.success(request, _("Matching has started. This page shows its progress."))
    return redirect("diaspora-admin-run", run_id=run.pk)


@admins_only
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for(request.user, run_id)
    stats = run.stats or {}
    finished = run.status in (MatchRun.Status.COMPLETE, MatchRun.Status.ERROR)
    context = {
        "run": run,
        "requested_by": sender_label(run.requested_by) if run.requested_by_id else "—",
        "finished": finished,
        # the run's own report (its worker writes it at each step); a waiting run shows a sliver
        "progress": 100 if finished else max(run.progress, 5),
        "figures": [(label, stats[key]) for key, label in RUN_FIGURES.items() if key in stats],
        "unmatched": len(stats.get("unmatched") or {}),
        "short": _short_requests(request.user, stats.get("short") or []),
        "other_stats": sorted(
            (k, v)
            for k, v in stats.items()
            if k not in RUN_FIGURES and k not in ("unmatched", "short") and not isinstance(v, dict | list)
        ),
    }
    return page(request, "diaspora/admin/run.html", context, current="admin")


SHORT_LISTED = 200  # the run page lists this many requests left short (the stats keep all)


def _short_requests(user, short: list[dict]) -> list[dict[str, Any]]:
    """Each request the run left short, with the places missing and why (titles only of the
    requests this administrator may see)."""
    ids = [row["request"] for row in short[:SHORT_LISTED] if isinstance(row, dict)]
    titles = dict(selectors.requests_visible_to(user).filter(pk__in=ids).values_list("pk", "title"))
    return [
        {"id": row["request"], "title": titles[row["request"]], "missing": row.get("missing"),
         "why": short_reason(str(row.get("reason", "")))}
        for row in short[:SHORT_LISTED]
        if isinstance(row, dict) and row.get("request") in titles
    ]  # fmt: skip


@admins_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Computed over the requests this administrator may see (all of them for a superuser)."""
    figures = matching_metrics(selectors.requests_visible_to(request.user))
    return page(
        request, "diaspora/admin/metrics.html", {"figures": _metric_rows(figures), "m": figures}, current="admin"
    )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)}%"


def _metric_rows(m) -> list[dict[str, Any]]:
    labels = dict(Match.Status.choices)
    return [
        {
            "key": "acceptance",
            "label": _("Acceptance rate"),
            "value": _percent(m.acceptance_rate),
            "definition": _("Offers accepted, out of offers accepted, declined or left to expire."),
        },
        {
            "key": "response",
            "label": _("Median time to respond"),
            "value": "—" if m.median_response_hours is None else _("%(hours)s h") % {"hours": m.median_response_hours},
            "definition": _("Half of the experts answered an offer faster than this (%(n)s answers).")
            % {"n": m.offers_answered},
        },
        {
            "key": "coverage",
            "label": _("Coverage within 30 days"),
            "value": _percent(m.coverage_30d),
            "definition": _(
                "Requests with an expert who accepted within 30 days of posting, out of %(n)s requests that are "
                "30 days old or already have one."
            )
            % {"n": m.requests_considered},
        },
        {
            "key": "gini",
            "label": _("Concentration of load (Gini)"),
            "value": "—" if m.gini_load is None else f"{m.gini_load:.2f}",
            "definition": _(
                "0 when the %(n)s experts who offer something carry equal numbers of engagements; "
                "towards 1 when a few carry them all."
            )
            % {"n": m.experts_with_offers},
        },
    ] + [
        {"key": "status-" + k, "status": True, "label": labels.get(k, k), "value": v}
        for k, v in sorted(m.by_status.items())
    ]
