"""A programme administrator reads the dashboard, opens a response and previews the form, in kk, ru and en,
on a phone and on a desktop (Chromium)."""

import pytest

from accounts.models import Programme, Role
from surveys.models import Response
from tests.factories import UserFactory
from tests.surveys.test_staff import fieldwork

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"
DEVICES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
# What each language shows: Germany's name (CLDR) and the form's page title (the instrument).
EXPECTED = {
    "en": {"country": "Germany", "residence": "Where you live"},
    "ru": {"country": "Германия", "residence": "Место проживания"},
    "kk": {"country": "Германия", "residence": "Тұрғылықты жеріңіз"},
}


def _rate_text(language: str) -> str:
    """The response rate as the catalogue words it in `language` ("1 of 5 (20.0%)")."""
    from django.template.defaultfilters import floatformat
    from django.utils import translation

    with translation.override(language):
        return translation.gettext("%(numerator)s of %(denominator)s (%(percent)s%%)") % {
            "numerator": 1,
            "denominator": 5,
            "percent": floatformat(20.0, 1),
        }


@pytest.fixture
def staff_page(browser):
    contexts = []

    def open_page(device: str, language: str):
        context = browser.new_context(viewport=DEVICES[device], locale=language)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def _sign_in(page, base_url: str, next_url: str) -> None:
    page.goto(f"{base_url}/admin/login/?next={next_url}")
    page.fill("#id_username", "amina")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.mark.parametrize("device", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_dashboard_response_and_preview(staff_page, live_server, graduate_version, device, language):
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    programme = Programme.objects.create(slug="bolashak", name="Bolashak")
    wave = fieldwork(graduate_version, programme)
    user = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(programme)
    responses_before = Response.objects.count()
    expected = EXPECTED[language]
    page = staff_page(device, language)

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"staff-{name}-{language}-{device}.png"), full_page=True)

    # The dashboard: funnel, rates with their numerator and denominator, countries by name.
    _sign_in(page, live_server.url, f"/staff/waves/{wave.slug}/?attribute=country")
    page.wait_for_selector("#counts")
    assert page.get_attribute("html", "lang") == language
    assert page.inner_text("[data-count=invited]") == "6"
    assert page.inner_text("[data-count=public_complete]") == "1"
    assert _rate_text(language) in page.inner_text("[data-rate=response]")
    assert expected["country"] in page.inner_text("#breakdown")
    shot("dashboard")

    # One response, opened from the table.
    page.goto(f"{live_server.url}/staff/waves/{wave.slug}/responses/")
    page.click("#responses tbody tr:last-child td:first-child a")
    page.wait_for_selector("#response-meta")
    assert expected["country"] in page.inner_text("#a-country_residence")
    shot("response")

    # The form as respondents see it, in the language asked for; relevance follows the answers.
    page.goto(f"{live_server.url}/staff/surveys/{wave.survey.slug}/versions/1/preview/?lang={language}")
    page.wait_for_selector("#preview-banner")
    assert page.get_attribute("html", "lang") == language
    page.click("button.primary")
    page.wait_for_selector("select[name=country_residence]")
    assert expected["residence"] in page.inner_text("h2.page-title")
    page.select_option("select[name=country_residence]", "DEU")
    page.fill("input[name=city_residence]", "Berlin")
    page.click("button.primary")
    page.wait_for_selector("input[name=respondent_status]")
    assert page.is_hidden("#q-expected_graduation_year")
    page.check("input[name=respondent_status][value=studying]")
    page.wait_for_selector("#q-expected_graduation_year", state="visible")
    assert page.is_hidden("#q-graduation_year")
    shot("preview")
    assert Response.objects.count() == responses_before
