"""Waves with synthetic responses for the aggregation tests (through the one response service)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.core.management import call_command
from django.test import TestCase

from analytics.demo import answer_by_public_link, synthetic_answers
from analytics.models import WaveAnalysis
from surveys.models import Response, SurveyVersion, Wave

MARGIN_2019 = {"field": "country_residence", "scheme": "destination-4", "indicator": "OE_5T8",
               "time_period": "2019", "other": "OTHER"}  # fmt: skip


def official_loaded() -> None:
    call_command("load_official", verbosity=0)


def wave_with_answers(
    version: SurveyVersion, slug: str, n: int, *, seed: int = 1, margins=None, year: int = 2025
) -> Wave:
    wave = Wave.objects.create(
        survey=version.survey, version=version, slug=slug, name=slug,
        opens_at=dt.datetime(year, 1, 1, tzinfo=dt.UTC), is_public=True,
    )  # fmt: skip
    WaveAnalysis.objects.create(wave=wave, margins=margins or [], weight_bounds=[0.1, 10])
    add_answers(wave, n, seed=seed, year=year)
    return wave


def add_answers(wave: Wave, n: int, *, seed: int, year: int = 2025, **overrides) -> list[Response]:
    rng = np.random.default_rng(seed)
    out = []
    for values in synthetic_answers(rng, n, year=year, shift=0.0):
        values.update(overrides)
        out.append(answer_by_public_link(wave, values, "en"))
    return out


def computed(wave: Wave, **kwargs):
    """Request the wave's figures and run the job in-process (on-commit callbacks run at once)."""
    from analytics.services.aggregation import aggregation_request

    with TestCase.captureOnCommitCallbacks(execute=True):
        job = aggregation_request(wave, **kwargs)
    job.refresh_from_db()
    return job
