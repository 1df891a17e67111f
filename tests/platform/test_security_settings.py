"""HTTPS hardening outside DEBUG, and Django's deploy check clean with production settings."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What a production deployment behind a TLS proxy sets (README, "Production").
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "kelu.example.kz",
    "CSRF_TRUSTED_ORIGINS": "https://kelu.example.kz",
    "SECURE_PROXY_SSL_HEADER": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def _environment(**extra) -> dict:
    # Not the test run's own switches either: the browser tests' conftest sets
    # DJANGO_ALLOW_ASYNC_UNSAFE in this process (Playwright's loop), which no deployment has.
    dropped = {"DEBUG", "SECURE_HSTS_SECONDS", "SECURE_COOKIES", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return env | extra


def _setting(name: str, **env) -> str:
    code = f"import django, os; django.setup(); from django.conf import settings; print(settings.{name})"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_environment(DJANGO_SETTINGS_MODULE="config.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_deploy_check_has_no_warning_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_environment(**PRODUCTION),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_hsts_and_secure_cookies_are_on_by_default_outside_debug():
    assert _setting("SECURE_HSTS_SECONDS") == str(365 * 24 * 60 * 60)
    assert _setting("SECURE_HSTS_INCLUDE_SUBDOMAINS") == "True"
    assert _setting("SESSION_COOKIE_SECURE") == "True"
    assert _setting("SECURE_HSTS_SECONDS", DEBUG="1") == "0"  # a local run over plain HTTP


@pytest.mark.django_db
def test_an_https_answer_carries_hsts_and_a_plain_http_answer_does_not(client, settings):
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    response = client.get("/accounts/login/", secure=True)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in response.headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/accounts/login/").headers  # plain HTTP: never


@pytest.mark.django_db
def test_with_the_https_redirect_on_pages_redirect_and_the_health_probe_does_not(settings):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # its middleware reads the setting when it starts
    assert client.get("/accounts/login/").status_code == 301
    assert client.get("/healthz").status_code in (200, 503)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/api/docs/", "/healthz", "/no-such-page/", "/api/v1/surveys/"]
)
def test_every_answer_carries_a_policy_without_inline_script_or_style(client, path):
    policy = client.get(path).headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "report-uri /csp-report/" in policy and "frame-ancestors 'none'" in policy


def test_the_report_endpoint_takes_reports_and_refuses_anything_else(client):
    from config import csp

    csp.received.clear()
    report = {"csp-report": {"document-uri": "https://kelu.example.kz/", "violated-directive": "script-src"}}
    assert client.post("/csp-report/", json.dumps(report), content_type="application/csp-report").status_code == 204
    assert csp.received[-1] == report
    assert client.post("/csp-report/", "not json", content_type="application/csp-report").status_code == 400
    assert client.post("/csp-report/", "[" * 20000, content_type="application/json").status_code == 413
    assert client.get("/csp-report/").status_code == 405
    csp.received.clear()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/analytics/official/groups/gtci/?programme=a%00b",
        "/api/v1/registry/people/?q=%00",
        "/api/v1/surveys/?x%00=1",
    ],
)
def test_a_nul_character_in_an_api_address_is_a_clear_400(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]
