"""The nightly recompute run by a real Celery worker against PostgreSQL and Redis: the night's
job row is made once (a second beat the same night finds it), its task writes every standing and
one history row each; another recompute the same day changes nothing."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Programme
from diaspora.models import ObligationRecompute, ObligationRule, Participation, StatusChange
from diaspora.services.obligation_imports import episodes_import, participants_import
from diaspora.services.obligations import obligations_recompute_request
from diaspora.tasks import obligations_nightly
from tests.analytics.test_aggregation_worker import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def start_worker(queue: str, log_path: Path) -> subprocess.Popen:
    """A worker that logs each finished task with its result (there is no result backend)."""
    database = settings.DATABASES["default"]
    env = {
        **os.environ, "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": f"{settings.DATABASE_URL.rsplit('/', 1)[0]}/{database['NAME']}",
    }  # fmt: skip
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--queues", queue, "--pool", "solo",
               "--hostname", f"{queue}@localhost", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]  # fmt: skip
    with open(log_path, "a") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def finished(key: str) -> dict | None:
    """The result of the recompute job `key` once its worker finished it."""
    job = ObligationRecompute.objects.filter(key=key, status=ObligationRecompute.Status.COMPLETE).first()
    return job.result if job else None


@pytest.mark.django_db(transaction=True)
def test_the_nightly_recompute_by_a_real_worker_is_idempotent(tmp_path, settings):
    programme = Programme.objects.create(slug="bolashak", name="Bolashak")
    ObligationRule.objects.create(programme=programme, version=1, name="Five years", adopted_on=dt.date(2008, 1, 1),
                                  cohorts_from=2005, months_required=60, window_months=96, countries=["KAZ"])  # fmt: skip
    rows = "".join(f"B-{i},Scholar {i},,{2012 + i % 8},{2015 + i % 8}-06-30\n" for i in range(60))
    participants_import(programme=programme, user=None, filename="p.csv",
                        data=("external_id,full_name,email,cohort,graduation_date\n" + rows).encode())  # fmt: skip
    records = "".join(
        f"B-{i},employment,{2015 + i % 8}-09-01,,KAZ,KZ-71,Employer,yes,administrative\n" for i in range(0, 60, 3)
    )
    episodes_import(programme=programme, user=None, filename="e.csv",
                    data=("external_id,kind,start,end,country,region,employer,specialty_related,source\n" + records).encode())  # fmt: skip
    # As if never computed: the worker's first night writes every standing.
    Participation.objects.update(computed_on=None, status="pending_return", months_served=0)
    StatusChange.objects.all().delete()
    queue = f"kelu-obligations-test-{os.getpid()}"
    log_path = tmp_path / "worker.log"
    # This process's own Redis database (settings): the job's task goes to the "bulk" queue.
    worker = start_worker(f"{queue},bulk", log_path)
    night = f"nightly-{timezone.localdate().isoformat()}"
    try:
        obligations_nightly.apply_async(queue=queue)  # explicit: the app's router may be cached already
        obligations_nightly.apply_async(queue=queue)  # the beat firing twice: the same job
        wait_for(lambda: finished(night) is not None, 120, "the first night", log_path)
        assert finished(night) == {"seen": 60, "changed": 60, "history": 60}
        assert ObligationRecompute.objects.count() == 1
        assert StatusChange.objects.count() == 60
        standings = dict(Participation.objects.values_list("pk", "computed_hash"))
        assert Participation.objects.filter(status="fulfilled").exists()
        obligations_recompute_request(key="again")
        wait_for(lambda: finished("again") is not None, 120, "the rerun", log_path)
        assert finished("again") == {"seen": 60, "changed": 0, "history": 0}
        assert StatusChange.objects.count() == 60
        assert dict(Participation.objects.values_list("pk", "computed_hash")) == standings
    finally:
        worker.terminate()
        worker.wait(timeout=30)
