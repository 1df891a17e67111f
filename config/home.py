"""A programme administrator's home: each programme they administer, with what needs doing
in each area (fieldwork, expert requests, returns, research data requests).

Every figure comes from the owning app's scoped selectors, so this page shows exactly
what the area's own pages would show this user.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.scoping import administered


def _waves(user, programme_ids: set[int]) -> dict[int, list]:
    from surveys import selectors_admin

    now = timezone.now()
    by_programme: dict[int, list] = {pid: [] for pid in programme_ids}
    waves = selectors_admin.waves_overview(user).select_related("survey").order_by("-opens_at")
    for wave in waves:
        if wave.survey.programme_id in by_programme:
            wave.open_now = wave.is_open(now)
            by_programme[wave.survey.programme_id].append(wave)
    return by_programme


def _requests(user) -> dict[int | None, dict[str, int]]:
    from diaspora.models import ExpertiseRequest
    from diaspora.selectors import requests_visible_to

    rows = (
        requests_visible_to(user)
        .order_by()
        .values("programme_id")
        .annotate(
            open=Count("id", filter=Q(status=ExpertiseRequest.Status.OPEN)),
            filled=Count("id", filter=Q(status=ExpertiseRequest.Status.FILLED)),
        )
    )
    return {row["programme_id"]: row for row in rows}


def _open_requests(user) -> dict[int | None, list]:
    from diaspora.models import ExpertiseRequest
    from diaspora.selectors import requests_visible_to

    found: dict[int | None, list] = {}
    rows = requests_visible_to(user).filter(status=ExpertiseRequest.Status.OPEN).select_related("institution")
    for request in rows.order_by("-created_at")[:100]:
        found.setdefault(request.programme_id, []).append(request)
    return found


def _last_runs(user) -> dict[int | None, object]:
    from diaspora.selectors import runs_visible_to

    found: dict[int | None, object] = {}
    for run in runs_visible_to(user).order_by("-created_at")[:50]:
        found.setdefault(run.programme_id, run)
    return found


def _returns(user) -> dict[int, dict[str, Any]]:
    """The headline figures of each programme's cohorts (with their denominators) and the first
    of the at-risk list: the same service the returns page reads."""
    from diaspora.selectors_obligations import participations_administered
    from diaspora.services.obligation_indicators import programme_summaries

    return {row["programme"].pk: row for row in programme_summaries(user, participations_administered(user))}


def _research(user) -> dict[int, int]:
    from analytics.selectors_research import requests_to_review

    rows = (
        requests_to_review(user)
        .prefetch_related(None)
        .order_by()
        .values("survey__programme_id")
        .annotate(n=Count("id"))
    )
    return {row["survey__programme_id"]: row["n"] for row in rows}


def programmes_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    programmes = list(administered(user).order_by("slug"))
    ids = {p.pk for p in programmes}
    waves, requests, returns, research = _waves(user, ids), _requests(user), _returns(user), _research(user)
    open_requests, runs = _open_requests(user), _last_runs(user)
    cards: list[dict[str, Any]] = [
        {
            "programme": programme,
            "waves": waves.get(programme.pk, [])[:5],
            "wave_total": len(waves.get(programme.pk, [])),
            "requests": requests.get(programme.pk, {"open": 0, "filled": 0}),
            "open_requests": open_requests.get(programme.pk, [])[:5],
            "last_run": runs.get(programme.pk),
            "returns": returns.get(programme.pk),
            "research": research.get(programme.pk, 0),
        }
        for programme in programmes
    ]
    return render(request, "home/programmes.html", {"cards": cards, "platform_wide": user.is_superuser})
