"""Demo data for the analysis pages: two waves of synthetic responses, marked synthetic everywhere.

The responses are generated (a fixed seed, so every demo shows the same figures) and go
through the one response service like any answer would, on two public waves of the
Bolashak graduate survey that close once filled. Their destinations are deliberately
not distributed like the official students-abroad series, so weighting has work to do.
Both waves are weighted to the UIS host-country series (2018 and 2019, grouped
Russia / other CIS / OECD / other); the 2019 extract lacks the USA, which the
weighting report names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from analytics.models import WaveAnalysis
from surveys.models import Response, SurveyVersion, Wave
from surveys.services import respondent as respondent_flow
from surveys.services.responses import response_update

SYNTHETIC_NOTE = gettext_noop("Synthetic responses generated for the demo; not real graduates.")
# Destination mix of the synthetic sample (Russia under-represented on purpose).
COUNTRIES = {
    "RUS": 0.30, "KGZ": 0.05, "UZB": 0.02, "BLR": 0.02, "USA": 0.14, "GBR": 0.10, "DEU": 0.08, "CZE": 0.05,
    "TUR": 0.05, "KOR": 0.04, "POL": 0.03, "CAN": 0.03, "CHN": 0.04, "MYS": 0.03, "ARE": 0.02,
}  # fmt: skip
CITIES = {"RUS": "Moscow", "USA": "Boston", "GBR": "London", "DEU": "Berlin", "CHN": "Beijing"}
FIELDS = ["f04_business_law", "f06_ict", "f07_engineering_manufacturing", "f05_natural_sciences_maths",
          "f09_health_welfare", "f03_social_journalism", "f02_arts_humanities", "f01_education"]  # fmt: skip
PROGRAMMES = ["bolashak", "self_funded", "state_academic_mobility", "serpin_2050", "other_programme"]
INTENTIONS = ["already_returned", "right_after_studies", "after_work_abroad", "undecided", "will_not_return"]
BARRIERS = ["barrier_salary", "barrier_bureaucracy", "barrier_corruption", "barrier_rule_of_law", "barrier_career",
            "barrier_research", "barrier_housing", "barrier_family", "barrier_services", "barrier_political",
            "barrier_environment", "barrier_language"]  # fmt: skip
# Mean barrier score per item (higher = stronger barrier), before noise.
BARRIER_MEANS = [4.2, 3.6, 3.8, 3.3, 3.9, 3.5, 3.0, 2.2, 2.8, 3.1, 2.9, 1.8]
FACTORS = ["higher_salary", "matching_job", "research_funding", "less_bureaucracy", "rule_of_law", "housing_support",
           "family_reasons", "startup_support"]  # fmt: skip
MODES = ["mentoring", "guest_lecture", "joint_research", "co_supervision", "consulting", "investment",
         "internship_hosting"]  # fmt: skip
WAVES = (
    {"slug": "graduates-2024-synthetic", "name": "Graduates abroad 2024 (synthetic)", "year": 2024, "period": "2019",
     "seed": 2024, "shift": 0.0,
     "names": {"kk": "Шетелдегі түлектер, 2024 (синтетикалық деректер)",
               "ru": "Выпускники за рубежом, 2024 (синтетические данные)", "en": "Graduates abroad 2024 (synthetic)"}},
    {"slug": "graduates-2025-synthetic", "name": "Graduates abroad 2025 (synthetic)", "year": 2025, "period": "2018",
     "seed": 2025, "shift": 0.06,
     "names": {"kk": "Шетелдегі түлектер, 2025 (синтетикалық деректер)",
               "ru": "Выпускники за рубежом, 2025 (синтетические данные)", "en": "Graduates abroad 2025 (synthetic)"}},
)  # fmt: skip


def synthetic_answers(rng: np.random.Generator, n: int, *, year: int, shift: float) -> list[dict[str, Any]]:
    """`n` plausible answer sets; `shift` moves intentions toward returning (a later wave)."""
    countries = rng.choice(list(COUNTRIES), size=n, p=np.array(list(COUNTRIES.values())) / sum(COUNTRIES.values()))
    out = []
    for country in countries:
        cis = country in ("RUS", "KGZ", "UZB", "BLR")
        studying = rng.random() < 0.35
        base = [0.10, 0.18, 0.30, 0.27, 0.15] if not cis else [0.14, 0.24, 0.22, 0.26, 0.14]
        weights = np.array(base) + np.array([shift / 2, shift / 2, 0, -shift / 2, -shift / 2])
        intention = str(rng.choice(INTENTIONS, p=weights / weights.sum()))
        departure = int(rng.integers(year - 9, year - 1))
        answers: dict[str, Any] = {
            "country_residence": str(country),
            "city_residence": CITIES.get(str(country), ""),
            "respondent_status": "studying" if studying else "graduated",
            "study_level": str(rng.choice(["bachelor", "master", "doctoral", "non_degree"], p=[0.3, 0.5, 0.15, 0.05])),
            "field_of_study": str(rng.choice(FIELDS)),
            "programme": str(rng.choice(PROGRAMMES, p=[0.35, 0.3, 0.2, 0.05, 0.1])),
            "departure_year": departure,
            "return_intention": intention,
            "consent_contact": "yes" if rng.random() < 0.6 else "no",
        }
        if studying:
            answers["expected_graduation_year"] = int(rng.integers(year, year + 4))
        else:
            answers["graduation_year"] = int(min(year, departure + rng.integers(1, 6)))
            answers["employment_status"] = str(
                rng.choice(
                    ["job_related", "job_not_related", "further_study", "looking_for_work", "not_working"],
                    p=[0.5, 0.2, 0.12, 0.13, 0.05],
                )  # fmt: skip
            )
        likely = {"already_returned": 4.6, "right_after_studies": 4.0, "after_work_abroad": 3.1, "undecided": 2.6,
                  "will_not_return": 1.5}[intention]  # fmt: skip
        answers["likelihood_5y"] = str(int(np.clip(round(rng.normal(likely, 0.8)), 1, 5)))
        if intention == "already_returned":
            answers["return_year"] = int(min(year, departure + rng.integers(2, 8)))
        else:
            for item, mean in zip(BARRIERS, BARRIER_MEANS, strict=True):
                if rng.random() < 0.93:
                    answers[item] = str(int(np.clip(round(rng.normal(mean, 1.0)), 1, 5)))
            chosen = [f for f in FACTORS if rng.random() < 0.3]
            answers["return_factors"] = chosen or ["nothing_would"]
        modes = [
            m for m in MODES if rng.random() < (0.35 if m in ("mentoring", "guest_lecture", "consulting") else 0.15)
        ]
        answers["engagement_modes"] = modes or ["none"]
        if answers["consent_contact"] == "yes":
            answers["consent_registry"] = "yes" if rng.random() < 0.5 else "no"
        out.append(answers)
    return out


def answer_by_public_link(wave: Wave, values: dict[str, Any], language: str) -> Response:
    """Open the wave's public link and complete it, as a respondent would (the one response path)."""
    handle = respondent_flow.public_start(wave=wave, language=language)
    response, _changed = response_update(response=handle.response, status=Response.Status.COMPLETE, answers=values,
                                         language=language, invitation=None)  # fmt: skip
    return response


def synthetic_waves(version: SurveyVersion, *, per_wave: int = 1500) -> list[Wave]:
    """Two closed public waves with `per_wave` synthetic complete responses each (safe to rerun)."""
    waves = []
    for spec in WAVES:
        opens = dt.datetime(spec["year"], 3, 1, tzinfo=dt.UTC)
        wave, _ = Wave.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "survey": version.survey,
                "version": version,
                "name": spec["name"],
                "names": spec["names"],
                "opens_at": opens,
                "is_public": True,
            },  # fmt: skip
        )
        WaveAnalysis.objects.update_or_create(
            wave=wave,
            defaults={
                "synthetic": True,
                "notes": SYNTHETIC_NOTE,
                "weight_bounds": [0.1, 10],
                "margins": [
                    {
                        "field": "country_residence",
                        "scheme": "destination-4",
                        "indicator": "OE_5T8",
                        "time_period": spec["period"],
                        "other": "OTHER",
                    },  # fmt: skip
                ],
            },
        )
        have = Response.objects.filter(wave=wave, status=Response.Status.COMPLETE).count()
        if have < per_wave:
            if wave.closes_at is not None:
                Wave.objects.filter(pk=wave.pk).update(closes_at=None)
                wave.refresh_from_db()
            rng = np.random.default_rng(spec["seed"])
            answers = synthetic_answers(rng, per_wave, year=spec["year"], shift=spec["shift"])[have:]
            languages = rng.choice(["kk", "ru", "en"], size=len(answers), p=[0.35, 0.5, 0.15])
            with transaction.atomic():
                for values, language in zip(answers, languages, strict=True):
                    answer_by_public_link(wave, values, str(language))
        closes = dt.datetime(spec["year"], 6, 30, tzinfo=dt.UTC)
        if wave.closes_at != closes and timezone.now() > closes:
            Wave.objects.filter(pk=wave.pk).update(closes_at=closes)
            wave.refresh_from_db()
        waves.append(wave)
    return waves
