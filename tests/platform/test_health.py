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
