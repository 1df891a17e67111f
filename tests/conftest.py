"""Shared fixtures, and the gate for tests that need a real service.

A test marked `postgres`, `redis` or `browser` runs when that component is
there and is skipped, with the reason shown, when it is not. CI sets
KELU_REQUIRE_SERVICES=1, under which a missing component fails the test
instead, so a green CI run has really exercised PostgreSQL, Redis and Chromium.
"""

import os
import shutil
from functools import cache

import pytest
from django.conf import settings

STRICT = os.environ.get("KELU_REQUIRE_SERVICES", "") == "1"
CHROMIUM = "/usr/bin/chromium"


@cache
def _postgres_missing() -> str | None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    return None


@cache
def _redis_missing() -> str | None:
    if not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://..."
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"needs Redis at {settings.REDIS_URL}: {exc}"
    return None


@cache
def _browser_missing() -> str | None:
    if not shutil.which(CHROMIUM):
        return f"needs Chromium at {CHROMIUM} (Debian package 'chromium')"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package"
    return None


_GATES = {"postgres": _postgres_missing, "redis": _redis_missing, "browser": _browser_missing}


def pytest_runtest_setup(item):
    for marker, missing in _GATES.items():
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing()
        if reason:
            if STRICT:
                pytest.fail(f"{reason} (KELU_REQUIRE_SERVICES=1 makes this a failure)", pytrace=False)
            pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    # Each test has its own database rows; a version cached by an earlier test
    # would point at rows that were rolled back.
    from config.authentication import forget_verified_tokens
    from surveys.selectors import forget_published_versions
    from surveys.services.webhooks import forget_webhook_endpoints

    forget_published_versions()
    forget_verified_tokens()
    forget_webhook_endpoints()
    yield
    forget_published_versions()
    forget_verified_tokens()
    forget_webhook_endpoints()


@pytest.fixture(autouse=True)
def _matching_index_rebuilt_in_place(settings):
    # A background rebuild reads on its own connection, which cannot see a test's uncommitted
    # rows; tests/diaspora/test_matching_index.py turns it on where the rows are committed.
    settings.MATCHING_INDEX_BACKGROUND = False


@pytest.fixture(autouse=True)
def _api_throttle_off(settings):
    # Throttle counts live in the cache and outlast a test's rolled-back rows: user ids come
    # back in the next test, which would inherit the count. The tests of throttling turn it on.
    settings.API_USER_THROTTLE_RATE = ""


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Hashing strength is not under test; the default costs ~0.3 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def tasks_in_process(settings, tmp_path):
    """Files in a temporary folder; Celery tasks run in-process even when REDIS_URL is set."""
    from config import celery_app

    settings.MEDIA_ROOT = tmp_path / "media"
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def respondent(db):
    from tests.factories import UserFactory

    return UserFactory(username="aigerim")


@pytest.fixture
def other_respondent(db):
    from tests.factories import UserFactory

    return UserFactory(username="daniyar")


@pytest.fixture
def bolashak(db):
    from accounts.models import Programme

    return Programme.objects.get_or_create(slug="bolashak", defaults={"name": "Bolashak"})[0]


@pytest.fixture
def designer(bolashak):
    """A programme administrator of Bolashak."""
    from accounts.models import Role
    from tests.factories import UserFactory

    user = UserFactory(username="programme-admin", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(bolashak)
    return user


@pytest.fixture
def api(respondent):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(respondent)
    return client


@pytest.fixture
def graduate_version(db):
    """The standard graduate instrument, imported and published."""
    from surveys.demo import instruments_load

    return instruments_load()[0]
