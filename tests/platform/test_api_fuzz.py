"""The API fuzzed against its own OpenAPI schema (schemathesis, through the WSGI app), with the
token of each role in turn: what one role may call, another is refused, and neither ever
gets a server error. 380 operation and role pairs, up to 10 examples each (fewer where an
operation has fewer distinct inputs): the CI run asks for at least 1,000 cases; 20 examples took
a quarter of the PostgreSQL step's time."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
EXAMPLES_PER_OPERATION = 10  # per role
ROLES = ["respondent", "institution_staff", "programme_admin", "researcher", "superuser"]
TOKEN = "f" * 40


@schema.auth()
class TokenAuth:
    """Schemathesis sends this token, and knows to swap it for a bad one when checking auth."""

    def get(self, case, context):
        return TOKEN

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}


@pytest.fixture
def _keep_test_connection():
    """The WSGI app closes "old" connections around each request; Django's own test client
    switches that off, and so must a test calling the app directly, or PostgreSQL loses the
    test's transaction after the first request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=ROLES)
def fuzz_token(request, db, graduate_version, _keep_test_connection):
    from accounts.models import Role
    from tests.factories import UserFactory

    role = request.param
    if role == "superuser":
        user = UserFactory(username="fuzzer", is_superuser=True, is_staff=True)
    else:
        user = UserFactory(username="fuzzer", role=role, is_staff=role == Role.PROGRAMME_ADMIN)
    return Token.objects.create(user=user, key=TOKEN).key


@pytest.mark.contract
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_its_contract_and_never_fails_with_a_server_error(case, fuzz_token):
    # positive_data_acceptance is left out: answers that fit the schema (any JSON object)
    # are still refused by the survey's own rules, which the schema cannot express.
    case.call_and_validate(
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
