"""Every API read answers in the browsable HTML format too, for every role, without a server error.

A browser that follows an API link sends `Accept: text/html`; `?format=api` asks for the same
page. Both go through DRF's BrowsableAPIRenderer, which calls parts of a view (its queryset,
its forms) that a JSON answer never touches.
"""

import re

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Programme, Role
from tests.diaspora.people import expert, expertise_request, institution
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _get_paths() -> list[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(path for path, operations in schema["paths"].items() if "get" in operations)


@pytest.fixture
def people(graduate_version):
    programme = Programme.objects.create(slug="bolashak", name="Bolashak")
    inst, staff = institution()
    member = expert("erlan-member", programmes=["bolashak"])
    request = expertise_request(staff, inst)
    admin = UserFactory(username="bolashak-admin", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin.programmes.add(programme)
    return {
        "member": member.user,
        "respondent": UserFactory(username="respondent"),
        "staff": staff,
        "admin": admin,
        "researcher": UserFactory(username="researcher", role=Role.RESEARCHER),
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
        "ids": {"request": request.pk, "person": member.pk},
    }


def _concrete(path: str, ids: dict) -> str:
    """Path parameters filled with ids of rows that exist where there is an obvious one, else 1."""
    path = path.replace("/requests/{pk}/", f"/requests/{ids['request']}/")
    path = path.replace("/people/{pk}/", f"/people/{ids['person']}/")
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize("role", ["member", "respondent", "staff", "admin", "researcher", "superuser"])
def test_every_api_read_renders_as_html_for_every_role(people, role):
    client = Client(raise_request_exception=False)
    client.force_login(people[role])
    failures = []
    for path in _get_paths():
        url = _concrete(path, people["ids"])
        for response in (
            client.get(url, {"format": "api"}),
            client.get(url, HTTP_ACCEPT="text/html"),
        ):
            if response.status_code >= 500:
                failures.append(f"{url} -> {response.status_code}")
    assert not failures, failures


@pytest.mark.parametrize(
    "path",
    ["/api/v1/registry/obligations/indicators/?format=csv", "/api/v1/analytics/waves/no-such/tables/?format=csv"],
)
def test_a_refusal_asked_for_as_csv_is_answered_in_json(people, path):
    client = Client()
    client.force_login(people["respondent"])
    response = client.get(path)
    assert response.status_code in (403, 404)
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
