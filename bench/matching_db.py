"""The nightly matching job end to end on PostgreSQL: 100,000 experts x 10,000 requests.

bench/matching.py measures the engine on rows in memory; this one measures what the
nightly task really does (diaspora.services.matching.matching_run): read every matchable
profile with its offers, reserved capacity and affiliations, read the open requests with
their places and askees, build the index, match, and write the proposals. The registry is
loaded with bulk inserts first (not timed). Baseline in the same run: one bare
`SELECT` of the same person rows (the least any database read must cost).

    .venv/bin/python bench/matching_db.py                                 # 100,000 x 10,000
    .venv/bin/python bench/matching_db.py --experts 5000 --requests 500  # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 15
TARGET_PEAK_MB = 600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kelu_bench").rsplit("/", 1)[0]
        + "/kelu_bench_matching",
    )
    parser.add_argument("--job-only", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.job_only:
        configure(args.database, recreate=False)
        print(json.dumps(measure()))
        return
    configure(args.database)
    seconds_load = load(args.experts, args.requests)
    # The job runs in a fresh process, as in a worker: its peak memory is its own, not the
    # loading's.
    child = subprocess.run(
        [sys.executable, __file__, "--job-only", "--database", args.database],
        check=True,
        capture_output=True,
        text=True,
    )
    report(args, seconds_load, json.loads(child.stdout.strip().splitlines()[-1]))


def configure(database_url: str, *, recreate: bool = True) -> None:
    from bench.submissions import recreate_database

    if recreate:
        recreate_database(database_url)
    os.environ.pop("REDIS_URL", None)
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        SECRET_KEY="bench-" + uuid.uuid4().hex * 2,
    )
    import django

    django.setup()
    if recreate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def load(n_experts: int, n_requests: int) -> float:
    """The synthetic population as database rows (bulk inserts; not part of the timing)."""
    from django.utils import timezone

    from accounts.models import User
    from diaspora.matching.synthetic import population
    from diaspora.models import Consent, ExpertiseRequest, Institution, Offer, Person

    started = time.perf_counter()
    experts, requests, _planted = population(n_experts, n_requests, seed=0)
    now = timezone.now()
    users = User.objects.bulk_create(
        [User(username=f"expert{e.person_id}", password="!") for e in experts], batch_size=5000
    )
    people = Person.objects.bulk_create(
        [
            Person(
                user=user, display_name=f"Expert {e.person_id}", bio=e.text[:1500], field_of_study=e.field,
                occupation=e.occupation, skills=list(e.skills), tags=list(e.tags), languages=list(e.languages),
                country=e.country, home_region=e.home_region, timezone=_zone(e.utc_offset), last_confirmed_at=now,
            )
            for user, e in zip(users, experts, strict=True)
        ],
        batch_size=5000,
    )  # fmt: skip
    Offer.objects.bulk_create(
        [
            Offer(person=p, mode=o.mode, capacity=max(1, o.remaining), unit=o.unit, remote=o.remote, onsite=o.onsite)
            for p, e in zip(people, experts, strict=True)
            for o in e.offers
        ],
        batch_size=5000,
    )
    Consent.objects.bulk_create(
        [
            Consent(person=p, purpose=purpose, text_version="2026-11", given_at=now)
            for p in people
            for purpose in (Consent.Purpose.REGISTRY, Consent.Purpose.MATCHING)
        ],
        batch_size=10000,
    )
    institutions = {
        r.institution_id: Institution(name=f"Institution {r.institution_id}", region=r.region) for r in requests
    }
    Institution.objects.bulk_create(list(institutions.values()), batch_size=5000)
    ExpertiseRequest.objects.bulk_create(
        [
            ExpertiseRequest(
                institution=institutions[r.institution_id], title=r.text[:200], topic=r.text, mode=r.mode,
                field_of_study=r.field, skills=list(r.skills), languages=list(r.languages), region=r.region,
                format=r.format, experts_needed=max(1, r.slots), hours_per_expert=r.hours_per_expert,
            )
            for r in requests
        ],
        batch_size=5000,
    )  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load; the planner needs it
    return time.perf_counter() - started


def rss_mb() -> float:
    from bench.matching import rss_mb as rss

    return rss()


def peak_mb() -> float:
    from bench.matching import peak_mb as peak

    return peak()


def reset_peak() -> None:
    from bench.matching import reset_peak as reset

    reset()


def _zone(offset: float) -> str:
    # Etc/GMT zones have the sign inverted (Etc/GMT-5 is UTC+5); whole hours are enough here.
    hours = int(round(offset))
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def measure() -> dict[str, float]:
    from django.db import connection

    from diaspora.models import Match, MatchRun
    from diaspora.services.matching import matching_run, matching_run_start

    run, _ = matching_run_start(kind=MatchRun.Kind.MANUAL, key="bench")
    before_mb = rss_mb()
    reset_peak()
    started = time.perf_counter()
    run = matching_run(run=run)
    total = time.perf_counter() - started
    job_peak = peak_mb()
    started = time.perf_counter()  # the baseline after the job, so its rows are not in the job's peak
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, field_of_study, skills, languages, bio FROM diaspora_person")
        rows = len(cursor.fetchall())
    baseline = time.perf_counter() - started
    stats = run.stats
    return {
        "baseline_select": baseline,
        "baseline_rows": rows,
        "total": total,
        "read_requests": stats["load_seconds"],
        "engine": stats.get("seconds_total", 0.0),
        "proposals": Match.objects.filter(run=run).count(),
        "experts": stats["experts"],
        "requests": stats["requests"],
        "before_mb": before_mb,
        "job_peak_mb": job_peak,
        "proposal_seconds": stats.get("write_seconds", 0.0),
        "expert_seconds": stats.get("read_experts_seconds", 0.0),
        "index_seconds": stats.get("index_seconds", 0.0),
    }


def report(args, seconds_load: float, m: dict[str, float]) -> None:
    rest = m["total"] - m["read_requests"] - m["engine"]
    lines = [
        f"Nightly matching job on PostgreSQL: {m['experts']:,} matchable experts x {m['requests']:,} open requests",
        "",
        f"{'stage':46} {'seconds':>8}",
        f"{'loading the registry (bulk inserts, not timed)':46} {seconds_load:8.1f}",
        f"{'read open requests (places, askees, weights)':46} {m['read_requests']:8.1f}",
        f"{'read experts (profiles, offers, load, ties)':46} {m['expert_seconds']:8.1f}",
        f"{'build the index (text, concepts, skills)':46} {m['index_seconds']:8.1f}",
        f"{'write proposals':46} {m['proposal_seconds']:8.1f}",
        f"{'other (claiming the run, statistics)':46} {rest - m['expert_seconds'] - m['index_seconds'] - m['proposal_seconds']:8.1f}",
        f"{'engine: filters, scoring, assignment':46} {m['engine']:8.1f}",
        f"{'total: matching_run':46} {m['total']:8.1f}",
        f"{'baseline: bare SELECT of the person rows':46} {m['baseline_select']:8.1f}",
        f"{'ratio total / baseline':46} {m['total'] / max(m['baseline_select'], 1e-9):8.1f}",
        "",
        f"proposals written: {m['proposals']:,}",
        f"resident memory of the job's process (MB): {m['before_mb']:,.0f} before the job (Django loaded), "
        f"peak {m['job_peak_mb']:,.0f}",
        f"target <= {TARGET_SECONDS} s: {'met' if m['total'] <= TARGET_SECONDS else 'NOT met'} ({m['total']:.1f} s)",
        f"target peak <= {TARGET_PEAK_MB} MB: {'met' if m['job_peak_mb'] <= TARGET_PEAK_MB else 'NOT met'} "
        f"({m['job_peak_mb']:,.0f} MB)",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
