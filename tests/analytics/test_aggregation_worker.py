"""A real Celery worker runs an aggregation job against PostgreSQL, and is killed in the middle of one.

The killed worker leaves its job `running` under a lease it no longer renews. When the
lease expires the sweeper (a beat task) re-enqueues the row, a second worker claims it
and finishes; the tables are the same as a computation that was never interrupted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from analytics.models import AggregationJob, IndicatorTable
from analytics.services.aggregation import aggregation_request, aggregation_run, aggregation_sweep
from config import celery_app
from surveys.demo import instruments_load
from tests.analytics.waves import MARGIN_2019, official_loaded, wave_with_answers

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
LEASE = 4


def start_worker(queue: str, media: Path, log_path: Path, pause: float) -> subprocess.Popen:
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": f"{settings.DATABASE_URL.rsplit('/', 1)[0]}/{database['NAME']}",
        "MEDIA_ROOT": str(media),
        "JOB_LEASE_SECONDS": str(LEASE),
        "JOB_STEP_PAUSE_SECONDS": str(pause),
        "SECRET_KEY": settings.SECRET_KEY,
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--queues", queue, "--pool", "solo"]
    command += ["--hostname", f"{queue}@localhost", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"]
    with open(log_path, "a") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for(condition, seconds: float, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{log_path.read_text()[-3000:]}"
        time.sleep(0.1)


def tables_of(wave) -> dict:
    return {(t.indicator, t.breakdown, t.weighting): t.content_hash for t in IndicatorTable.objects.filter(wave=wave)}


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_leaves_a_job_the_next_worker_finishes_with_the_same_results(tmp_path, settings):
    official_loaded()
    version = instruments_load()[0]
    wave = wave_with_answers(version, "worker-wave", 300, margins=[MARGIN_2019])
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.JOB_LEASE_SECONDS = LEASE
    queue = f"kelu-analytics-test-{os.getpid()}"
    routes = celery_app.conf.task_routes
    celery_app.conf.task_routes = {"analytics.*": {"queue": queue}}
    log_path = tmp_path / "workers.log"
    try:
        # 1. A worker runs a job to the end.
        worker = start_worker(queue, media, log_path, pause=0)
        try:
            first = aggregation_request(wave)
            done = AggregationJob.objects.filter(pk=first.pk, status=AggregationJob.Status.COMPLETE)
            wait_for(done.exists, 120, "the first job", log_path)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        reference = tables_of(wave)
        assert reference and all(reference.values())
        IndicatorTable.objects.filter(wave=wave).delete()

        # 2. A second job; its worker is killed once the frame is built.
        worker = start_worker(queue, media, log_path, pause=2)
        try:
            job = aggregation_request(wave)
            midway = AggregationJob.objects.filter(pk=job.pk, status=AggregationJob.Status.RUNNING, progress__gte=35)
            wait_for(midway.exists, 120, "the job to be under way", log_path)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        job.refresh_from_db()
        assert job.status == AggregationJob.Status.RUNNING  # nobody will finish it by itself
        assert aggregation_run(job.pk) is False  # a redelivery while the lease holds changes nothing

        # 3. Once the lease expires the sweeper re-enqueues the row and a new worker finishes it.
        worker = start_worker(queue, media, log_path, pause=0)
        try:
            wait_for(lambda: job.__class__.objects.filter(pk=job.pk, lease_until__lt=_now()).exists(), 30,
                     "the lease to expire", log_path)  # fmt: skip
            assert aggregation_sweep() == [job.pk]
            finished = AggregationJob.objects.filter(pk=job.pk, status=AggregationJob.Status.COMPLETE)
            wait_for(finished.exists, 120, "the job to be finished by the second worker", log_path)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    finally:
        celery_app.conf.task_routes = routes
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)

    job.refresh_from_db()
    assert job.attempts == 2
    assert tables_of(wave) == reference


def _now():
    from django.utils import timezone

    return timezone.now()
