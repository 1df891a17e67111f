"""A programme administrator opens a wave dashboard in a real browser."""

import pytest

from accounts.models import Programme, Role
from tests.factories import UserFactory
from tests.surveys.test_staff import fieldwork

# tests.surveys.test_staff mounts the staff URLs until config/urls.py includes them.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
PASSWORD = "correct horse battery staple"


def test_a_programme_administrator_sees_the_counts_and_the_chart(page, live_server, graduate_version, screenshot):
    programme = Programme.objects.create(slug="bolashak", name="Bolashak")
    wave = fieldwork(graduate_version, programme)
    user = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(programme)
    page.goto(f"{live_server.url}/admin/login/?next=/staff/waves/{wave.slug}/")
    page.fill("#id_username", "amina")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#counts")
    assert page.inner_text("[data-count=invited]") == "6"  # every invitation; 5 of them sent
    assert page.inner_text("[data-count=sent]") == "5"
    assert page.inner_text("[data-count=complete]") == "1"  # invitations only: the public link is apart
    assert page.inner_text("[data-count=public_complete]") == "1"
    assert page.locator("#rate-chart polyline").count() == 1
    assert page.locator("#breakdown tbody tr").count() == 3
    screenshot("staff-wave-dashboard")
    page.click("text=Questions")
    page.wait_for_selector("#q-country_residence")
    screenshot("staff-wave-questions")
