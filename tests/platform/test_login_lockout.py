"""Wrong passwords pause sign-in on every path, by account and address; the owner elsewhere is not blocked.

The three ways in (the sign-in page, the admin's sign-in page, the API token endpoint) are
tried from one address with wrong passwords until the lockout, then with the right password
from the same address (refused) and from another address (signed in). Sign-in works with the
cache unreachable, and the API throttles each user on their own.
"""

import pytest
from django.test import Client

from accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


def _page(path: str):
    def attempt(client: Client, username: str, password: str, address: str):
        response = client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)
        return response.status_code, response

    return attempt


def _token(client: Client, username: str, password: str, address: str):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )
    return response.status_code, response


PATHS = {"sign-in page": _page("/accounts/login/"), "admin": _page("/admin/login/"), "api token": _token}
SIGNED_IN = {"sign-in page": 302, "admin": 302, "api token": 200}


@pytest.fixture
def owner():
    user = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.mark.parametrize("path", PATHS, ids=PATHS)
def test_wrong_passwords_pause_that_account_from_that_address_only(owner, path, settings):
    attempt = PATHS[path]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        status, _response = attempt(Client(), "amina", "guess", ATTACKER)
        assert status != SIGNED_IN[path]
    status, response = attempt(Client(), "amina", PASSWORD, ATTACKER)
    assert status == 429, response.content[:300]
    assert int(response["Retry-After"]) > 0
    assert b"Too many failed sign-ins" in response.content
    status, response = attempt(Client(), "amina", PASSWORD, OWNER)
    assert status == SIGNED_IN[path], response.content[:300]


def test_one_address_guessing_many_accounts_is_paused_for_every_account(owner, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    attempt = PATHS["sign-in page"]
    for i in range(12):
        attempt(Client(), f"someone-{i}", "guess", ATTACKER)  # two failures for no account at all
    status, _response = attempt(Client(), "amina", PASSWORD, ATTACKER)
    assert status == 429
    assert attempt(Client(), "amina", PASSWORD, OWNER)[0] == 302


def test_the_pause_ends_after_the_cool_off(owner, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt

    attempt = PATHS["api token"]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), "amina", "guess", ATTACKER)
    assert attempt(Client(), "amina", PASSWORD, ATTACKER)[0] == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    assert attempt(Client(), "amina", PASSWORD, ATTACKER)[0] == 200


def test_signing_in_does_not_need_the_cache(owner, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert PATHS["api token"](Client(), "amina", PASSWORD, OWNER)[0] == 200
    assert PATHS["sign-in page"](Client(), "amina", PASSWORD, OWNER)[0] == 302
    status, response = PATHS["api token"](Client(), "amina", "guess", OWNER)
    assert status == 400, response.content  # a wrong password is still a clear answer, not a 500


def test_the_api_throttles_each_user_on_their_own(owner, settings):
    from tests.diaspora.people import client_for

    settings.API_USER_THROTTLE_RATE = "5/min"
    busy = client_for(owner)
    for _ in range(5):
        assert busy.get("/api/v1/surveys/").status_code == 200
    refused = busy.get("/api/v1/surveys/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    other = client_for(UserFactory(username="daniyar", role=Role.PROGRAMME_ADMIN, is_staff=True))
    assert other.get("/api/v1/surveys/").status_code == 200
