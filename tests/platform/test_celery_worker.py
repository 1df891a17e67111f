"""The worker command from docker-compose.yml starts and serves the broker for real."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
QUEUES = "interactive,bulk,export"


@pytest.mark.redis
def test_the_compose_worker_command_starts_and_answers_a_ping(tmp_path):
    from config import celery_app

    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "DATABASE_URL": settings.DATABASE_URL}
    name = f"test-{os.getpid()}@localhost"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--queues",
        QUEUES,
        "--concurrency",
        "1",
        "--pool",
        "solo",
        "--hostname",
        name,
        "--loglevel",
        "INFO",
    ]
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log_file:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            replies = []
            deadline = time.monotonic() + 60
            while not replies and time.monotonic() < deadline:
                assert worker.poll() is None, log_path.read_text()
                replies = celery_app.control.ping(destination=[name], timeout=1.0)
            assert replies == [{name: {"ok": "pong"}}], log_path.read_text()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    log = log_path.read_text()
    assert "interactive" in log and "export" in log
