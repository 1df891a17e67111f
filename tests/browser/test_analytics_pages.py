"""The analysis pages in a real browser: Chart.js (served by the platform) draws every chart."""

import pytest

from accounts.models import Programme, Role
from surveys.demo import instruments_load
from tests.analytics.waves import MARGIN_2019, computed, official_loaded, wave_with_answers
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tasks_in_process")]
PASSWORD = "correct horse battery staple"


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click('form[action="/accounts/login/"] button.primary')
    page.wait_for_load_state("networkidle")


def drawn(page) -> list[str | None]:
    page.wait_for_load_state("networkidle")
    return page.eval_on_selector_all("canvas[data-chart]", "nodes => nodes.map(n => n.getAttribute('data-drawn'))")


def test_administrator_and_researcher_see_drawn_charts_with_sources(page, live_server, screenshot):
    official_loaded()
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    version = instruments_load(bolashak)[0]
    wave = wave_with_answers(version, "browser-wave", 150, margins=[MARGIN_2019])
    assert computed(wave).status == "complete"
    admin = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin.programmes.add(bolashak)
    UserFactory(username="ruslan", role=Role.RESEARCHER)

    sign_in(page, live_server, "amina")
    page.goto(f"{live_server.url}/analytics/")
    page.click("text=browser-wave")
    charts = drawn(page)
    assert len(charts) >= 5 and all(flag == "true" for flag in charts)
    assert page.locator("[data-caption=source]").first.inner_text()
    assert "OE_5T8 2019" in page.content()
    page.select_option("#by", "field_of_study")
    page.click("form.controls button[type=submit]")
    assert all(flag == "true" for flag in drawn(page))
    screenshot("analytics-wave-admin")
    for pillar in ("gain", "train", "circulation", "linkage"):
        page.goto(f"{live_server.url}/analytics/monitoring/{pillar}/")
        assert all(flag == "true" for flag in drawn(page))
    screenshot("analytics-monitoring-linkage")
    page.goto(f"{live_server.url}/analytics/official/")
    assert len(drawn(page)) == 5
    screenshot("analytics-official")

    page.context.clear_cookies()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "ruslan")
    assert page.url.rstrip("/").endswith("/analytics/research")  # researchers land on their data requests
    page.goto(f"{live_server.url}/analytics/waves/browser-wave/")
    assert all(flag == "true" for flag in drawn(page))
    assert "fewer than 10 respondents" in page.content()
    screenshot("analytics-wave-researcher-phone")
