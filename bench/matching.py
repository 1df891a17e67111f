"""Matching engine: a 100,000-expert index, a 10,000-request global assignment and top-20 queries,
against baselines measured in the same run.

Pure Python (no database): the experts and requests come from diaspora.matching.synthetic
(seeded, with one planted best expert per request; generating them is not timed).

- batch:   match_batch (seven hard filters, six score components, exact text cosine on the
           candidates, min-cost max-flow under every offer's capacity) against the least any
           matcher must do: one sparse product of request skills x expert skills per mode, and
           argpartition for the top C of each request (on distinct keys; the raw integer
           overlaps, mostly ties, make argpartition several times slower: shown too);
- top-20:  rank_for_request on 100 different requests against numpy argpartition of a
           precomputed 100,000-score vector;
- after a change: 300 top-20 queries in a minute in which the registry changes (a change every
           30 queries, and a busy case with one before every query): the changed people are ranked
           from a small index built on the big one's weights (what services.matching does between
           background rebuilds), built by the first query after each change and inside its time;
- quality: precision@1 and @10 of the planted best experts, on a sample of the requests.

Prints a table (stage seconds, resident memory and its peak per stage, proposals, latency,
quality, ratios, targets) and writes it to bench/results/.

    .venv/bin/python bench/matching.py                                  # 100,000 x 10,000
    .venv/bin/python bench/matching.py --experts 2000 --requests 200   # a quick run
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from diaspora.matching.engine import (  # noqa: E402
    ExpertIndex,
    match_batch,
    rank_for_request,
    rank_requests,
    rank_with_changes,
)
from diaspora.matching.index import _incidence  # noqa: E402
from diaspora.matching.synthetic import population  # noqa: E402

TARGET_BATCH_SECONDS = 60
TARGET_TOP20_MS = 200
TARGET_AFTER_CHANGE_P99_MS = 50


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=100, help="top-20 calls timed")
    parser.add_argument("--changes", type=int, default=300, help="queries timed in a minute of changes")
    parser.add_argument("--quality-sample", type=int, default=500, help="requests scored for precision@k")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    experts, requests, planted = population(args.experts, args.requests, seed=args.seed)
    r = {"population": time.perf_counter() - started, "rss_population_mb": rss_mb()}

    reset_peak()
    started = time.perf_counter()
    index = ExpertIndex.build(experts)
    r["index"] = time.perf_counter() - started
    r["index_mb"], r["peak_index_mb"], r["rss_index_mb"] = index.nbytes() / 1e6, peak_mb(), rss_mb()

    reset_peak()
    batch = match_batch(index, requests)
    r.update(batch.stats)
    r["peak_batch_mb"] = peak_mb()
    r["baseline_batch"] = baseline_batch(experts, requests)

    picks = np.random.default_rng(args.seed).choice(len(requests), min(args.queries, len(requests)), replace=False)
    r["top20"] = timed_calls([lambda i=i: rank_for_request(index, requests[i], k=20) for i in picks])
    scores = np.random.default_rng(args.seed).random(100_000)
    r["baseline_top20"] = timed_calls([lambda: np.argpartition(scores, -20)[-20:]] * len(picks))
    after = {every: after_changes(index, experts, requests, args.changes, args.seed, every) for every in (30, 1)}
    r["after_change"], r["after_change_busy"] = after[30], after[1]
    r["after_change_plain"] = timed_calls(
        [lambda request=request: rank_for_request(index, request, k=20) for request in requests[: args.changes]]
    )

    r["p1"], r["p10"], r["quality_n"] = precision(index, requests, planted, args.quality_sample, args.seed)
    r["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(r, args)
    return r


# --------------------------------------------------------------------------- baselines and measures


def baseline_batch(experts, requests, candidates: int = 50, block: int = 100) -> dict[str, float]:
    """Seconds for the least a matcher must do: request x expert skill overlap per mode (one
    sparse product) and the top C per request (argpartition); set-up is not timed. Measured
    twice: on the raw integer overlaps, where argpartition slows down several times on the ties,
    and on distinct keys (overlap + a precomputed per-expert tie-break), the fair minimum."""
    vocabulary = {slug: i for i, slug in enumerate(sorted({s for e in experts for s in e.skills}))}
    by_mode = defaultdict(list)
    for row, expert in enumerate(experts):
        for mode in {o.mode for o in expert.offers}:
            by_mode[mode].append(row)
    skills = _incidence([e.skills for e in experts], vocabulary)
    per_mode = {mode: skills[rows].T.tocsr() for mode, rows in by_mode.items()}
    tiebreak = {mode: (np.arange(len(rows))[::-1] * 1e-7).astype(np.float32) for mode, rows in by_mode.items()}
    wanted = defaultdict(list)
    for request in requests:
        wanted[request.mode].append(request.skills)
    seconds = {"ties": 0.0, "distinct": 0.0}
    for mode, rows in wanted.items():
        if mode not in per_mode:
            continue
        for start in range(0, len(rows), block):
            started = time.perf_counter()
            overlap = (_incidence(rows[start : start + block], vocabulary) @ per_mode[mode]).toarray()
            product = time.perf_counter() - started
            kth = overlap.shape[1] - min(candidates, overlap.shape[1])
            for name in ("ties", "distinct"):
                started = time.perf_counter()
                key = overlap if name == "ties" else overlap + tiebreak[mode]
                np.argpartition(key, kth, axis=1)[:, kth:]
                seconds[name] += product + time.perf_counter() - started
    return seconds


def after_changes(index, experts, requests, n: int, seed: int, every: int) -> dict:
    """Top-20 latency in a minute of registry changes: n queries, and before every `every`-th one
    another person changes (their bio and skills become another expert's). As in
    services.matching, the first query after a change builds the small index of everyone changed
    so far (on the big index's weights) and the following ones reuse it; each query ranks both
    and merges the two rankings."""
    from dataclasses import replace

    rng = np.random.default_rng(seed + 2)
    people = rng.choice(len(experts), n, replace=False).tolist()
    donors = rng.choice(len(experts), n, replace=False).tolist()
    asked = [requests[i] for i in rng.choice(len(requests), n, replace=True)]
    changed: dict[int, object] = {}
    delta: list = [None]
    calls = []
    for i, request in enumerate(asked):
        fresh = replace(experts[people[i]], text=experts[donors[i]].text, skills=experts[donors[i]].skills)

        def call(fresh=fresh, request=request, change=i % every == 0):
            if change:
                changed[fresh.person_id] = fresh
                delta[0] = ExpertIndex.build(list(changed.values()), base=index)
            return rank_with_changes(index, delta[0], changed.keys(), request, k=20)

        calls.append(call)
    return timed_calls(calls)


def timed_calls(calls) -> dict:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * len(times)))],
        "p99": times[min(len(times) - 1, round(0.99 * len(times)))],
    }


def precision(index, requests, planted, sample: int, seed: int) -> tuple[float, float, int]:
    ids = [r for r in requests if r.request_id in planted]
    rng = np.random.default_rng(seed + 1)
    chosen = [ids[i] for i in rng.choice(len(ids), min(sample, len(ids)), replace=False)]
    at1 = at10 = 0
    for request, result in zip(chosen, rank_requests(index, chosen, k=10), strict=True):
        ranked = [c.person_id for c in result.candidates]
        at1 += bool(ranked) and ranked[0] == planted[request.request_id]
        at10 += planted[request.request_id] in ranked
    n = max(len(chosen), 1)
    return at1 / n, at10 / n, len(chosen)


def rss_mb() -> float:
    return _status("VmRSS")


def peak_mb() -> float:
    """Peak resident memory since reset_peak() (Linux VmHWM), else since the process started."""
    return _status("VmHWM")


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux 4.0+)


def _status(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- report


def report(r: dict, args: argparse.Namespace) -> None:
    batch = r["seconds_total"]
    ratio_batch = batch / r["baseline_batch"]["distinct"] if r["baseline_batch"]["distinct"] else float("nan")
    ratio_top = r["top20"]["median"] / r["baseline_top20"]["median"] if r["baseline_top20"]["median"] else float("nan")
    lines = [
        f"Matching engine: {args.experts:,} experts x {args.requests:,} requests (seed {args.seed}), "
        f"{os.cpu_count()} cores",
        "",
        f"{'stage':<44}{'seconds':>10}",
        f"{'population generation (not counted)':<44}{r['population']:>10.1f}",
        f"{'index build (ExpertIndex.build)':<44}{r['index']:>10.1f}",
        f"{'batch: filters + scoring (2 stages)':<44}{r['seconds_scoring']:>10.1f}",
        f"{'batch: assignment (min-cost max-flow)':<44}{r['seconds_assignment']:>10.1f}",
        f"{'batch total (match_batch)':<44}{batch:>10.1f}",
        f"{'total (index build + batch)':<44}{r['index'] + batch:>10.1f}",
        f"{'baseline: skills product + top-C per mode':<44}{r['baseline_batch']['distinct']:>10.1f}",
        f"{'  (the same on raw overlaps, ties and all)':<44}{r['baseline_batch']['ties']:>10.1f}",
        f"{'ratio batch / baseline':<44}{ratio_batch:>10.1f}",
        "",
        f"{'top-20 for one request':<44}{'median ms':>10}{'p95 ms':>10}",
        f"{'rank_for_request (' + str(args.queries) + ' requests)':<44}{r['top20']['median']:>10.1f}"
        f"{r['top20']['p95']:>10.1f}",
        f"{'baseline: argpartition of 100,000 scores':<44}{r['baseline_top20']['median']:>10.2f}"
        f"{r['baseline_top20']['p95']:>10.2f}",
        f"{'ratio (medians)':<44}{ratio_top:>10.0f}",
        "",
        f"{'top-20 in a minute of registry changes':<44}{'median ms':>10}{'p95 ms':>10}{'p99 ms':>10}",
        f"{'  a change every 30 queries (10 a minute)':<44}{r['after_change']['median']:>10.1f}"
        f"{r['after_change']['p95']:>10.1f}{r['after_change']['p99']:>10.1f}",
        f"{'  a change before every query (300 a minute)':<44}{r['after_change_busy']['median']:>10.1f}"
        f"{r['after_change_busy']['p95']:>10.1f}{r['after_change_busy']['p99']:>10.1f}",
        f"{'  baseline: the same number of plain queries':<44}{r['after_change_plain']['median']:>10.1f}"
        f"{r['after_change_plain']['p95']:>10.1f}{r['after_change_plain']['p99']:>10.1f}",
        f"{'  ratio (p99)':<44}{r['after_change']['p99'] / max(r['after_change_plain']['p99'], 1e-9):>30.1f}",
        "",
        f"proposals assigned:        {r['assigned']:,} (candidate edges {r['candidate_edges']:,}); "
        f"unfilled slots {r['unfilled_slots']:,}; dropped for hours {r['dropped_for_hours']:,}",
        f"memory (resident, MB):     population {r['rss_population_mb']:,.0f}; index build peak "
        f"{r['peak_index_mb']:,.0f}, after {r['rss_index_mb']:,.0f}; batch peak {r['peak_batch_mb']:,.0f}; "
        f"process peak {r['peak_rss_mb']:,.0f}",
        f"index arrays:              {r['index_mb']:,.0f} MB "
        f"({r['index_mb'] * 1e6 / max(args.experts, 1):,.0f} bytes an expert)",
        f"quality ({r['quality_n']} planted): precision@1 {r['p1']:.3f}, precision@10 {r['p10']:.3f}",
        "",
        f"target batch <= {TARGET_BATCH_SECONDS} s: "
        + ("met" if batch <= TARGET_BATCH_SECONDS else "MISSED")
        + f" ({batch:.1f} s; with the index build {r['index'] + batch:.1f} s)",
        f"target top-20 median <= {TARGET_TOP20_MS} ms: "
        + ("met" if r["top20"]["median"] <= TARGET_TOP20_MS else "MISSED")
        + f" ({r['top20']['median']:.1f} ms)",
        f"target top-20 p99 in the minute after a registry change <= {TARGET_AFTER_CHANGE_P99_MS} ms: "
        + ("met" if r["after_change"]["p99"] <= TARGET_AFTER_CHANGE_P99_MS else "MISSED")
        + f" ({r['after_change']['p99']:.1f} ms)",
    ]
    text = "\n".join(lines)
    print(text)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"matching-{time.strftime('%Y%m%d-%H%M%S')}.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
