"""The benchmark still runs end to end (a one-second smoke run; figures are not asserted)."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.postgres
def test_the_submission_benchmark_runs_and_prints_its_table(tmp_path):
    database = settings.DATABASE_URL.rsplit("/", 1)[0] + "/kelu_bench_smoke"
    result = subprocess.run(
        [
            sys.executable,
            "bench/submissions.py",
            "--database",
            database,
            "--seconds",
            "1",
            "--warmup",
            "0.5",
            "--clients",
            "2",
            "--processes",
            "1",
            "--workers",
            "1",
            "--port",
            str(free_port()),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "baseline" in result.stdout and "submission" in result.stdout
    assert "target 0 errors: met" in result.stdout, result.stdout


@pytest.mark.postgres
def test_the_database_matching_benchmark_runs_and_prints_its_table():
    database = settings.DATABASE_URL.rsplit("/", 1)[0] + "/kelu_bench_matching_smoke"
    result = subprocess.run(
        [
            sys.executable,
            "bench/matching_db.py",
            "--database",
            database,
            "--experts",
            "500",
            "--requests",
            "50",
            "--queries",
            "10",
            "--pace",
            "0",
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "total: matching_run" in result.stdout and "proposals written" in result.stdout, result.stdout
    assert "Top 20 through the service" in result.stdout and "target p99" in result.stdout, result.stdout


@pytest.mark.postgres
def test_the_analytics_benchmark_runs_and_prints_its_table():
    database = settings.DATABASE_URL.rsplit("/", 1)[0] + "/kelu_bench_analytics_smoke"
    result = subprocess.run(
        [sys.executable, "bench/analytics.py", "--database", database, "--responses", "3000", "--new", "300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "baseline" in result.stdout and "incremental" in result.stdout
    assert "frame incremental" in result.stdout and "tables written 0" in result.stdout, result.stdout


@pytest.mark.postgres
def test_the_audit_benchmark_runs_and_prints_its_table():
    # named after this run's own database: never another run's
    database = settings.DATABASE_URL.rsplit("/", 1)[0] + f"/{settings.DATABASES['default']['NAME']}_bench_audit"
    result = subprocess.run(
        [sys.executable, "bench/audit.py", "--database", database, "--rows", "20000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "everyone who accessed one person" in result.stdout and "baseline" in result.stdout, result.stdout
