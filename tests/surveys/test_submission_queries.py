"""The submission hot path runs a fixed, small number of queries: a feature that adds one fails here,
not in a benchmark nobody re-ran (bench/submissions.py measures the time)."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from surveys.models import Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS

# No test transaction around the requests: the queries counted are the ones production runs.
pytestmark = pytest.mark.django_db(transaction=True)


def body(**extra):
    return {"instance_id": str(uuid.uuid4()), "version": 1, "status": "complete", "language": "en",
            "answers": SAMPLE_GRADUATE_ANSWERS, **extra}  # fmt: skip


@pytest.fixture
def client(respondent):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=respondent).key}")
    return client


def test_a_submission_to_a_survey_is_one_insert(client, graduate_version, django_assert_num_queries):
    url = f"/api/v1/surveys/{graduate_version.survey.slug}/responses/"
    assert client.post(url, body(), format="json").status_code == 201  # token, version and webhooks now known
    with django_assert_num_queries(1):  # the INSERT
        assert client.post(url, body(), format="json").status_code == 201


def statements(queries) -> list[str]:
    """The queries, without transaction control (BEGIN, COMMIT, savepoints differ by database)."""
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    return [q["sql"] for q in queries if not q["sql"].upper().startswith(control)]


def test_a_submission_to_a_public_wave_checks_its_rules_in_four_queries(client, graduate_version):
    wave = Wave.objects.create(survey=graduate_version.survey, version=graduate_version, slug="open", name="Open",
                               is_public=True, opens_at=timezone.now() - timezone.timedelta(days=1))  # fmt: skip
    url = f"/api/v1/surveys/{graduate_version.survey.slug}/responses/"
    assert client.post(url, body(wave=wave.slug), format="json").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url, body(wave=wave.slug), format="json").status_code == 201
    # the wave, the respondent's invitation (none), the quota rows (locked), the INSERT
    assert len(statements(queries.captured_queries)) == 4, statements(queries.captured_queries)
