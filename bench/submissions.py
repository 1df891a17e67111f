"""Submission throughput: the real endpoint against a bare Django insert, in the same run.

Both endpoints are served by the same gunicorn (sync workers) on the same
PostgreSQL database, and loaded by the same clients (16 by default, spread
over a few processes so that the load generator is not the bottleneck):

- baseline:   POST /bench/baseline/ parses JSON and inserts one row (no auth, no checks);
- submission: POST /api/v1/surveys/graduate-return/responses/ with token auth, validation
              of a complete graduate-survey response against its version, content hash,
              the idempotent insert and the serialized answer.

Prints a table (requests/s, p50/p95/p99 latency, errors, and the ratio of the
submission's throughput to the baseline's) and writes it to bench/results/.

    make bench                  # or: .venv/bin/python bench/submissions.py --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
from surveys.samples import SAMPLE_GRADUATE_ANSWERS as ANSWERS  # noqa: E402  (after the path set-up)

SUBMIT_PATH = "/api/v1/surveys/graduate-return/responses/"
BASELINE_PATH = "/bench/baseline/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kelu_bench")
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--processes", type=int, default=4, help="load-generator processes")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    env = bench_environment(args.database)
    recreate_database(args.database)
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env)
    run([PYTHON, "manage.py", "load_demo", "--force"], env, quiet=True)
    tokens = json.loads(run([PYTHON, "bench/submissions.py", "--make-tokens", str(args.clients)], env, capture=True))

    server = start_gunicorn(env, args.workers, args.port)
    try:
        base = f"127.0.0.1:{args.port}"
        results = []
        for name, path in (("baseline", BASELINE_PATH), ("submission", SUBMIT_PATH)):
            load(base, path, tokens, args.warmup, args.clients, args.processes)  # warm-up, discarded
            results.append((name, load(base, path, tokens, args.seconds, args.clients, args.processes)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(results, args)


# --------------------------------------------------------------------------- set-up


def bench_environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        SECRET_KEY="bench-" + uuid.uuid4().hex * 2,
        DEBUG="false",
        SECURE_COOKIES="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
    )
    return env


def recreate_database(database_url: str) -> None:
    import psycopg

    admin_url, _, name = database_url.rpartition("/")
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def run(command: list[str], env: dict[str, str], quiet: bool = False, capture: bool = False) -> str:
    result = subprocess.run(
        command, cwd=ROOT, env=env, check=True, text=True, stdout=subprocess.PIPE if quiet or capture else None
    )
    return result.stdout or ""


def make_tokens(count: int) -> None:
    """(In a Django process) one respondent and API token per client; prints the keys as JSON."""
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    keys = []
    for n in range(count):
        user, _ = User.objects.get_or_create(username=f"bench-{n}")
        keys.append(Token.objects.get_or_create(user=user)[0].key)
    print(json.dumps(keys))


def start_gunicorn(env: dict[str, str], workers: int, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not come up")


# --------------------------------------------------------------------------- load


def load(base: str, path: str, tokens: list[str], seconds: float, clients: int, processes: int) -> dict:
    per_process = [list(range(i, clients, processes)) for i in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        started = time.monotonic()
        parts = pool.starmap(_load_process, [(base, path, tokens, ids, seconds) for ids in per_process if ids])
        elapsed = time.monotonic() - started
    latencies = sorted(lat for part in parts for lat in part["latencies"])
    errors = sum(part["errors"] for part in parts)
    duration = max(part["duration"] for part in parts) or elapsed
    return {
        "requests": len(latencies) + errors,
        "ok": len(latencies),
        "errors": errors,
        "error_samples": [s for part in parts for s in part["samples"]][:3],
        "rps": len(latencies) / duration,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
    }


def _load_process(base: str, path: str, tokens: list[str], client_ids: list[int], seconds: float) -> dict:
    host, port = base.split(":")
    deadline = time.monotonic() + seconds
    results = {"latencies": [], "errors": 0, "samples": []}
    lock = threading.Lock()

    def client(client_id: int) -> None:
        headers = {"Content-Type": "application/json", "Authorization": f"Token {tokens[client_id]}"}
        while time.monotonic() < deadline:
            body = json.dumps(
                {
                    "instance_id": str(uuid.uuid4()),
                    "version": 1,
                    "status": "complete",
                    "answers": ANSWERS,
                    "language": "kk",
                }
            )
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                connection.close()
                ok = response.status == 201
            except OSError as exc:
                ok, payload = False, repr(exc).encode()
            latency = (time.perf_counter() - started) * 1000
            with lock:
                if ok:
                    results["latencies"].append(latency)
                else:
                    results["errors"] += 1
                    if len(results["samples"]) < 3:
                        results["samples"].append(payload[:200].decode(errors="replace"))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(cid,)) for cid in client_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results["duration"] = time.monotonic() - started
    return results


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values) + 0.5) - 1))
    return values[index]


# --------------------------------------------------------------------------- report


def report(results: list[tuple[str, dict]], args: argparse.Namespace) -> None:
    baseline = dict(results)["baseline"]
    lines = [
        f"Submissions under gunicorn ({args.workers} sync workers) on PostgreSQL, {args.clients} concurrent "
        f"clients, {args.seconds:.0f} s each, {os.cpu_count()} cores",
        "",
        f"{'endpoint':<12} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'ratio':>6}",
    ]
    for name, r in results:
        ratio = r["rps"] / baseline["rps"] if baseline["rps"] else float("nan")
        lines.append(
            f"{name:<12} {r['requests']:>9} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p95']:>8.1f} "
            f"{r['p99']:>8.1f} {r['errors']:>7} {ratio:>6.2f}"
        )
    submission = dict(results)["submission"]
    ratio = submission["rps"] / baseline["rps"]
    verdict = [
        f"target ratio >= 0.5: {'met' if ratio >= 0.5 else 'MISSED'} ({ratio:.2f})",
        f"target p99 <= 150 ms: {'met' if submission['p99'] <= 150 else 'MISSED'} ({submission['p99']:.1f} ms)",
        f"target 0 errors: {'met' if submission['errors'] == 0 else 'MISSED'} ({submission['errors']})",
    ]
    for name, r in results:
        for sample in r["error_samples"]:
            verdict.append(f"{name} error sample: {sample}")
    text = "\n".join(lines + [""] + verdict)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"submissions-{stamp}.txt").write_text(text + "\n")
    (out / f"submissions-{stamp}.json").write_text(json.dumps(dict(results), indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--make-tokens":
        make_tokens(int(sys.argv[2]))
    else:
        main()
