"""Anonymised research export on PostgreSQL: 1,000,000 and 2,000,000 responses to Parquet and to .sav.

What an approved research request's export job does (analytics.services.research_files.build_export
with the spec analytics.services.research._spec builds from the request, run in-process, no
Celery): read the wave's complete responses in chunks, count the combinations of
quasi-identifiers and sensitive values, choose the generalisations and suppressions (k = 3,
licensed file; distinct l = 2), then read the prepared records back and write the file, with
its codebooks and disclosure report. The variables are the demo request's:

    quasi-identifiers  country_residence, city_residence, field_of_study, programme, departure_year, study_level
    sensitive          return_intention, likelihood_5y
    other              barrier_salary, return_factors, employment_status

For each size, measured in one run:

1. baseline: a plain `COPY (SELECT id, answers FROM surveys_response WHERE wave_id = ... AND
   status = 'complete') TO STDOUT` of the same rows into a file (best of 3);
2. the export to Parquet, then to .sav, each in a fresh child process, so that its peak
   resident memory (ru_maxrss of the child: interpreter, Django, pandas and pyarrow included) is
   the export's own; the time is build_export's, split by phase.

The responses are loaded with COPY first (not timed; bench/analytics.py's loader), on two
published versions of the graduate survey: --distinct synthetic answer sets
(analytics.demo.synthetic_answers) cycled with fresh ids; the second size adds the difference
to the same wave. Prints seconds, the ratio to COPY, peak memory, records published, k and l
achieved, the ratio of peak memory at the largest size to the smallest, and the targets at
1,000,000 (Parquet <= 30 s, peak RSS <= 500 MB) and from 1,000,000 to 2,000,000 (RSS ratio <= 1.5).

    .venv/bin/python bench/research_export.py                             # 1,000,000 then 2,000,000
    .venv/bin/python bench/research_export.py --sizes 100000,200000        # a quick run
    .venv/bin/python bench/research_export.py --sizes 100000 --profile     # with a cProfile of each export
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_PARQUET_SECONDS = 30.0
TARGET_PEAK_MB = 500.0
TARGET_RSS_RATIO = 1.5
FORMATS = ("parquet", "sav")
QUASI = ["country_residence", "city_residence", "field_of_study", "programme", "departure_year", "study_level"]
SENSITIVE = ["return_intention", "likelihood_5y"]
OTHER = ["barrier_salary", "return_factors", "employment_status"]
VARIABLES = QUASI + SENSITIVE + OTHER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,2000000", help="numbers of responses, ascending, comma-separated")
    parser.add_argument(
        "--distinct", type=int, default=200_000,
        help="distinct synthetic answer sets cycled (real answers are nearly all distinct; a larger pool gives "
             "the disclosure-control step a count table of realistic size)",
    )  # fmt: skip
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kelu_bench").rsplit("/", 1)[0]
        + "/kelu_bench_research_export",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile each export (in its child; slower)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one export, JSON in and out
    parser.add_argument("--launcher", action="store_true", help=argparse.SUPPRESS)  # internal: starts the children
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))), flush=True)
        return
    if args.launcher:
        launcher()
        return
    # Linux carries a process's peak RSS across exec into ru_maxrss of what it starts: children
    # started from this process (which grows while loading) would report its peak, not their own.
    # A small launcher, started now, starts them instead.
    global LAUNCHER
    LAUNCHER = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--launcher"], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    sizes = sorted({int(size.replace("_", "")) for size in args.sizes.split(",")})
    import bench.analytics as analytics_bench

    analytics_bench.DISTINCT_ANSWERS = args.distinct  # the loader's pool of answer sets
    with tempfile.TemporaryDirectory(prefix="kelu-bench-research-") as media:
        analytics_bench.configure(args.database, media)
        wave, versions, request, seconds_setup = setup()
        runs, copies, loads, loaded = [], {}, {}, 0
        for size in sizes:
            loads[size] = analytics_bench.load(
                wave, versions, size - loaded, seconds_ago=(86400, 180 * 86400), seed=size
            )
            loaded = size
            copies[size] = copy_baseline(wave, Path(media))
            for fmt in FORMATS:
                runs.append(run_child(request.pk, fmt, size, Path(media), args.profile))
        report(args, sizes, seconds_setup, loads, copies, runs)
    LAUNCHER.stdin.close()
    LAUNCHER.wait(timeout=60)


# --------------------------------------------------------------------------- set-up (parent)


def setup():
    """bench/analytics.py's wave (two published versions of the graduate survey), and an approved request."""
    from django.utils import timezone

    from accounts.models import Role, User
    from analytics.models import ResearchRequest
    from bench.analytics import setup as analytics_setup

    started = time.perf_counter()
    wave, versions, _ = analytics_setup()
    researcher = User.objects.create_user("bench-researcher", role=Role.RESEARCHER)
    request = ResearchRequest.objects.create(
        survey=wave.survey, requested_by=researcher, variables=VARIABLES, approved_variables=VARIABLES,
        formats=list(FORMATS), language="en", purpose="Benchmark", institution="Benchmark",
        licence=ResearchRequest.Licence.LICENSED, terms_accepted_at=timezone.now(), k=3, l_diversity=2,
        status=ResearchRequest.Status.APPROVED,
    )  # fmt: skip
    request.waves.set([wave])
    return wave, versions, request, time.perf_counter() - started


def copy_baseline(wave, folder: Path) -> dict:
    """Best of 3: a plain COPY of the wave's complete responses (id, answers) into a file."""
    from django.db import connection

    sql = (
        f"COPY (SELECT id, answers FROM surveys_response WHERE wave_id = {int(wave.pk)} AND status = 'complete') "
        "TO STDOUT"
    )
    path = folder / "copy.tsv"
    best, rows = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        rows = 0
        with connection.cursor() as cursor, path.open("wb") as handle, cursor.cursor.copy(sql) as copy:
            for data in copy:
                handle.write(data)
                rows += bytes(data).count(b"\n")
        best = min(best, time.perf_counter() - started)
    size = path.stat().st_size
    path.unlink()
    return {"seconds": best, "rows": rows, "mb": size / 2**20}


LAUNCHER: subprocess.Popen | None = None


def run_child(request_id: int, fmt: str, size: int, media: Path, profile: bool) -> dict:
    """One export in a fresh interpreter, started by the launcher with this process's environment."""
    env = dict(os.environ)  # what configure() set: database, settings, media root
    LAUNCHER.stdin.write(json.dumps({"request": request_id, "format": fmt, "media": str(media), "profile": profile,
                                     "env": env}) + "\n")  # fmt: skip
    LAUNCHER.stdin.flush()
    answer = json.loads(LAUNCHER.stdout.readline())
    if "error" in answer:
        raise RuntimeError(f"the {fmt} export of {size:,} responses failed: {answer['error']}")
    return {"size": size, **answer}


def launcher() -> None:
    """Reads jobs (JSON lines) on stdin, runs each in a child, writes the child's answer line on stdout."""
    for line in sys.stdin:
        job = json.loads(line)
        env = job.pop("env")
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # fmt: skip
        lines = done.stdout.strip().splitlines()
        answer = lines[-1] if done.returncode == 0 and lines else json.dumps({"error": f"exit {done.returncode}"})
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()


# --------------------------------------------------------------------------- one export (child)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hwm_mb() -> float:
    """The peak RSS of this process's memory since exec (VmHWM), to cross-check ru_maxrss (Linux)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return float("nan")


def child(job: dict) -> dict:
    import django

    django.setup()
    from analytics.models import ResearchRequest
    from analytics.services import research, research_files

    started_mb = max_rss_mb()
    request = ResearchRequest.objects.select_related("survey").get(pk=job["request"])
    spec = research._spec(request, VARIABLES)
    spec.formats = [job["format"]]
    if [v.name for v in spec.variables] != VARIABLES:
        raise RuntimeError(f"the spec's variables are {[v.name for v in spec.variables]}")
    phases = instrument(research_files)
    folder = Path(tempfile.mkdtemp(dir=job["media"]))
    profiler = None
    if job["profile"]:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    outcome = research_files.build_export(spec, folder, lambda percent, message: None)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
    data = folder / f"data.{job['format']}"
    result = {
        "format": job["format"],
        "seconds": seconds,
        "peak_mb": max_rss_mb(),
        "hwm_mb": hwm_mb(),
        "start_mb": started_mb,
        "file_mb": data.stat().st_size / 2**20,
        "rows": outcome.rows,
        "report": {key: outcome.report.get(key) for key in (
            "records_read", "records_published", "records_removed", "records_with_suppression", "cells_suppressed",
            "k_achieved", "l_achieved", "search", "nodes_checked", "information_loss")},
        "levels": {v["variable"]: v["level_name"] for v in outcome.report.get("variables", [])},
        "phases": phases,
    }  # fmt: skip
    if profiler is not None:
        result["profile"] = profile_text(profiler)
    shutil.rmtree(folder, ignore_errors=True)
    return result


def instrument(module) -> dict:
    """Wrap the pipeline's steps (looked up by name at call time) to time them and see where memory grows.

    phases[name] = [seconds, calls, MB by which the process's peak grew during the step]. Only
    this child's module objects are wrapped; what each step does is unchanged.
    """
    phases: dict[str, list] = {}

    def note(name: str, seconds: float, grown: float) -> None:
        entry = phases.setdefault(name, [0.0, 0, 0.0])
        entry[0] += seconds
        entry[1] += 1
        entry[2] += grown

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            rss, started = max_rss_mb(), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                note(name, time.perf_counter() - started, max_rss_mb() - rss)

        return wrapper

    def timed_iter(name: str, fn):
        def wrapper(*args, **kwargs):
            iterator = iter(fn(*args, **kwargs))
            while True:
                rss, started = max_rss_mb(), time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    note(name, time.perf_counter() - started, max_rss_mb() - rss)
                    return
                note(name, time.perf_counter() - started, max_rss_mb() - rss)
                yield item

        return wrapper

    module._chunks = timed_iter("1 read: _chunks (SQL, rows to DataFrame)", module._chunks)
    module.Counting.add = timed("1 count: Counting.add", module.Counting.add)
    module.Counting.finish = timed("1 count: Counting.finish", module.Counting.finish)
    module.plan_export = timed("2 plan: plan_export / anonymise", module.plan_export)
    module.pq.ParquetFile.iter_batches = timed_iter(
        "3 reread: prepared.parquet batches", module.pq.ParquetFile.iter_batches
    )
    module._out_frame = timed("3 publish: _out_frame", module._out_frame)
    module.Frequencies.add = timed("3 codebook: Frequencies.add", module.Frequencies.add)
    make_writer = module._writer

    def writer(fmt, *args, **kwargs):
        made = make_writer(fmt, *args, **kwargs)
        made.write = timed(f"3 write: {type(made).__name__}.write", made.write)
        made.close = timed(f"4 close: {type(made).__name__}.close", made.close)
        return made

    module._writer = writer
    module.write_documents = timed("4 documents: write_documents", module.write_documents)
    return phases


def profile_text(profiler) -> str:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    text = out.getvalue().replace(str(ROOT) + "/", "").replace(sys.prefix + "/lib/python3.11/site-packages/", "")
    return text[text.find("   ncalls") :] if "   ncalls" in text else text


# --------------------------------------------------------------------------- report


def report(args, sizes: list[int], seconds_setup: float, loads: dict, copies: dict, runs: list[dict]) -> None:
    reference = 1_000_000 if 1_000_000 in sizes else sizes[0]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    header = (f"{'responses':>10} {'format':8} {'seconds':>8} {'x COPY':>7} {'peak MB':>8} {'start MB':>8} "
              f"{'published':>10} {'k':>4} {'l':>3} {'file MB':>8}  targets")  # fmt: skip
    lines = [
        f"Anonymised research export on PostgreSQL: {', '.join(f'{s:,}' for s in sizes)} complete responses "
        f"({args.distinct:,} distinct answer sets), {len(VARIABLES)} variables, k = 3, l = 2",
        "",
        f"set-up: official data, instruments, 2nd version, request (not timed): {seconds_setup:.1f} s; loading by COPY "
        "(not timed): " + ", ".join(f"{seconds:.1f} s" for seconds in loads.values()),
        "",
        header,
    ]  # fmt: skip
    for size in sizes:
        copy = copies[size]
        lines.append(f"{size:>10,} {'COPY':8} {copy['seconds']:8.2f} {1:7.1f} {'':>8} {'':>8} {copy['rows']:>10,} "
                     f"{'':>4} {'':>3} {copy['mb']:8.0f}  baseline: plain COPY (id, answers) TO STDOUT, best of 3")  # fmt: skip
        for run in (r for r in runs if r["size"] == size):
            targets = [f"peak <= {TARGET_PEAK_MB:g} MB {verdict(run['peak_mb'] <= TARGET_PEAK_MB)}"]
            if run["format"] == "parquet":
                targets.insert(
                    0, f"<= {TARGET_PARQUET_SECONDS:g} s {verdict(run['seconds'] <= TARGET_PARQUET_SECONDS)}"
                )
            r = run["report"]
            lines.append(
                f"{size:>10,} {run['format']:8} {run['seconds']:8.2f} {run['seconds'] / max(copy['seconds'], 1e-9):7.1f} "
                f"{run['peak_mb']:8.0f} {run['start_mb']:8.0f} {r['records_published']:>10,} {r['k_achieved']:>4} "
                f"{r['l_achieved']!s:>3} {run['file_mb']:8.0f}  " + ("; ".join(targets) if size == reference else "")
            )  # fmt: skip
    lines.append("")
    ratios = {}
    if len(sizes) > 1:
        low, high = sizes[0], sizes[-1]
        for fmt in FORMATS:
            a = next(r for r in runs if r["size"] == low and r["format"] == fmt)
            b = next(r for r in runs if r["size"] == high and r["format"] == fmt)
            ratios[fmt] = b["peak_mb"] / a["peak_mb"]
            grown = (b["peak_mb"] - b["start_mb"]) / max(a["peak_mb"] - a["start_mb"], 1e-9)
            lines.append(f"peak RSS {high:,} / {low:,}, {fmt:8}: {ratios[fmt]:.2f} "
                         f"(<= {TARGET_RSS_RATIO:g}: {verdict(ratios[fmt] <= TARGET_RSS_RATIO)}); "
                         f"above the child's start: {grown:.2f}")  # fmt: skip
    lines += ["", "where the time goes (seconds; calls; MB by which the peak grew during the step):"]
    for run in runs:
        phases = run["phases"]
        accounted = sum(entry[0] for entry in phases.values())
        grown = sum(entry[2] for entry in phases.values())
        lines.append(f"  {run['size']:,} {run['format']}: {run['seconds']:.2f} s, peak {run['peak_mb']:.0f} MB "
                     f"(VmHWM {run['hwm_mb']:.0f}, start {run['start_mb']:.0f}); search {run['report']['search']} "
                     f"({run['report']['nodes_checked']} nodes), levels {run['levels']}")  # fmt: skip
        for name in sorted(phases):
            seconds, calls, mb = phases[name]
            lines.append(f"      {name:46} {seconds:7.2f} s {calls:5}x {mb:+7.0f} MB")
        lines.append(f"      {'other (count query, batch.to_pandas, loop)':46} {run['seconds'] - accounted:7.2f} s "
                     f"{'':6} {run['peak_mb'] - run['start_mb'] - grown:+7.0f} MB")  # fmt: skip
    lines.append("")
    ref = [r for r in runs if r["size"] == reference]
    parquet = next(r for r in ref if r["format"] == "parquet")
    summary = [f"Parquet {parquet['seconds']:.1f} s <= {TARGET_PARQUET_SECONDS:g} s: "
               f"{verdict(parquet['seconds'] <= TARGET_PARQUET_SECONDS)}"]  # fmt: skip
    summary += [f"peak RSS {r['format']} {r['peak_mb']:.0f} MB <= {TARGET_PEAK_MB:g}: {verdict(r['peak_mb'] <= TARGET_PEAK_MB)}"
                for r in ref]  # fmt: skip
    summary += [f"RSS ratio {fmt} {ratio:.2f} <= {TARGET_RSS_RATIO:g}: {verdict(ratio <= TARGET_RSS_RATIO)}"
                for fmt, ratio in ratios.items()]  # fmt: skip
    lines.append(f"targets at {reference:,}: " + "; ".join(summary))
    print("\n".join(lines), flush=True)
    for run in runs:
        if "profile" in run:
            print(f"\n=== cProfile: {run['size']:,} {run['format']} (sorted by tottime) ===\n{run['profile']}")


if __name__ == "__main__":
    main()
