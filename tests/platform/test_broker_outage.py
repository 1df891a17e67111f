# ruff: noqa: F811  (the export fixtures are imported from tests/surveys/test_exports.py)
"""Requests made while the broker is down answer normally; the job row is the promise.

The broker is down for these tests: sending a task raises what kombu raises when Redis cannot
be reached. An export asked for, a matching run asked for, a message written and a job of
the common job model are each answered as usual and left waiting in the database; once the
broker is back, the beat sweepers send them and they complete.
"""

import datetime as dt

import pytest
from celery.app.task import Task
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.models import Programme, Role
from config import celery_app
from diaspora.models import MatchRun, Message
from diaspora.services import matching
from surveys.models import ExportJob, InvitationSendJob
from surveys.services import exports
from tests.diaspora.people import client_for, expert
from tests.factories import UserFactory
from tests.surveys.test_exports import owner, programme, responses, wave  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch, settings, tmp_path):
    """Every send fails as it does with Redis unreachable; tasks are not run in-process."""
    settings.MEDIA_ROOT = tmp_path / "media"
    sent = []

    def unreachable(self, args=None, kwargs=None, **options):
        sent.append(self.name)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    monkeypatch.setattr(Task, "apply_async", unreachable)
    yield sent
    celery_app.conf.task_always_eager = eager


def _broker_back(monkeypatch) -> None:
    monkeypatch.undo()
    celery_app.conf.task_always_eager = True  # the worker: tasks run here from now on


def test_an_export_asked_for_while_the_broker_is_down_is_built_once_it_is_back(
    owner,
    responses,
    wave,
    broker_down,
    monkeypatch,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    api = client_for(owner)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(f"/api/v1/waves/{wave.slug}/exports/", {"format": "csv", "language": "en"})
    assert answer.status_code == 202 and broker_down == ["surveys.export_build"]
    job = ExportJob.objects.get(pk=answer.json()["id"])
    assert job.status == ExportJob.Status.QUEUED == "created"
    _broker_back(monkeypatch)
    assert exports.exports_sweep() == []  # within its first minute a job is left to its message
    with django_capture_on_commit_callbacks(execute=True):
        assert exports.exports_sweep(now=timezone.now() + dt.timedelta(minutes=2)) == [job.pk]
    job.refresh_from_db()
    assert job.status == ExportJob.Status.COMPLETE and job.file


def test_a_matching_run_asked_for_while_the_broker_is_down_runs_once_it_is_back(
    broker_down, monkeypatch, django_capture_on_commit_callbacks
):
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    admin = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin.programmes.add(bolashak)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_for(admin).post("/api/v1/registry/runs/", {"programme": "bolashak"}, format="json")
    assert answer.status_code == 202 and broker_down == ["diaspora.matching_run"]
    run = MatchRun.objects.get(pk=answer.json()["id"])
    assert run.status == MatchRun.Status.QUEUED == "created"
    _broker_back(monkeypatch)
    assert matching.matching_runs_sweep(now=timezone.now() + dt.timedelta(minutes=2)) == [run.pk]
    run.refresh_from_db()
    assert run.status == MatchRun.Status.COMPLETE


def test_a_run_left_running_by_a_dead_worker_is_taken_over(settings, tasks_in_process):
    run, _ = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key="dead-worker")
    long_ago = timezone.now() - dt.timedelta(seconds=settings.JOB_LEASE_SECONDS + 60)
    MatchRun.objects.filter(pk=run.pk).update(
        status=MatchRun.Status.RUNNING, started_at=long_ago, created_at=long_ago, lease_until=timezone.now()
    )
    assert matching.matching_runs_sweep() == [run.pk]  # its lease ended: nobody renewed it
    run.refresh_from_db()
    assert run.status == MatchRun.Status.COMPLETE and run.attempts == 1
    fresh, _ = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key="alive-worker")
    MatchRun.objects.filter(pk=fresh.pk).update(
        status=MatchRun.Status.RUNNING,
        started_at=long_ago,
        enqueued_at=timezone.now(),
        lease_until=timezone.now() + dt.timedelta(seconds=30),
    )
    assert matching.matching_runs_sweep() == []  # a run whose worker renews its lease is left alone


def test_a_message_written_while_the_broker_is_down_is_stored_and_answered(
    broker_down, django_capture_on_commit_callbacks
):
    from diaspora.services.requests import institution_create

    member = expert("erlan-member", visibility={"contact": "institutions"})
    staff = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    institution_create(name="Toraighyrov University", kind="university", region="KZ-55", staff=[staff])
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_for(staff).post(
            f"/api/v1/registry/people/{member.pk}/messages/", {"subject": "Hi", "body": "Hello"}, format="json"
        )
    assert answer.status_code == 201 and Message.objects.filter(recipient=member.user).exists()
    assert broker_down == ["diaspora.message_notify"]  # its mail goes with messages_notify_due


def test_a_job_never_sent_is_marked_so_and_swept(
    graduate_version, broker_down, monkeypatch, django_capture_on_commit_callbacks
):
    from surveys.models import Wave

    wave = Wave.objects.create(survey=graduate_version.survey, version=graduate_version, slug="w", name="W")
    with django_capture_on_commit_callbacks(execute=True):
        job = InvitationSendJob.objects.create(wave=wave)
        job.enqueue()
    job.refresh_from_db()
    assert job.enqueued_at is None  # not sent: the sweeper's to send
    InvitationSendJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    _broker_back(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        assert InvitationSendJob.sweep() == [job.pk]
    job.refresh_from_db()
    assert job.attempts == 1 and job.status != InvitationSendJob.Status.QUEUED, job.error  # a worker ran it
