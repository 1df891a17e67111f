"""A real Celery worker builds a research export against PostgreSQL, and is killed in the middle of one.

The killed worker leaves the export `running` under a lease it no longer renews; once the
lease expires the sweeper re-enqueues the row and a second worker builds the file.
"""

from __future__ import annotations

import io
import os
import signal
import zipfile

import pandas as pd
import pytest
import redis
from django.test import TestCase

import analytics.tasks  # noqa: F401 (registers the task)
from accounts.models import Programme, Role
from analytics.models import ResearchExport
from analytics.services import research
from config import celery_app
from surveys.demo import instruments_load
from tests.analytics.test_aggregation_worker import LEASE, _now, start_worker, wait_for
from tests.analytics.waves import wave_with_answers
from tests.factories import UserFactory

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_export_leaves_a_job_the_next_worker_finishes(tmp_path, settings):
    version = instruments_load()[0]
    programme = Programme.objects.get_or_create(slug="bolashak", defaults={"name": "Bolashak"})[0]
    version.survey.programme = programme
    version.survey.save(update_fields=["programme"])
    wave = wave_with_answers(version, "research-worker-wave", 300)
    admin = UserFactory(username="reviewer", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin.programmes.add(programme)
    researcher = UserFactory(username="researcher", role=Role.RESEARCHER)
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.JOB_LEASE_SECONDS = LEASE
    queue = f"kelu-research-test-{os.getpid()}"
    routes = celery_app.conf.task_routes
    celery_app.conf.task_routes = {"analytics.*": {"queue": queue}}
    celery_app.amqp.flush_routes()  # an earlier test may have left the routes read (and kept) already
    log_path = tmp_path / "workers.log"
    task = celery_app.tasks["analytics.research_export_run"]
    try:
        with TestCase.captureOnCommitCallbacks(execute=False):
            request = research.research_request_submit(
                user=researcher, survey=version.survey, waves=[wave], formats=["csv", "parquet"], language="en",
                variables=["country_residence", "field_of_study", "departure_year", "return_intention"],
                purpose="Return intentions", institution="KIMEP", licence="licensed", terms_accepted=True,
            )  # fmt: skip
            research.research_request_review(request=request, user=admin, decision="approve")
        export = request.exports.get(kind=ResearchExport.Kind.EXPORT)

        # 1. A worker takes the export and is killed half-way.
        worker = start_worker(queue, media, log_path, pause=2)
        try:
            task.apply_async(args=[export.pk], queue=queue)
            midway = ResearchExport.objects.filter(pk=export.pk, status="running", progress__gte=46)
            wait_for(midway.exists, 120, "the export to be under way", log_path)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        export.refresh_from_db()
        assert export.status == "running" and not export.file
        assert research.research_export_run(export.pk) is False  # a redelivery while the lease holds does nothing

        # 2. The lease expires; the sweeper re-enqueues; a new worker finishes.
        worker = start_worker(queue, media, log_path, pause=0)
        try:
            expired = lambda: ResearchExport.objects.filter(pk=export.pk, lease_until__lt=_now()).exists()  # noqa: E731
            wait_for(expired, 30, "the lease to expire", log_path)
            # (the request's other job, queued and sent longer ago than two leases, is sent again
            # too: its message may have been lost; config/jobs.py Job.sweep)
            assert export.pk in research.research_export_sweep()
            # The sweeper's message follows the app's routing, which a process that ran other worker tests
            # may hold differently; the redelivery a broker would make is sent to this worker's queue too
            # (a second delivery is harmless: only one claim succeeds).
            task.apply_async(args=[export.pk], queue=queue)
            done = ResearchExport.objects.filter(pk=export.pk, status="complete")
            wait_for(done.exists, 120, "the export to be finished by the second worker", log_path)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    finally:
        celery_app.conf.task_routes = routes
        celery_app.amqp.flush_routes()
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)

    export.refresh_from_db()
    assert export.attempts == 2 and not ResearchExport.objects.filter(status="running").exists()
    with export.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        frame = pd.read_parquet(io.BytesIO(archive.read("data.parquet")))
    assert len(frame) == export.row_count > 0
