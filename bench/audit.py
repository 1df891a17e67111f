"""The breach drill on a 10,000,000-row audit log (PostgreSQL).

The administrators' two questions, asked through the command they would use
(`manage.py audit_trail`, i.e. accounts.audit.audit_by_actor / audit_about):

1. everything one account accessed in a given hour (`--actor X --since T --until T+1h`),
   for an ordinary account and for the busiest one (5% of all events), and (for comparison)
   an ordinary account's week;
2. everyone who accessed one person (`--subject diaspora.Person:N`): their reads of the
   profile and every list that showed it.

The log is filled in SQL (generate_series, not timed against the target): a year of events
from 5,000 staff accounts, 60% single-record reads, 20% directory lists of 25 people each
(their ids in the event), the rest sign-ins and response reads, over 1,000,000 people. Each
question is timed twice in the same run: first with the indexes the table had before the
drill (the baseline: time, action, target and actor), then with the drill's index (migration
accounts 0006: the lists' ids, GIN), and the ratio is printed
with the target (< 5 s). The database is dropped at the end unless --keep.

    .venv/bin/python bench/audit.py                    # 10,000,000 rows (several minutes)
    .venv/bin/python bench/audit.py --rows 200000      # a quick run
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET = 5.0
PEOPLE = 1_000_000
ACTORS = 5_000
BUSY_ACTOR = 1  # does 5% of everything
SECONDS_PER_YEAR = 365 * 24 * 3600
DRILL_INDEXES = ("auditevent_list_ids",)

# One statement per chunk of rows; g numbers the rows, each row's time goes back from now.
FILL = """
INSERT INTO accounts_auditevent (at, actor_id, action, target, programme_id, detail)
SELECT now() - make_interval(secs => g * %(spacing)s),
       CASE WHEN g %% 20 = 0 THEN {busy} ELSE 1 + (hashint4(g::int) & 2147483647) %% {actors} END,
       CASE WHEN g %% 10 < 6 THEN 'read.person' WHEN g %% 10 < 8 THEN 'list.person'
            WHEN g %% 10 = 8 THEN 'login' ELSE 'read.response' END,
       CASE WHEN g %% 10 < 6 THEN 'diaspora.Person:' || (1 + (hashint4(g::int + 7) & 2147483647) %% {people})
            WHEN g %% 10 < 8 THEN 'diaspora.Person:list'
            WHEN g %% 10 = 8 THEN 'accounts.User:' || g %% {actors}
            ELSE 'surveys.Response:' || g END,
       NULL,
       CASE WHEN g %% 10 IN (6, 7) THEN jsonb_build_object(
                'query', jsonb_build_object('skill', 'hydrology'), 'rows', 25,
                'ids', (SELECT jsonb_agg(1 + (hashint4(g::int * 31 + k) & 2147483647) %% {people})
                        FROM generate_series(1, 25) AS k),
                'address', '198.51.100.' || g %% 250)
            ELSE jsonb_build_object('address', '198.51.100.' || g %% 250) END
FROM generate_series(%(first)s, %(last)s) AS g
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kelu_bench").rsplit("/", 1)[0]
        + "/kelu_bench_audit",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    configure(args.database)
    try:
        loading = fill(args.rows)
        before = measure()
        loading["drill index (migration accounts 0006)"] = indexes_build()
        after = measure()
        report(args.rows, loading, before, after)
    finally:
        if not args.keep:
            drop(args.database)


def configure(database_url: str) -> None:
    from bench.submissions import recreate_database

    recreate_database(database_url)
    for name in ("REDIS_URL", "DATABASE_REPLICA_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="bench.settings",
        SECRET_KEY="bench-" + uuid.uuid4().hex * 2, ALLOWED_HOSTS="testserver",
    )  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drop(database_url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    admin_url, _, name = database_url.rpartition("/")
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _timed(sql: str, params=None) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return time.perf_counter() - started


def fill(rows: int) -> dict[str, float]:
    """The rows without secondary indexes (faster), then the table's own indexes built again;
    the drill's own two are left out until `indexes_build`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'accounts_auditevent' "
            "AND indexname NOT LIKE '%%pkey'"
        )
        found = cursor.fetchall()
    global _DRILL_DEFINITIONS
    _DRILL_DEFINITIONS = [d for name, d in found if name in DRILL_INDEXES]
    for name, _ in found:
        _timed(f'DROP INDEX "{name}"')
    # Index builds sort in memory where they can (the default 64 MB spills a 10M-row build to disk).
    _timed("SET maintenance_work_mem = '1GB'")
    spacing = SECONDS_PER_YEAR / rows
    sql = FILL.format(busy=BUSY_ACTOR, actors=ACTORS, people=PEOPLE)
    seconds, chunk = 0.0, 1_000_000
    for first in range(1, rows + 1, chunk):
        seconds += _timed(sql, {"spacing": spacing, "first": first, "last": min(rows, first + chunk - 1)})
        print(f"  {min(rows, first + chunk - 1):,} rows", file=sys.stderr, flush=True)
    own = [d for name, d in found if name not in DRILL_INDEXES]
    indexing = sum(_timed(definition) for definition in own)
    analyse = _timed("ANALYZE accounts_auditevent")
    return {"rows by generate_series": seconds, "the table's own indexes": indexing + analyse}


_DRILL_DEFINITIONS: list[str] = []


def indexes_build() -> float:
    seconds = sum(_timed(definition) for definition in _DRILL_DEFINITIONS)
    return seconds + _timed("ANALYZE accounts_auditevent")


def measure() -> dict[str, tuple[float, int]]:
    """Each question three times (other accounts, other hours, other people): median seconds
    and the events found the last time."""
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    now = timezone.now()

    def run(*args: str) -> int:
        out = io.StringIO()
        call_command("audit_trail", *args, stdout=out)
        return int(out.getvalue().splitlines()[-1].split()[0])

    def actor_hour(actor: int, days_ago: int, hours: int = 1) -> int:
        since = now - dt.timedelta(days=days_ago, hours=hours)
        until = since + dt.timedelta(hours=hours)
        return run("--actor", str(actor), "--since", since.isoformat(), "--until", until.isoformat())

    def subject(person: int) -> int:
        return run("--subject", f"diaspora.Person:{person}")

    # Someone listed and read in the log: the target of a read row and of a list row.
    from accounts.models import AuditEvent

    listed = AuditEvent.objects.filter(action="list.person").order_by("-at").values_list("detail", flat=True)[:3]
    people = [detail["ids"][0] for detail in listed]
    questions = {
        "an ordinary account's hour": [lambda a=a, d=d: actor_hour(a, d) for a, d in ((17, 30), (2_345, 90), (4_001, 200))],
        "the busiest account's hour (5% of the log)": [lambda d=d: actor_hour(BUSY_ACTOR, d) for d in (10, 100, 300)],
        "an ordinary account's week (for comparison)": [
            lambda a=a, d=d: actor_hour(a, d, 24 * 7) for a, d in ((17, 30), (2_345, 90), (4_001, 200))
        ],
        "everyone who accessed one person": [lambda p=p: subject(p) for p in people],
    }  # fmt: skip
    results = {}
    for name, calls in questions.items():
        times, found = [], 0
        for call in calls:
            started = time.perf_counter()
            found = call()
            times.append(time.perf_counter() - started)
        results[name] = (statistics.median(times), found)
    return results


def report(rows: int, loading: dict[str, float], before: dict, after: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('accounts_auditevent'))")
        size = cursor.fetchone()[0]
    lines = [
        f"Breach drill on PostgreSQL: {rows:,} audit events ({size} with indexes)",
        "",
        f"{'loading (not timed against the target)':58} {'seconds':>8}",
        *(f"{name:58} {seconds:8.1f}" for name, seconds in loading.items()),
        "",
        f"{'question (manage.py audit_trail, median of 3)':58} {'baseline':>8} {'drill':>8} {'d/b':>7} "
        f"{'events':>7}  target < {TARGET:g} s",
    ]
    for name, (seconds, found) in after.items():
        base = before[name][0]
        verdict = "met" if seconds < TARGET else "NOT met"
        lines.append(f"{name:58} {base:8.3f} {seconds:8.3f} {seconds / base:7.3f} {found:7,}  {verdict}")
    lines += [
        "",
        "seconds; baseline: the table's own indexes (time, action, target, actor); drill: with accounts 0006's;",
        "d/b: drill / baseline; events: found by the last of the three",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
