import datetime as dt
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from surveys.models import Response, Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS

URL = "/api/v1/surveys/graduate-return/responses/"

ANSWERS = SAMPLE_GRADUATE_ANSWERS


def body(**overrides):
    return {"instance_id": str(uuid.uuid4()), "version": 1, "status": "complete", "answers": dict(ANSWERS), **overrides}


@pytest.fixture(autouse=True)
def _instrument(graduate_version):
    return graduate_version


def test_it_stores_a_complete_response(api, respondent):
    response = api.post(URL, body(), format="json")
    assert response.status_code == 201, response.json()
    stored = Response.objects.get()
    assert stored.respondent == respondent
    assert stored.status == "complete" and stored.submitted_at is not None
    assert stored.answers["departure_year"] == 2019
    assert stored.answers["years_abroad"] == timezone.localdate().year - 2019 - (timezone.localdate().year - 2026)
    assert len(stored.content_hash) == 64


def test_a_resend_with_the_same_content_returns_the_stored_response(api):
    payload = body()
    first = api.post(URL, payload, format="json")
    again = api.post(URL, payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Response.objects.count() == 1


def test_the_same_instance_id_with_other_content_is_a_conflict(api):
    payload = body()
    api.post(URL, payload, format="json")
    payload["answers"]["barrier_salary"] = "1"
    response = api.post(URL, payload, format="json")
    assert response.status_code == 409
    assert Response.objects.get().answers["barrier_salary"] == "5"


def test_invalid_answers_get_a_400_naming_each_field_in_the_respondents_language(api):
    answers = {**ANSWERS, "departure_year": "last year", "likelihood_5y": "9"}
    del answers["consent_contact"]
    response = api.post(URL, body(answers=answers, language="ru"), format="json")
    assert response.status_code == 400
    errors = response.json()["answers"]
    assert errors["departure_year"] == ["Введите целое число."]
    assert errors["likelihood_5y"] == ["«9» нет среди вариантов ответа."]
    assert "consent_contact" in errors
    assert not Response.objects.exists()


def test_accept_language_picks_the_message_language(api):
    response = api.post(
        URL, body(answers={"departure_year": "x"}, status="partial"), format="json", HTTP_ACCEPT_LANGUAGE="kk"
    )
    assert response.json()["answers"]["departure_year"] == ["Бүтін сан енгізіңіз."]


def test_a_malformed_envelope_is_a_400(api):
    response = api.post(URL, {"instance_id": "not-a-uuid", "version": "one", "answers": []}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"instance_id", "version", "answers"}


def test_an_unknown_version_is_a_400(api):
    response = api.post(URL, body(version=7), format="json")
    assert response.status_code == 400
    assert "no version 7" in response.json()["version"][0]


def test_answers_to_questions_that_are_not_relevant_are_not_stored(api):
    answers = {**ANSWERS, "return_intention": "already_returned", "return_year": 2024, "barrier_salary": "5"}
    response = api.post(URL, body(answers=answers), format="json")
    assert response.status_code == 201, response.json()
    assert "barrier_salary" not in response.json()["answers"]
    assert response.json()["answers"]["return_year"] == 2024


def test_save_a_partial_response_then_complete_it(api):
    payload = body(status="partial", answers={"country_residence": "USA"})
    created = api.post(URL, payload, format="json")
    assert created.status_code == 201
    assert created.json()["status"] == "partial"
    detail = f"{URL}{payload['instance_id']}/"
    saved = api.put(
        detail, {"status": "partial", "answers": {"country_residence": "USA", "programme": "bolashak"}}, format="json"
    )
    assert saved.status_code == 200 and saved.json()["answers"]["programme"] == "bolashak"
    done = api.put(detail, {"status": "complete", "answers": ANSWERS}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "complete"
    assert api.get(detail).json()["answers"] == done.json()["answers"]


def test_a_complete_response_cannot_change(api):
    payload = body()
    api.post(URL, payload, format="json")
    detail = f"{URL}{payload['instance_id']}/"
    assert api.put(detail, {"status": "complete", "answers": ANSWERS}, format="json").status_code == 200
    changed = {**ANSWERS, "barrier_salary": "1"}
    assert api.put(detail, {"status": "complete", "answers": changed}, format="json").status_code == 409


def test_completing_requires_the_required_answers(api):
    payload = body(status="partial", answers={})
    api.post(URL, payload, format="json")
    response = api.put(f"{URL}{payload['instance_id']}/", {"status": "complete", "answers": {}}, format="json")
    assert response.status_code == 400
    assert "country_residence" in response.json()["answers"]


def test_respondents_cannot_read_or_change_each_others_responses(api, other_respondent):
    payload = body()
    api.post(URL, payload, format="json")
    detail = f"{URL}{payload['instance_id']}/"
    outsider = APIClient()
    outsider.force_authenticate(other_respondent)
    assert outsider.get(detail).status_code == 404
    assert outsider.put(detail, {"status": "complete", "answers": ANSWERS}, format="json").status_code == 404
    assert outsider.get(URL).json()["count"] == 0
    resend = outsider.post(URL, payload, format="json")
    assert resend.status_code == 409
    assert "answers" not in resend.json()


def test_anonymous_requests_are_refused(db):
    client = APIClient()
    assert client.get(URL).status_code == 401
    assert client.post(URL, body(), format="json").status_code == 401


def test_token_authentication_works(respondent):
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "aigerim", "password": "correct horse battery staple"})
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert client.post(URL, body(), format="json").status_code == 201


def test_a_response_in_an_open_wave_is_linked_to_it(api, graduate_version):
    wave = Wave.objects.create(
        survey=graduate_version.survey, version=graduate_version, slug="w1", name="Wave 1", is_public=True
    )
    response = api.post(URL, body(wave="w1"), format="json")
    assert response.status_code == 201
    assert Response.objects.get().wave == wave


def test_a_closed_wave_refuses_responses(api, graduate_version):
    Wave.objects.create(
        survey=graduate_version.survey,
        version=graduate_version,
        slug="old",
        name="Old",
        opens_at=timezone.now() - dt.timedelta(days=30),
        closes_at=timezone.now() - dt.timedelta(days=1),
        is_public=True,
    )
    response = api.post(URL, body(wave="old"), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "wave_closed" and "closed" in response.json()["detail"]


def test_a_malformed_token_is_a_401_not_a_server_error(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    assert client.get(URL).status_code == 401


def test_the_fast_output_matches_the_documented_serializer(api):
    from surveys.serializers import ResponseOutput, response_output

    api.post(URL, body(), format="json")
    stored = Response.objects.get()
    assert response_output(stored) == ResponseOutput(stored).data


def test_a_deleted_token_stops_working_once_the_cache_has_expired(respondent, settings):
    from rest_framework.authtoken.models import Token

    from config.authentication import forget_verified_tokens

    token = Token.objects.create(user=respondent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(URL).status_code == 200
    token.delete()
    forget_verified_tokens()  # what TOKEN_CACHE_SECONDS does by itself
    assert client.get(URL).status_code == 401
    settings.TOKEN_CACHE_SECONDS = 0
    assert client.get(URL).status_code == 401


def test_text_that_cannot_be_encoded_is_a_400_not_a_server_error(api):
    response = api.post(URL, body(answers={"\ud800": 1, "programme": "\ud800"}, status="partial"), format="json")
    assert response.status_code == 400
    assert "programme" in response.json()["answers"]


def test_absurdly_nested_json_is_a_400_not_a_server_error(api):
    response = api.post(URL, "[" * 200_000, content_type="application/json")
    assert response.status_code == 400


def test_a_malformed_page_size_is_a_400(api):
    assert api.get(URL, {"limit": "²"}).status_code == 400
    assert api.get(URL, {"limit": "0"}).status_code == 400


def test_the_same_instance_in_another_wave_is_a_conflict(api, graduate_version):
    for slug in ("w1", "w2"):
        Wave.objects.create(
            survey=graduate_version.survey, version=graduate_version, slug=slug, name=slug, is_public=True
        )
    payload = body(wave="w1")
    assert api.post(URL, payload, format="json").status_code == 201
    assert api.post(URL, {**payload, "wave": "w2"}, format="json").status_code == 409


def test_work_history_entries_travel_as_a_list_and_errors_name_the_entry(api):
    jobs = [
        {"job_employer": "Siemens", "job_country": "DEU", "job_start": "2021-09", "job_end": "2023-06"},
        {"job_country": "KAZ", "job_start": "2023-07", "job_end": "2023-01", "job_related": "maybe"},
    ]
    response = api.post(URL, body(answers={**ANSWERS, "jobs": jobs}, language="en"), format="json")
    assert response.status_code == 400
    errors = response.json()["answers"]
    assert set(errors) == {"jobs[2].job_employer", "jobs[2].job_end", "jobs[2].job_related"}
    assert errors["jobs[2].job_end"] == ["The month ended cannot be before the month started."]
    response = api.post(URL, body(answers={**ANSWERS, "jobs": jobs[:1]}), format="json")
    assert response.status_code == 201, response.json()
    assert Response.objects.get().answers["jobs"] == [
        {"job_employer": "Siemens", "job_country": "DEU", "job_start": "2021-09-01", "job_end": "2023-06-01"}
    ]
