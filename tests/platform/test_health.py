import json

import pytest


@pytest.mark.django_db
def test_health_reports_the_database_and_broker(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == ("ok" if settings.REDIS_URL else "in-process")


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")


@pytest.mark.django_db
def test_the_api_docs_and_schema_are_served(client):
    assert client.get("/api/docs/").status_code == 200
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/surveys/{slug}/responses/" in schema.content


@pytest.mark.django_db
def test_a_forged_session_cookie_is_no_session_not_a_server_error(client):
    client.cookies["sessionid"] = "abc\x00def" * 4
    assert client.get("/api/v1/surveys/").status_code in (401, 403)


@pytest.mark.django_db
def test_health_reports_work_waiting_for_a_worker_and_its_age(client, settings, graduate_version):
    from datetime import timedelta

    from django.utils import timezone

    from diaspora.models import MatchRun
    from surveys.models import InvitationSendJob, Wave

    body = client.get("/healthz").json()
    assert body["jobs"] == {"waiting": 0, "oldest_waiting_seconds": None} and body["workers"] == "ok"

    wave = Wave.objects.create(survey=graduate_version.survey, version=graduate_version, slug="w", name="W")
    now = timezone.now()
    queued = InvitationSendJob.objects.create(wave=wave)
    InvitationSendJob.objects.filter(pk=queued.pk).update(created_at=now - timedelta(minutes=2))
    dead = InvitationSendJob.objects.create(wave=wave, status="running", lease_until=now - timedelta(seconds=5))
    InvitationSendJob.objects.filter(pk=dead.pk).update(created_at=now - timedelta(minutes=9))
    InvitationSendJob.objects.create(wave=wave, status="running", lease_until=now + timedelta(minutes=5))  # alive
    MatchRun.objects.create(kind=MatchRun.Kind.MANUAL, key="health-run")
    body = client.get("/healthz").json()
    assert body["jobs"]["waiting"] == 3  # the queued job, the one whose worker died, the run
    assert 9 * 60 <= body["jobs"]["oldest_waiting_seconds"] < 10 * 60
    assert body["workers"] == "behind"  # past HEALTH_JOB_WAIT_SECONDS (300)
    settings.HEALTH_JOB_WAIT_SECONDS = 3600
    assert client.get("/healthz").json()["workers"] == "ok"


def _answered_while(error: Exception, request):
    from config.api import server_error

    try:
        raise error
    except Exception:  # Django calls its 500 handler inside its own except block
        return server_error(request)


@pytest.mark.parametrize("error", ["OperationalError", "InterfaceError"])
def test_a_database_that_cannot_be_reached_is_answered_503_with_retry_after(rf, error):
    from django import db

    raised = getattr(db, error)("connection to server at 127.0.0.1 failed: Connection refused")
    api = _answered_while(raised, rf.get("/api/v1/surveys/"))
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert json.loads(api.content) == {"detail": "The service is temporarily unavailable; try again shortly."}
    page = _answered_while(raised, rf.get("/registry/"))
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert b"<h1>" in page.content and b"127.0.0.1" not in page.content and b"Traceback" not in page.content


def test_other_errors_stay_500_without_retry_after(rf):
    from django.db import IntegrityError

    answer = _answered_while(IntegrityError("duplicate key"), rf.get("/api/v1/surveys/"))
    assert answer.status_code == 500 and "Retry-After" not in answer
