"""Pages the platform does not write itself render under its Content-Security-Policy too.

The API docs (Swagger UI, drf-spectacular's page with its start-up script served as a file),
DRF's browsable API and the admin are opened as a superuser; the conftest fails the test on
any refusal the browser reports.
"""

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"


def test_api_docs_browsable_api_and_admin_keep_the_policy(page, live_server):
    UserFactory(username="root", is_superuser=True, is_staff=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.click('form[action="/accounts/login/"] button.primary')
    page.wait_for_load_state("networkidle")

    response = page.goto(f"{live_server.url}/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .opblock", timeout=15000)  # the operations are drawn
    assert page.locator(".swagger-ui .opblock").count() > 20

    for path in (
        "/api/v1/registry/people/?format=api",
        "/api/v1/surveys/?format=api",
        "/admin/",
        "/admin/surveys/survey/",
        "/admin/diaspora/person/",
        "/admin/accounts/user/add/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status < 400, path
        page.wait_for_load_state("networkidle")
