"""A wave's standard indicators on PostgreSQL: 1,000,000 complete responses across two versions.

What an aggregation job really does (analytics.services.aggregation.aggregation_run, run
in-process, no Celery): read the wave's complete responses into the analysis frame (one
COPY of the JSON answers), rake weights to the official margins, compute every standard
indicator table with small-cell suppression per audience, and upsert the tables that
changed. Measured in one run, beside a baseline:

1. baseline: one SQL `GROUP BY` over the same rows (answers->>'return_intention'; best of 3);
2. full recompute: the wave's first job (no previous build, so the frame is read in full);
3. incremental: 10,000 new responses, then a second job (the frame is the previous
   build's Parquet file plus the responses changed since its watermark);
4. rerun: a third job with unchanged inputs (it should write no table).

The responses are loaded first with COPY (not timed): 20,000 distinct synthetic answer
sets (analytics.demo.synthetic_answers) cycled with fresh instance ids, half on each of
two published versions of the graduate survey. Prints seconds, the ratio to the
baseline, the targets (full <= 10 s, incremental <= 1 s) and the process's peak
resident memory. `--profile` adds a cProfile of one more full build (a separate run, after
the measured ones).

    .venv/bin/python bench/analytics.py                         # 1,000,000 + 10,000
    .venv/bin/python bench/analytics.py --responses 100000      # a quick run
    .venv/bin/python bench/analytics.py --responses 50000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_FULL = 10.0
TARGET_INCREMENTAL = 1.0
DISTINCT_ANSWERS = 20_000
CODE_FINGERPRINT = ""
MARGINS = [
    {"field": "country_residence", "scheme": "destination-4", "indicator": "OE_5T8", "time_period": "2019",
     "other": "OTHER"},
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=10_000, help="responses added before the incremental build")
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kelu_bench").rsplit("/", 1)[0]
        + "/kelu_bench_analytics",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one more full build")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kelu-bench-analytics-") as media:
        configure(args.database, media)
        wave, versions, seconds_setup = setup()
        seconds_load = load(wave, versions, args.responses, seconds_ago=(86400, 180 * 86400), seed=0)
        peak_after_load = peak_mb()
        results = measure(wave, versions, args.new)
        report(args, wave, seconds_setup, seconds_load, peak_after_load, results)
        if args.profile:
            profile(wave, versions, args.new)


# --------------------------------------------------------------------------- set-up


def configure(database_url: str, media_root: str) -> None:
    from bench.submissions import recreate_database

    recreate_database(database_url)
    for name in ("REDIS_URL", "DATABASE_REPLICA_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        SECRET_KEY="bench-" + uuid.uuid4().hex * 2,
        MEDIA_ROOT=media_root,  # the Parquet frames go to a temporary folder
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    global CODE_FINGERPRINT
    CODE_FINGERPRINT = code_fingerprint()
    # The code measured is the code as it was at the start (others may edit the tree meanwhile).
    import analytics.services.aggregation  # noqa: F401


def code_fingerprint() -> str:
    """A short hash of the analytics sources the jobs run (to tell runs of different code apart)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "analytics").glob("*/*.py")):
        if path.parent.name in ("services", "compute", "official"):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def setup():
    """Official statistics, the standard instruments, a second published version, one public wave."""
    import openpyxl
    from django.utils import timezone

    from analytics.models import WaveAnalysis
    from analytics.official.services import official_seed_load
    from surveys.demo import instruments_load, standard_instrument_path
    from surveys.models import Wave
    from surveys.services.versions import survey_import_xlsform

    started = time.perf_counter()
    official_seed_load()
    first = instruments_load()[0]
    # The same form with another settings 'version': a second published version, same field names.
    path = standard_instrument_path("graduate_return")
    book = openpyxl.load_workbook(path)
    sheet = book["settings"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=header.index("version") + 1, value="2026.2-bench")
    buffer = io.BytesIO()
    book.save(buffer)
    result = survey_import_xlsform(
        data=buffer.getvalue(), filename=path.name, survey_slug=first.survey.slug, publish=True
    )
    if result.version is None:
        raise RuntimeError("the second version did not import: " + "; ".join(result.report.lines()))
    second = result.version
    wave = Wave.objects.create(
        survey=first.survey, version=second, slug="bench-analytics", name="Benchmark wave",
        opens_at=timezone.now() - dt.timedelta(days=200), is_public=True,
    )  # fmt: skip
    WaveAnalysis.objects.create(wave=wave, margins=MARGINS, weight_bounds=[0.1, 10])
    return wave, [first, second], time.perf_counter() - started


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


_ANSWERS: list[tuple[str, str, str]] = []


def _answer_pool() -> list[tuple[str, str, str]]:
    """(answers as COPY text, a 64-character content hash, language) for the distinct answer sets."""
    if not _ANSWERS:
        import hashlib

        import numpy as np

        from analytics.demo import synthetic_answers

        rng = np.random.default_rng(2025)
        languages = rng.choice(["kk", "ru", "en"], size=DISTINCT_ANSWERS, p=[0.35, 0.5, 0.15])
        for answers, language in zip(
            synthetic_answers(rng, DISTINCT_ANSWERS, year=2025, shift=0.03), languages, strict=True
        ):
            text = json.dumps(answers, ensure_ascii=False, sort_keys=True)
            _ANSWERS.append((_copy_text(text), hashlib.sha256(text.encode()).hexdigest(), str(language)))
    return _ANSWERS


COLUMNS = (
    "survey_id", "version_id", "wave_id", "instance_id", "status", "answers", "content_hash", "language",
    "last_page", "resume_token_hash", "created_at", "updated_at", "submitted_at",
)  # fmt: skip


def load(wave, versions, n: int, *, seconds_ago: tuple[int, int] | None, seed: int, chunk: int = 100_000) -> float:
    """`n` complete responses of `wave` by COPY (half on each version; not part of the timing).

    seconds_ago=(newest, oldest): submitted and last changed that long ago, spread
    uniformly; None: all of them now.
    """
    import numpy as np
    from django.db import connection
    from django.utils import timezone

    _check_columns()
    started = time.perf_counter()
    pool = _answer_pool()
    rng = np.random.default_rng(seed)
    now = timezone.now()
    version_ids = [v.pk for v in versions]
    copy_sql = f"COPY surveys_response ({', '.join(COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor:
        with cursor.cursor.copy(copy_sql) as copy:
            for start in range(0, n, chunk):
                size = min(chunk, n - start)
                if seconds_ago is None:
                    stamps = [now.isoformat()] * size
                else:
                    ago = rng.integers(seconds_ago[0], seconds_ago[1], size=size)
                    stamps = [(now - dt.timedelta(seconds=int(s))).isoformat() for s in ago]
                picks = rng.integers(0, len(pool), size=size)
                lines = []
                for offset in range(size):
                    answers, digest, language = pool[picks[offset]]
                    stamp = stamps[offset]
                    lines.append(
                        f"{wave.survey_id}\t{version_ids[(start + offset) % 2]}\t{wave.pk}\t{uuid.uuid4()}\tcomplete\t"
                        f"{answers}\t{digest}\t{language}\t0\t\t{stamp}\t{stamp}\t{stamp}\n"
                    )
                copy.write("".join(lines))
        cursor.execute("ANALYZE surveys_response")  # what autovacuum does after a bulk load
    return time.perf_counter() - started


def _check_columns() -> None:
    """Every NOT NULL column without a database default is written by the COPY."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'surveys_response' "
            "AND is_nullable = 'NO' AND column_default IS NULL"
        )
        required = {row[0] for row in cursor.fetchall()} - {"id"}
    missing = required - set(COLUMNS)
    if missing:
        raise RuntimeError(f"surveys_response needs columns the loader does not write: {sorted(missing)}")


# --------------------------------------------------------------------------- measuring


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(wave) -> tuple[float, int]:
    """Best of 3: one GROUP BY over the wave's complete responses."""
    from django.db import connection

    best, rows = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT answers->>'return_intention', count(*) FROM surveys_response "
                "WHERE wave_id = %s AND status = 'complete' GROUP BY 1",
                [wave.pk],
            )
            rows = sum(count for _, count in cursor.fetchall())
        best = min(best, time.perf_counter() - started)
    return best, rows


def run_job(wave):
    """One AggregationJob of `wave`, run in this process; (seconds, the finished job)."""
    from analytics.models import AggregationJob
    from analytics.services.aggregation import aggregation_run

    job = AggregationJob.objects.create(wave=wave)
    started = time.perf_counter()
    aggregation_run(job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != AggregationJob.Status.COMPLETE:
        raise RuntimeError(f"aggregation job {job.pk} ended {job.status}: {job.error}")
    return seconds, job


def measure(wave, versions, n_new: int) -> dict:
    base, rows = baseline(wave)
    full_seconds, full = run_job(wave)
    seconds_new = load(wave, versions, n_new, seconds_ago=None, seed=1)
    incremental_seconds, incremental = run_job(wave)
    rerun_seconds, rerun = run_job(wave)
    return {
        "baseline": base,
        "baseline_rows": rows,
        "jobs": [
            ("full", full_seconds, full),
            ("incremental", incremental_seconds, incremental),
            ("rerun", rerun_seconds, rerun),
        ],  # fmt: skip
        "seconds_new": seconds_new,
        "peak_mb": peak_mb(),
    }


def report(args, wave, seconds_setup: float, seconds_load: float, peak_after_load: float, m: dict) -> None:
    base = max(m["baseline"], 1e-9)
    jobs = {name: (seconds, job) for name, seconds, job in m["jobs"]}
    full_s, full = jobs["full"]
    inc_s, inc = jobs["incremental"]
    rerun_s, rerun = jobs["rerun"]

    def row(label: str, seconds: float, target: str = "", ratio: bool = True) -> str:
        times = f"{seconds / base:10.1f}" if ratio else " " * 10
        return f"{label:58} {seconds:8.2f} {times}  {target}"

    def verdict(seconds: float, limit: float) -> str:
        return f"<= {limit:g} s: {'met' if seconds <= limit else 'NOT met'}"

    def sub_rows(job) -> list[str]:
        timings = job.report.get("timings", {})
        order = [key for key in ("frame", "weights", "indicators", "store") if key in timings]
        order += [key for key in timings if key not in order]
        return [row(f"    {key}", timings[key], ratio=False) for key in order]

    def described(job) -> str:
        frame = job.report.get("frame", {})
        return (f"frame {job.frame_mode}, {frame.get('rows', job.frame_rows):,} rows ({frame.get('read', 0):,} read), "
                f"tables written {job.tables_written}, unchanged {job.tables_unchanged}")  # fmt: skip

    lines = [
        f"Standard indicators of one wave on PostgreSQL: {args.responses:,} complete responses on 2 versions, "
        f"then {args.new:,} new",
        "",
        f"{'stage':58} {'seconds':>8} {'x baseline':>10}  target",
        row("set-up: official data, instruments, 2nd version (not timed)", seconds_setup, ratio=False),
        row(f"loading {args.responses:,} responses by COPY (not timed)", seconds_load, ratio=False),
        row(f"loading {args.new:,} new responses by COPY (not timed)", m["seconds_new"], ratio=False),
        row(f"baseline: SQL GROUP BY over {m['baseline_rows']:,} rows (best of 3)", m["baseline"]),
        row("full recompute: aggregation_run, no previous build", full_s, verdict(full_s, TARGET_FULL)),
        *sub_rows(full),
        row(f"incremental: aggregation_run after {args.new:,} new", inc_s, verdict(inc_s, TARGET_INCREMENTAL)),
        *sub_rows(inc),
        row("rerun with unchanged inputs: aggregation_run", rerun_s),
        *sub_rows(rerun),
        "",
        f"full:        {described(full)}",
        f"incremental: {described(inc)}"
        + ("" if inc.frame_mode == "incremental" else "   <-- NOT an incremental build"),
        f"rerun:       {described(rerun)}",
        f"weighting:   {_weighting_line(full)}",
        f"skipped indicators: {full.report.get('skipped_indicators') or 'none'}",
        f"peak resident memory: {m['peak_mb']:,.0f} MB (process; {peak_after_load:,.0f} MB after loading)",
        f"analytics code fingerprint: {CODE_FINGERPRINT}",
        f"targets: full {verdict(full_s, TARGET_FULL)} ({full_s:.2f} s); "
        f"incremental {verdict(inc_s, TARGET_INCREMENTAL)} ({inc_s:.2f} s)",
    ]
    print("\n".join(lines), flush=True)


def _weighting_line(job) -> str:
    weighting = job.report.get("weighting") or {}
    if not weighting:
        return "none"
    if "error" in weighting:
        return f"error: {weighting['error']}"
    return (f"raked n={weighting['n']:,}, converged={weighting['converged']} in {weighting['iterations']} iterations, "
            f"deff {weighting['deff']}, left out {weighting['left_out']:,}")  # fmt: skip


# --------------------------------------------------------------------------- profiling


def profile(wave, versions, n_new: int) -> None:
    """cProfile of one more full build (previous frames forgotten, the wave's tables removed)."""
    from analytics.models import AggregationJob, IndicatorTable

    AggregationJob.objects.filter(wave=wave).update(frame_file="")
    IndicatorTable.objects.filter(wave=wave).delete()
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, job = run_job(wave)
    profiler.disable()
    print(f"\n=== cProfile: full build ({job.frame_mode}, {job.frame_rows:,} rows, {seconds:.2f} s under the profiler, "
          f"timings {job.report.get('timings')}) ===")  # fmt: skip
    for order, limit in (("cumulative", 40), ("tottime", 30)):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(limit)
        if order == "tottime":
            stats.print_callers(8)
        text = out.getvalue().replace(str(ROOT) + "/", "").replace(sys.prefix + "/lib/python3.11/site-packages/", "")
        print(f"--- sorted by {order} ---")
        print(text[text.find("   ncalls") :] if "   ncalls" in text else text)


if __name__ == "__main__":
    main()
