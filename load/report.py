"""The table `make load` ends with: requests, failures, error rate and p50/p95/p99 per group.

Reads the per-group response times the locustfile wrote (LOAD_GROUPS) and locust's own CSV of
requests by route (for the slowest routes). Exits non-zero when the targets are missed, so the
run says so plainly: p95 < 300 ms and error rate < 0.1 % over all requests.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

P95_TARGET_MS = 300
ERROR_RATE_TARGET = 0.001


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (as locust reports them), 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[rank]


def rows(groups: dict) -> list[tuple[str, int, int, float, float, float, float]]:
    table = []
    everything: list[float] = []
    failed_total = 0
    for group, times in groups["times"].items():
        failed = groups["failures"][group]
        everything += times
        failed_total += failed
        table.append(
            (group, len(times), failed, failed / len(times) if times else 0.0,
             percentile(times, 0.5), percentile(times, 0.95), percentile(times, 0.99))
        )  # fmt: skip
    total = len(everything)
    table.append(
        ("all", total, failed_total, failed_total / total if total else 0.0,
         percentile(everything, 0.5), percentile(everything, 0.95), percentile(everything, 0.99))
    )  # fmt: skip
    return table


def slowest_routes(stats_csv: Path, limit: int = 8) -> list[dict]:
    if not stats_csv.exists():
        return []
    with stats_csv.open() as handle:
        routes = [r for r in csv.DictReader(handle) if r["Name"] != "Aggregated"]
    return sorted(routes, key=lambda r: float(r["95%"] or 0), reverse=True)[:limit]


def main(groups_json: str, stats_csv: str, seconds: str = "") -> int:
    groups = json.loads(Path(groups_json).read_text())
    table = rows(groups)
    print()
    print(f"Load: {seconds or '?'} s; targets: p95 < {P95_TARGET_MS} ms, error rate < {ERROR_RATE_TARGET:.1%}")
    print(f"{'group':<12} {'requests':>9} {'failures':>9} {'errors':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for group, count, failed, rate, p50, p95, p99 in table:
        print(f"{group:<12} {count:>9,} {failed:>9,} {rate:>8.3%} {p50:>8.0f} {p95:>8.0f} {p99:>8.0f}")
    routes = slowest_routes(Path(stats_csv))
    if routes:
        print("\nSlowest routes by p95 (ms):")
        for r in routes:
            print(f"  {r['Name']:<52} {int(r['Request Count']):>7,} req  p50 {r['50%']:>6}  p95 {r['95%']:>6}"
                  f"  p99 {r['99%']:>6}  failures {r['Failure Count']}")  # fmt: skip
    _group, _count, _failed, rate, _p50, p95, _p99 = table[-1]
    met = p95 < P95_TARGET_MS and rate < ERROR_RATE_TARGET
    print(f"\nTargets {'met' if met else 'missed'}: p95 {p95:.0f} ms, error rate {rate:.3%}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
