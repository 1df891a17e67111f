"""Synthetic programme participants for the demo (marked synthetic wherever they are shown).

Bolashak: 3,000 participants, cohorts 2005-2021, five years of work in Kazakhstan within
eight years of graduation. Their episodes are drawn so the statuses come out near the split
the programme's operator published for 2023 (9,527 fulfilled, 2,987 on monitoring, 268 not
returned): most older cohorts have served their five years, younger ones are in service or
back without work on record, a few never came back. Serpin-2050: about 1,000 participants,
two years of work within three years in the receiving regions (rules adopted in 2014, so East
Kazakhstan and Karaganda cover Abai and Ulytau); most work in Almaty, Astana or Shymkent
instead, so few fulfil it (a 2025 commentary reported 17%).

Every row is checked by the service's own checks (``episode_values``) and the standing is
worked out by the nightly service (``obligations_recompute``); only the inserts are in bulk.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from accounts.models import Programme, User

from .models import Episode, ObligationPause, ObligationRule, Participation
from .services.obligations import episode_values, obligations_recompute

FIRST = [
    "Aigerim",
    "Daniyar",
    "Asel",
    "Nurlan",
    "Dana",
    "Yerlan",
    "Aruzhan",
    "Timur",
    "Madina",
    "Askar",
    "Zhanna",
    "Arman",
    "Kamila",
    "Bauyrzhan",
    "Saule",
    "Olzhas",
    "Aliya",
    "Marat",
    "Gulnara",
    "Yerzhan",
    "Dinara",
    "Ruslan",
]
LAST = ["Nurlanov", "Sadykov", "Akhmetov", "Zhaksylykov", "Omarov", "Abenov", "Karimov", "Bekov", "Seitkali",
        "Tulegenov", "Mukhamedov", "Iskakov", "Kim", "Ivanov", "Suleimenov", "Baimukhanov", "Yessenov"]  # fmt: skip
HOSTS = [("GBR", "University College London"), ("USA", "Columbia University"), ("DEU", "TU München"),
         ("KOR", "Seoul National University"), ("RUS", "Lomonosov Moscow State University"), ("NLD", "TU Delft"),
         ("CHN", "Tsinghua University"), ("FRA", "Sciences Po"), ("CAN", "University of Toronto"),
         ("JPN", "University of Tokyo")]  # fmt: skip
FIELDS = ["041", "061", "071", "073", "091", "031", "053", "042", "052", "011"]
EMPLOYERS = ["Nazarbayev University", "Kaspi.kz", "KazMunayGas", "Halyk Bank", "Samruk-Kazyna", "Kazatomprom",
             "Ministry of Health", "Astana IT University", "Air Astana", "KEGOC", "Regional hospital", "Akimat"]  # fmt: skip
# Where Bolashak graduates work: mostly the two cities.
BOLASHAK_REGIONS = (["KZ-71", "KZ-75", "KZ-79", "KZ-35", "KZ-63", "KZ-55", "KZ-23", "KZ-15", "KZ-47"],
                    [0.38, 0.34, 0.05, 0.05, 0.04, 0.04, 0.04, 0.03, 0.03])  # fmt: skip
SERPIN_RECEIVING = ["KZ-11", "KZ-39", "KZ-59", "KZ-55", "KZ-63", "KZ-27", "KZ-15", "KZ-35"]


def _date(base: dt.date, days: float) -> dt.date:
    return base + dt.timedelta(days=int(days))


def obligations_demo(*, today: dt.date | None = None, seed: int = 2023) -> dict[str, Any]:
    """Load the synthetic participants once (a rerun changes nothing); returns counts by programme."""
    today = today or timezone.localdate()
    programmes = {p.slug: p for p in Programme.objects.filter(slug__in=["bolashak", "serpin-2050"])}
    if len(programmes) < 2:
        raise RuntimeError("The demo programmes are missing: run load_demo first.")
    if Participation.objects.filter(synthetic=True, programme__in=programmes.values()).exists():
        return _counts(programmes)
    rng = np.random.default_rng(seed)
    with transaction.atomic():
        bolashak = ObligationRule.objects.get_or_create(
            programme=programmes["bolashak"], version=1,
            defaults={"name": "Five years of work in Kazakhstan", "adopted_on": dt.date(2008, 1, 1), "cohorts_from": 2005,
                      "months_required": 60, "window_months": 96, "grace_months": 6, "countries": ["KAZ"],
                      "notes": "Return after graduation, then five years of work in Kazakhstan (synthetic demo rule)."},
        )[0]  # fmt: skip
        serpin = ObligationRule.objects.get_or_create(
            programme=programmes["serpin-2050"], version=1,
            defaults={"name": "Two years of work in a receiving region", "adopted_on": dt.date(2014, 1, 1),
                      "cohorts_from": 2014, "months_required": 24, "window_months": 36, "grace_months": 3,
                      "countries": ["KAZ"], "regions": SERPIN_RECEIVING,
                      "notes": "Graduates from the south work two years in the region where they studied (synthetic)."},
        )[0]  # fmt: skip
        people, episodes, pauses = [], [], []
        for index in range(3000):
            _bolashak_person(rng, index, bolashak, today, people, episodes, pauses)
        for index in range(1000):
            _serpin_person(rng, index, serpin, today, people, episodes, pauses)
        created = Participation.objects.bulk_create([p for p, _ in people], batch_size=1000)
        by_key = {p.external_id: p for p in created}
        Episode.objects.bulk_create(
            [Episode(participation=by_key[key], **values) for key, values in episodes], batch_size=2000
        )
        ObligationPause.objects.bulk_create(
            [ObligationPause(participation=by_key[key], **values) for key, values in pauses], batch_size=1000
        )
        _graduate(by_key["B-0007"])
    obligations_recompute(Participation.objects.filter(synthetic=True), on=today)
    return _counts(programmes)


def _counts(programmes: dict[str, Programme]) -> dict[str, Any]:
    out = {}
    for slug, programme in programmes.items():
        rows = Participation.objects.filter(programme=programme, synthetic=True)
        out[slug] = {
            status: rows.filter(status=status).count() for status in rows.values_list("status", flat=True).distinct()
        }
    return out


def _participation(rng, key: str, rule: ObligationRule, cohort: int, graduation: dt.date) -> Participation:
    country, institution = HOSTS[rng.integers(len(HOSTS))]
    return Participation(
        programme=rule.programme, rule=rule, cohort=cohort, external_id=key,
        full_name=f"{FIRST[rng.integers(len(FIRST))]} {LAST[rng.integers(len(LAST))]}", email="",
        host_country=country, host_institution=institution, field_of_study=FIELDS[rng.integers(len(FIELDS))],
        graduation_date=graduation, obligation_start=graduation, synthetic=True,
    )  # fmt: skip


def _source(rng) -> dict[str, str]:
    pick = rng.random()
    if pick < 0.45:
        return {"source": Episode.Source.ADMINISTRATIVE}
    if pick < 0.60:
        return {"source": Episode.Source.EMPLOYER}
    if pick < 0.70:
        return {"source": Episode.Source.PARTICIPANT, "review": Episode.Review.ACCEPTED}
    return {"source": Episode.Source.SURVEY if pick < 0.88 else Episode.Source.PARTICIPANT}


def _add(episodes, key: str, values: dict[str, Any], extra: dict[str, Any]) -> None:
    checked = episode_values(values)
    episodes.append((key, {**checked, **extra}))


def _bolashak_person(rng, index: int, rule, today, people, episodes, pauses) -> None:
    key = f"B-{index:04d}"
    # Graduation two to four years after the award.
    cohort = int(rng.integers(2005, 2022))
    graduation = dt.date(cohort + int(rng.integers(2, 5)), 6, 30)
    if graduation > today:
        graduation = dt.date(today.year - 1, 6, 30)
    people.append((_participation(rng, key, rule, cohort, graduation), None))
    fate = rng.random()
    host = people[-1][0].host_country
    if fate < 0.012:  # never came back
        _add(episodes, key, {"kind": "residence", "start": graduation, "country": host}, _source(rng))
        return
    if fate < 0.035:  # a deferral (further study abroad), then back
        end = _date(graduation, rng.integers(300, 900))
        pauses.append((key, {"kind": "deferral", "start": _date(graduation, 1), "end": end, "reason": "PhD abroad"}))
        graduation = end
    if fate > 0.99:
        pauses.append((key, {"kind": "exemption", "start": _date(graduation, 30), "reason": "Health (synthetic)"}))
    back = _date(graduation, rng.gamma(2.0, 60))
    if back > today:
        _add(episodes, key, {"kind": "residence", "start": graduation, "country": host}, _source(rng))
        return
    _add(episodes, key, {"kind": "residence", "start": back, "country": "KAZ"}, _source(rng))
    start = _date(back, rng.integers(0, 120))
    regions, weights = BOLASHAK_REGIONS
    jobs = int(rng.integers(1, 4))
    for job in range(jobs):
        if start > today:
            break
        length = int(rng.integers(900, 3200))
        end = _date(start, length) if job < jobs - 1 or rng.random() < 0.25 else None
        if end is not None and end >= today:
            end = None
        _add(episodes, key, {"kind": "employment", "start": start, "end": end, "country": "KAZ",
                             "region": str(rng.choice(regions, p=weights)),
                             "employer": EMPLOYERS[rng.integers(len(EMPLOYERS))],
                             "specialty_related": bool(rng.random() < 0.8)}, _source(rng))  # fmt: skip
        if end is None:
            break
        start = _date(end, rng.integers(1, 60))


def _serpin_person(rng, index: int, rule, today, people, episodes, pauses) -> None:
    key = f"S-{index:04d}"
    cohort = int(rng.integers(2014, 2023))
    graduation = dt.date(cohort + 4, 6, 30)
    if graduation > today:
        graduation = dt.date(today.year - 1, 6, 30)
    people.append((_participation(rng, key, rule, cohort, graduation), None))
    people[-1][0].host_country, people[-1][0].host_institution = "KAZ", "Regional university (Serpin-2050)"
    start = _date(graduation, rng.integers(15, 150))
    if start > today:
        return
    fate = rng.random()
    if fate < 0.24:  # stays in the receiving region
        region = str(rng.choice(SERPIN_RECEIVING))
        if region == "KZ-63" and rng.random() < 0.3:
            region = "KZ-10"  # Abai, split from East Kazakhstan in 2022: still qualifying under the 2014 rules
        length = int(rng.integers(500, 1500))
    elif fate < 0.85:  # goes south or to the big cities
        region, length = str(rng.choice(["KZ-75", "KZ-79", "KZ-71", "KZ-61", "KZ-31"])), int(rng.integers(300, 2000))
    else:
        region, length = str(rng.choice(SERPIN_RECEIVING)), int(rng.integers(60, 400))  # leaves early
    end = _date(start, length)
    _add(episodes, key, {"kind": "employment", "start": start, "end": None if end >= today else end, "country": "KAZ",
                         "region": region, "employer": EMPLOYERS[rng.integers(len(EMPLOYERS))],
                         "specialty_related": True}, _source(rng))  # fmt: skip


def _graduate(participation: Participation) -> None:
    """The demo graduate's own participation (so their page has something real on first login)."""
    user = User.objects.filter(username="graduate").first()
    if user is None:
        return
    from django.core.files.base import ContentFile

    from .models import Person

    person = Person.objects.filter(user=user).first()
    participation.person = person
    participation.full_name = (person.display_name if person else user.get_full_name()) or participation.full_name
    participation.email = user.email
    participation.save()
    latest = participation.episodes.filter(kind="employment").order_by("-start").first()
    if latest is not None:
        latest.source, latest.review = Episode.Source.PARTICIPANT, Episode.Review.PENDING
        latest.document.save(
            "employment-letter.pdf", ContentFile(b"%PDF-1.4\n% synthetic employment letter\n"), save=False
        )
        latest.save()
