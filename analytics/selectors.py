"""Who sees which analysis, decided here once for the pages, the API and the admin.

Programme administrators see the waves of their programmes, with cells published at
the administrators' threshold (5 respondents by default); superusers see every wave at
that threshold. Researchers see every wave's aggregates at the public threshold (10):
never a cell below it, never the unsuppressed cells. Respondents and institution staff
see no survey analysis. Official statistics are public figures: everyone signed in.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Role, User
from accounts.scoping import is_programme_admin, programme_q
from surveys.models import Wave
from surveys.selectors_summaries import with_response_counts

from .models import AggregationJob, IndicatorTable, WaveAnalysis

PROGRAMME = "programme"
PUBLIC = "public"


def may_see_analysis(user: User) -> bool:
    return bool(user.is_authenticated and (is_programme_admin(user) or user.role == Role.RESEARCHER))


def may_recompute(user: User) -> bool:
    return is_programme_admin(user)


def audience(user: User) -> str:
    """Which published version of a table the user gets."""
    return PROGRAMME if is_programme_admin(user) else PUBLIC


def _wave_q(user: User, path: str = "") -> Q:
    prefix = f"{path}__" if path else ""
    if not may_see_analysis(user):
        return Q(pk__in=[])
    if is_programme_admin(user):
        return programme_q(user, f"{prefix}survey__programme")
    return Q()  # researchers: every wave, public threshold


def analysis_waves(user: User) -> QuerySet[Wave]:
    """Waves whose analysis the user may read, with their complete-response counts (kept by the
    database as responses change: no view counts every response)."""
    waves = Wave.objects.filter(_wave_q(user)).select_related("survey", "survey__programme")
    return with_response_counts(waves, complete="complete").order_by("survey__slug", "-opens_at")


def analysis_overview(user: User) -> list[dict[str, Any]]:
    """The user's waves with their latest job and whether they are synthetic: three queries in all."""
    waves = list(analysis_waves(user))
    ids = [wave.pk for wave in waves]
    synthetic = set(WaveAnalysis.objects.filter(wave_id__in=ids, synthetic=True).values_list("wave_id", flat=True))
    latest: dict[int, AggregationJob] = {}
    for job in AggregationJob.objects.filter(wave_id__in=ids).order_by("wave_id", "-created_at"):
        latest.setdefault(job.wave_id, job)
    for wave in waves:
        if wave.pk in latest:
            latest[wave.pk].wave = wave  # no query per job for its wave
    return [{"wave": wave, "job": latest.get(wave.pk), "synthetic": wave.pk in synthetic} for wave in waves]


def analysis_wave_get(user: User, slug: str) -> Wave:
    wave = analysis_waves(user).filter(slug=slug).first()
    if wave is None:
        raise Http404("No such wave.")
    return wave


def wave_plan(wave: Wave) -> WaveAnalysis | None:
    return WaveAnalysis.objects.filter(wave=wave).first()


def jobs_visible_to(user: User) -> QuerySet[AggregationJob]:
    return AggregationJob.objects.filter(_wave_q(user, "wave")).select_related("wave")


def job_get(user: User, pk: int) -> AggregationJob:
    job = jobs_visible_to(user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such job.")
    return job


def latest_job(wave: Wave) -> AggregationJob | None:
    return AggregationJob.objects.filter(wave=wave).order_by("-created_at").first()


def tables_visible_to(user: User) -> QuerySet[IndicatorTable]:
    return IndicatorTable.objects.filter(_wave_q(user, "wave")).select_related("wave", "wave__survey")


def published_table(user: User, table: IndicatorTable) -> dict[str, Any]:
    """The table as the user may see it: the suppressed cells of their audience, never the raw ones."""
    view = table.published.get(audience(user)) or {"cells": [], "margins": {}, "threshold": None}
    meta = {key: value for key, value in table.meta.items()}
    return {
        "wave": table.wave.slug,
        "survey": table.wave.survey.slug,
        "indicator": table.indicator,
        "breakdown": table.breakdown,
        "weighting": table.weighting,
        "kind": table.kind,
        "label": table.label,
        "computed_at": table.computed_at,
        "threshold": view.get("threshold"),
        "cells": view.get("cells", []),
        "margins": view.get("margins", {}),
        "official": view.get("official", {}),
        "suppressed": view.get("suppressed", {}),
        "meta": meta,
    }


def wave_tables(user: User, wave: Wave, **filters: str) -> list[dict[str, Any]]:
    rows = tables_visible_to(user).filter(wave=wave, **{k: v for k, v in filters.items() if v})
    return [published_table(user, table) for table in rows.order_by("indicator", "breakdown", "weighting")]


def survey_trend(user: User, wave: Wave, indicator: str, weighting: str = "none") -> list[dict[str, Any]]:
    """The whole-sample table of `indicator` in every visible wave of the wave's survey, oldest first."""
    rows = (
        tables_visible_to(user)
        .filter(wave__survey=wave.survey, indicator=indicator, breakdown="all", weighting=weighting)
        .order_by("wave__opens_at")
    )
    return [published_table(user, table) for table in rows]
