# ruff: noqa: F811  (the export fixtures are imported from tests/surveys/test_exports.py)
"""Export jobs and matching runs stand on the common job row: a lease their worker renews, taken
over by a redelivered task once it expired, waited for while it holds, re-enqueued by the sweeper."""

import datetime as dt

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from diaspora.models import MatchRun
from diaspora.services import matching
from diaspora.tasks import matching_run as matching_run_task
from surveys.models import ExportJob
from surveys.services import exports
from surveys.tasks_exports import export_build
from tests.surveys.test_exports import programme, responses, wave  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db]


def _left_by_a_dead_worker(model, pk: int, *, lease_ends_in: float) -> None:
    model.objects.filter(pk=pk).update(
        status=model.Status.RUNNING,
        started_at=timezone.now() - dt.timedelta(minutes=5),
        enqueued_at=timezone.now() - dt.timedelta(minutes=5),
        lease_until=timezone.now() + dt.timedelta(seconds=lease_ends_in),
        attempts=1,
    )


def test_an_export_job_keeps_its_status_words_and_its_worker_holds_a_lease(responses, wave):
    job = ExportJob.objects.create(wave=wave, format="csv", language="en")
    assert job.status == "created" and ExportJob.Status.RUNNING == "processing"
    done = exports.export_run(job_id=job.pk)
    assert done.status == "complete" and done.attempts == 1 and done.lease_until is None
    assert done.file.name.split("/")[-1].startswith(f"job-{job.pk}-")


def test_a_redelivered_export_takes_over_a_job_whose_lease_expired(responses, wave):
    job = ExportJob.objects.create(wave=wave, format="csv", language="en")
    _left_by_a_dead_worker(ExportJob, job.pk, lease_ends_in=-1)
    export_build(job.pk)  # the message Celery puts back after the worker died
    job.refresh_from_db()
    assert job.status == ExportJob.Status.COMPLETE and job.attempts == 2 and job.file


def test_a_redelivered_export_comes_back_when_a_live_lease_ends_instead_of_doing_nothing(responses, wave):
    job = ExportJob.objects.create(wave=wave, format="csv", language="en")
    _left_by_a_dead_worker(ExportJob, job.pk, lease_ends_in=30)
    with pytest.raises(Retry):  # a Celery retry, due when the lease ends
        export_build(job.pk)
    assert ExportJob.lease_left(job.pk) > 25
    job.refresh_from_db()
    assert job.status == ExportJob.Status.RUNNING and job.attempts == 1  # the holder's, untouched


def test_the_export_sweeper_re_enqueues_a_job_whose_lease_expired_and_leaves_a_live_one(responses, wave):
    dead = ExportJob.objects.create(wave=wave, format="csv", language="en")
    alive = ExportJob.objects.create(wave=wave, format="xlsx", language="en")
    _left_by_a_dead_worker(ExportJob, dead.pk, lease_ends_in=-1)
    _left_by_a_dead_worker(ExportJob, alive.pk, lease_ends_in=60)
    assert exports.exports_sweep() == [dead.pk]
    dead.refresh_from_db()
    assert dead.status == ExportJob.Status.COMPLETE and dead.attempts == 2


def test_a_request_for_the_same_export_while_one_is_unfinished_gets_that_one(responses, wave):
    job, created = exports.export_request(wave=wave, format="csv", language="en", user=None)
    _left_by_a_dead_worker(ExportJob, job.pk, lease_ends_in=-1)
    again, created_again = exports.export_request(wave=wave, format="csv", language="en", user=None)
    assert created and not created_again and again.pk == job.pk  # its lease and the sweeper finish it


def test_a_redelivered_matching_run_takes_over_a_run_whose_lease_expired():
    run, _ = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key="killed")
    _left_by_a_dead_worker(MatchRun, run.pk, lease_ends_in=-1)
    assert matching_run_task(run.pk) == MatchRun.Status.COMPLETE
    run.refresh_from_db()
    assert run.attempts == 2 and run.progress == 100 and "proposals_created" in run.stats


def test_a_redelivered_matching_run_waits_for_a_live_lease():
    run, _ = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key="held")
    _left_by_a_dead_worker(MatchRun, run.pk, lease_ends_in=30)
    with pytest.raises(Retry):
        matching_run_task(run.pk)
    assert MatchRun.objects.get(pk=run.pk).attempts == 1


def test_health_counts_export_and_matching_rows_left_by_a_dead_worker(responses, wave, client):
    job = ExportJob.objects.create(wave=wave, format="csv", language="en")
    run, _ = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key="stuck")
    _left_by_a_dead_worker(ExportJob, job.pk, lease_ends_in=-1)
    _left_by_a_dead_worker(MatchRun, run.pk, lease_ends_in=-1)
    assert client.get("/healthz").json()["jobs"]["waiting"] == 2


def _participants(count: int = 5):
    from accounts.models import Programme
    from diaspora.services.obligation_imports import participants_import
    from tests.diaspora.test_obligations import HEADER, rule

    programme = Programme.objects.get_or_create(slug="bolashak", defaults={"name": "Bolashak"})[0]
    rule(programme)
    rows = "".join(f"B-{i},Scholar {i},,2016,2020-06-30,GBR,Leeds,053\n" for i in range(count))
    participants_import(programme=programme, data=(HEADER + rows).encode(), filename="p.csv", user=None)


def test_the_nightly_recompute_is_one_job_row_a_night_run_by_its_task():
    from django.test import TestCase

    from diaspora.models import ObligationRecompute
    from diaspora.services.obligations import obligations_recompute_request

    _participants()
    with TestCase.captureOnCommitCallbacks(execute=True):
        first = obligations_recompute_request()
        assert obligations_recompute_request().pk == first.pk  # the beat firing twice: one job
    first.refresh_from_db()
    assert first.status == ObligationRecompute.Status.COMPLETE and first.result["seen"] == 5
    assert first.key == f"nightly-{timezone.localdate().isoformat()}"


def test_a_redelivered_recompute_takes_over_one_whose_lease_expired_and_waits_for_a_live_one():
    from diaspora.models import ObligationRecompute
    from diaspora.services.obligations import obligations_recompute_sweep
    from diaspora.tasks import obligations_recompute_run

    _participants()
    held = ObligationRecompute.objects.create(key="held", on=timezone.localdate())
    _left_by_a_dead_worker(ObligationRecompute, held.pk, lease_ends_in=30)
    with pytest.raises(Retry):
        obligations_recompute_run(held.pk)
    assert obligations_recompute_sweep() == []  # a live lease is left alone
    _left_by_a_dead_worker(ObligationRecompute, held.pk, lease_ends_in=-1)
    assert obligations_recompute_sweep() == [held.pk]  # sent again (run here, in-process)
    held.refresh_from_db()
    assert held.status == ObligationRecompute.Status.COMPLETE and held.attempts == 2
    assert held.result == {"seen": 5, "changed": 0, "history": 0}  # the import had computed them
