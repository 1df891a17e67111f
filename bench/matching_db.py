"""The nightly matching job end to end on PostgreSQL: 100,000 experts x 10,000 requests.

bench/matching.py measures the engine on rows in memory; this one measures what the
nightly task really does (diaspora.services.matching.matching_run): read every matchable
profile with its offers, reserved capacity and affiliations, read the open requests with
their places and askees, build the index, match, and write the proposals. The registry is
loaded with bulk inserts first (not timed). Baseline in the same run: one bare
`SELECT` of the same person rows (the least any database read must cost).

Then, in another fresh process, the on-demand top 20 as a web process answers it
(request_top), in the 75 s after registry changes, while the index rebuilds in the background
(measure_top20); baseline: the same requests before any change.

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
    parser.add_argument("--queries", type=int, default=300, help="top-20 queries timed after registry changes")
    parser.add_argument("--pace", type=float, default=0.25, help="seconds between the starts of two top-20 queries")
    parser.add_argument("--child", choices=["job", "top20"], help=argparse.SUPPRESS)  # the measuring processes
    args = parser.parse_args()
    if args.child:
        configure(args.database, recreate=False)
        print(json.dumps(measure() if args.child == "job" else measure_top20(args.queries, args.pace)))
        return
    configure(args.database)
    seconds_load = load(args.experts, args.requests)
    # Each measure runs in a fresh process, as in a worker or a web process: its peak memory is
    # its own, not the loading's.
    measured = {}
    for child in ("job", "top20"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", child, "--database", args.database]
            + ["--queries", str(args.queries), "--pace", str(args.pace)],
            check=True,
            capture_output=True,
            text=True,
        )
        measured[child] = json.loads(out.stdout.strip().splitlines()[-1])
    report(args, seconds_load, measured["job"])
    report_top20(measured["top20"])


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


CHANGE_EVERY = 30  # queries between two registry changes (10 changes in the 75 s)


def measure_top20(n: int, pace: float) -> dict:
    """The on-demand top 20 as a web process answers it (services.matching.request_top: the
    process's index, people changed since ranked from fresh rows, capacity and consent re-read),
    with background rebuilds on as in production. After the process's first query (which builds
    the index) come n queries on random open requests, one every `pace` seconds (0.25: 300
    queries take 75 s, more than MATCHING_INDEX_REFRESH_SECONDS), and a profile
    change (index_changed) before every CHANGE_EVERY-th: the rebuild that the changes start runs
    in a thread of this process while the queries go on. Baseline: the same requests before any
    change."""
    import statistics

    import numpy as np
    from django.conf import settings
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from diaspora.models import ExpertiseRequest, Person
    from diaspora.services import matching
    from diaspora.services.registry import index_changed

    settings.MATCHING_INDEX_BACKGROUND = True
    rng = np.random.default_rng(0)
    open_ids = list(ExpertiseRequest.objects.filter(status=ExpertiseRequest.Status.OPEN).values_list("pk", flat=True))
    requests = [ExpertiseRequest.objects.get(pk=pk) for pk in rng.choice(open_ids, n, replace=True).tolist()]
    people = list(Person.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    matching.request_top(request=requests[0])
    first = time.perf_counter() - started

    def timed(request) -> float:
        started = time.perf_counter()
        matching.request_top(request=request)
        return (time.perf_counter() - started) * 1000

    baseline = [timed(r) for r in requests]
    built = matching._State.snapshot
    times, during_rebuild = [], []
    for i, request in enumerate(requests):
        tick = time.perf_counter()
        if i % CHANGE_EVERY == 0:
            person = int(rng.choice(people))
            Person.objects.filter(pk=person).update(bio=Concat(F("bio"), Value(" Updated.")))
            index_changed(person)
        rebuilding = matching._State.building is not None and matching._State.building.is_alive()
        times.append(timed(request))
        if rebuilding:
            during_rebuild.append(times[-1])
        time.sleep(max(0.0, pace - (time.perf_counter() - tick)))
    if matching._State.building is not None:
        matching._State.building.join()

    def summary(values):
        values = sorted(values)
        if not values:
            return {"n": 0, "median": 0.0, "p95": 0.0, "p99": 0.0}
        at = lambda q: values[min(len(values) - 1, round(q * len(values)))]  # noqa: E731
        return {"n": len(values), "median": statistics.median(values), "p95": at(0.95), "p99": at(0.99)}

    return {
        "first_seconds": first,
        "after_change": summary(times),
        "during_rebuild": summary(during_rebuild),
        "baseline": summary(baseline),
        "rebuilt": matching._State.snapshot is not built,
        "peak_mb": peak_mb(),
    }


def report_top20(m: dict) -> None:
    rows = [
        ("a change every 30 queries", m["after_change"]),
        ("  of which while a rebuild ran in the background", m["during_rebuild"]),
        ("baseline: the same requests, no change", m["baseline"]),
    ]
    lines = [
        "",
        "Top 20 through the service (request_top) after registry changes, background rebuilds on",
        f"the process's first query (builds the index): {m['first_seconds']:.1f} s; "
        f"a background rebuild {'ran' if m['rebuilt'] else 'did not run'} during the measure; "
        f"process peak {m['peak_mb']:,.0f} MB",
        "",
        f"{'queries':50}{'n':>6}{'median ms':>11}{'p95 ms':>9}{'p99 ms':>9}",
        *(f"{name:50}{r['n']:>6}{r['median']:>11.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}" for name, r in rows),
        "",
        f"target p99 <= 50 ms in the minute after a registry change: "
        f"{'met' if m['after_change']['p99'] <= 50 else 'NOT met'} ({m['after_change']['p99']:.1f} ms)",
    ]
    print("\n".join(lines))


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
