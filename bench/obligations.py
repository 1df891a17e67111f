"""Work obligations on PostgreSQL: 100,000 participants with 1,000,000 episodes.

Measured in one run, beside a baseline:

1. baseline: one SQL aggregation over the same episodes (days of employment per participant,
   GROUP BY; best of 3);
2. full nightly recompute: obligations_recompute() over every participant, the first run
   (every participant's standing written, one history row each);
3. rerun the same day: the nightly task again (it should write nothing);
4. the at-risk list: the administrators' page (/registry/returns/participants/?at_risk=1,
   through Django's test client, so the whole request) and the API's list (best of 3 each);
5. for information: the administrator's first page (with the returns summary) and the returns
   page, whose indicators and curves are computed on request.

Participants and episodes are loaded with COPY first (not timed): graduations 2010-2024,
one to twenty episodes each (residence and employment, some overlapping, some open, regions
across Kazakhstan, every source). Prints seconds, ratios to the baseline, the targets
(recompute <= 60 s, at-risk list <= 1 s) and the peak resident memory.

    .venv/bin/python bench/obligations.py                            # 100,000 and 1,000,000
    .venv/bin/python bench/obligations.py --participants 10000        # a quick run
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_RECOMPUTE = 60.0
TARGET_AT_RISK = 1.0
REGIONS = ["KZ-71", "KZ-75", "KZ-79", "KZ-35", "KZ-63", "KZ-10", "KZ-55", "KZ-23", "KZ-15", "KZ-47", "KZ-11", "KZ-59"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=1_000_000)
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kelu_bench").rsplit("/", 1)[0]
        + "/kelu_bench_obligations",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kelu-bench-obligations-") as media:
        configure(args.database, media)
        admin, seconds_load = load(args.participants, args.episodes)
        results = measure(admin)
        report(args, seconds_load, results)


def configure(database_url: str, media_root: str) -> None:
    from bench.submissions import recreate_database

    recreate_database(database_url)
    for name in ("REDIS_URL", "DATABASE_REPLICA_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="bench.settings", MEDIA_ROOT=media_root,
        SECRET_KEY="bench-" + uuid.uuid4().hex * 2, ALLOWED_HOSTS="testserver",
    )  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for count, row in enumerate(rows, 1):
            buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
            if count % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def load(n_participants: int, n_episodes: int):
    """The programme, its rule, an administrator, then participants and episodes by COPY (not timed)."""
    import numpy as np
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Programme, Role, User
    from diaspora.models import ObligationRule

    started = time.perf_counter()
    programme = Programme.objects.create(slug="bench", name="Benchmark programme")
    rule = ObligationRule.objects.create(
        programme=programme, version=1, name="Five years", adopted_on=dt.date(2008, 1, 1), cohorts_from=2000,
        months_required=60, window_months=96, grace_months=6, countries=["KAZ"],
    )  # fmt: skip
    admin = User.objects.create_user("bench-admin", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin.programmes.add(programme)
    rng = np.random.default_rng(7)
    now = timezone.now().isoformat()
    graduations = [dt.date(2010, 6, 30) + dt.timedelta(days=int(d)) for d in rng.integers(0, 365 * 15, n_participants)]
    with connection.cursor() as cursor:
        _copy_rows(
            cursor,
            "diaspora_participation",
            ["programme_id", "rule_id", "cohort", "external_id", "full_name", "email", "host_country",
             "host_institution", "field_of_study", "graduation_date", "obligation_start", "link_candidates",
             "synthetic", "status", "status_reason", "months_served", "months_owed", "basis_tier", "at_risk", "risks",
             "explanation", "computed_hash", "created_at"],
            (
                (programme.pk, rule.pk, g.year - 3, f"P-{i:06d}", f"Participant {i}", "", "GBR", "", "", g, g, "[]",
                 "true", "pending_return", "", 0, 0, 0, "false", "[]", "{}", "", now)
                for i, g in enumerate(graduations)
            ),
        )  # fmt: skip
        cursor.execute("SELECT id FROM diaspora_participation ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        # Episodes: a residence abroad, a return, then jobs (sometimes overlapping), every source.
        per = np.maximum(1, rng.poisson(n_episodes / n_participants, n_participants))
        per = np.minimum(per, 20)
        scale = n_episodes / per.sum()
        sources = ["survey", "participant", "employer", "administrative"]

        def episodes():
            made = 0
            for index, pid in enumerate(ids):
                count = max(1, int(round(per[index] * scale)))
                start = graduations[index] + dt.timedelta(days=int(rng.integers(0, 400)))
                yield (
                    pid,
                    "residence",
                    graduations[index],
                    start,
                    "GBR",
                    "",
                    "",
                    "",
                    None,
                    "survey",
                    "",
                    "",
                    "",
                    now,
                    now,
                )
                made += 1
                days_left = max(60, (dt.date.today() - start).days)
                for job in range(count - 1):
                    length = int(rng.integers(20, max(40, days_left // count)))
                    end = start + dt.timedelta(days=length)
                    if end >= dt.date.today() or (job == count - 2 and rng.random() < 0.3):
                        end = None  # still going
                    yield (
                        pid,
                        "employment",
                        start,
                        end,
                        "KAZ",
                        REGIONS[int(rng.integers(len(REGIONS)))],
                        "Employer",
                        "2",
                        rng.random() < 0.8,
                        sources[int(rng.integers(4))],
                        "",
                        "",
                        "",
                        now,
                        now,
                    )
                    made += 1
                    if end is None:
                        break
                    start = end + dt.timedelta(days=int(rng.integers(-30, 30)))  # overlaps and gaps

        _copy_rows(
            cursor,
            "diaspora_episode",
            ["participation_id", "kind", "start", '"end"', "country", "region", "employer", "occupation",
             "specialty_related", "source", "document", "review", "conflict", "created_at", "updated_at"],
            episodes(),
        )  # fmt: skip
        cursor.execute("ANALYZE diaspora_participation; ANALYZE diaspora_episode")
    return admin, time.perf_counter() - started


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best(fn, times: int = 3) -> float:
    out = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - started)
    return out


def measure(admin) -> dict:
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient

    from diaspora.models import Episode, Participation, StatusChange
    from diaspora.services.obligations import obligations_recompute

    counts = {"participants": Participation.objects.count(), "episodes": Episode.objects.count()}

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT participation_id, sum(coalesce("end", current_date) - start + 1) FROM diaspora_episode '
                "WHERE kind = 'employment' AND country = 'KAZ' GROUP BY participation_id"
            )
            cursor.fetchall()

    seconds_baseline = best(baseline)
    started = time.perf_counter()
    first = obligations_recompute()
    seconds_full = time.perf_counter() - started
    history_after_full = StatusChange.objects.count()
    started = time.perf_counter()
    rerun = obligations_recompute()
    seconds_rerun = time.perf_counter() - started
    at_risk = Participation.objects.filter(at_risk=True).count()
    client = Client()
    client.force_login(admin)
    api = APIClient()
    api.force_authenticate(admin)

    def page():
        answer = client.get("/registry/returns/participants/?programme=bench&at_risk=1")
        assert answer.status_code == 200, answer.status_code

    def api_list():
        answer = api.get("/api/v1/registry/obligations/at-risk/?programme=bench")
        assert answer.status_code == 200, answer.status_code

    seconds_page = best(page)
    seconds_api = best(api_list)

    def home():
        assert client.get("/registry/requests/").status_code == 200

    def returns():
        assert client.get("/registry/returns/?programme=bench").status_code == 200

    seconds_home = best(home, 2)
    seconds_returns = best(returns, 2)
    return {
        **counts, "baseline": seconds_baseline, "full": seconds_full, "first": first, "rerun": rerun,
        "seconds_rerun": seconds_rerun, "history": history_after_full, "history_after_rerun": StatusChange.objects.count(),
        "at_risk": at_risk, "page": seconds_page, "api": seconds_api, "home": seconds_home,
        "returns": seconds_returns, "peak_mb": peak_mb(),
        "statuses": dict(Participation.objects.values_list("status").annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id"))),
    }  # fmt: skip


def report(args, seconds_load: float, m: dict) -> None:
    base = max(m["baseline"], 1e-9)

    def row(label: str, seconds: float, target: str = "", ratio: bool = True) -> str:
        times = f"{seconds / base:10.1f}" if ratio else " " * 10
        return f"{label:62} {seconds:8.2f} {times}  {target}"

    def verdict(seconds: float, limit: float) -> str:
        return f"<= {limit:g} s: {'met' if seconds <= limit else 'NOT met'}"

    at_risk_worst = max(m["page"], m["api"])
    lines = [
        f"Work obligations on PostgreSQL: {m['participants']:,} participants, {m['episodes']:,} episodes",
        "",
        f"{'stage':62} {'seconds':>8} {'x baseline':>10}  target",
        row("loading participants and episodes by COPY (not timed)", seconds_load, ratio=False),
        row("baseline: SQL GROUP BY of employment days per participant (best of 3)", m["baseline"]),
        row("full nightly recompute (every standing written)", m["full"], verdict(m["full"], TARGET_RECOMPUTE)),
        row("rerun the same day (writes nothing)", m["seconds_rerun"]),
        row("at-risk list: administrators' page, whole request (best of 3)", m["page"],
            verdict(m["page"], TARGET_AT_RISK)),
        row("at-risk list: API, up to 1,000 rows (best of 3)", m["api"], verdict(m["api"], TARGET_AT_RISK)),
        row("administrator's first page with the returns summary (no target)", m["home"]),
        row("returns page: every indicator and curve, computed on request (no target)", m["returns"]),
        "",
        f"full:   {m['first'].seen:,} seen, {m['first'].changed:,} written, {m['first'].history:,} history rows",
        f"rerun:  {m['rerun'].seen:,} seen, {m['rerun'].changed:,} written, {m['rerun'].history:,} history rows"
        + ("" if m["rerun"].changed == 0 and m["history_after_rerun"] == m["history"] else "   <-- NOT idempotent"),
        f"statuses: {', '.join(f'{k} {v:,}' for k, v in sorted(m['statuses'].items()))}; at risk {m['at_risk']:,}",
        f"peak resident memory: {m['peak_mb']:,.0f} MB",
        f"targets: recompute {verdict(m['full'], TARGET_RECOMPUTE)} ({m['full']:.2f} s); "
        f"at-risk list {verdict(at_risk_worst, TARGET_AT_RISK)} ({at_risk_worst:.2f} s)",
    ]  # fmt: skip
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
