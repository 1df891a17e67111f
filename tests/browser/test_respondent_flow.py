"""A graduate answers the survey in Kazakh from an invitation link, on a phone-sized screen."""

import pytest
from django.utils import timezone

from accounts.models import Role
from surveys.models import Invitation, Panel, PanelMember, Respondent, Response, Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.tokens import invitation_token, new_nonce, token_hash
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def invitation_url(live_server, graduate_version):
    panel = Panel.objects.create(slug="bolashak", name="Bolashak alumni")
    wave = Wave.objects.create(
        survey=graduate_version.survey, version=graduate_version, slug="grad-2026", name="Graduates 2026", panel=panel
    )
    respondent = Respondent.objects.create(email="aigerim@example.kz")
    PanelMember.objects.create(panel=panel, respondent=respondent, language="kk", attributes={"country": "DEU"})
    nonce = new_nonce()
    token = invitation_token(nonce)
    Invitation.objects.create(
        wave=wave,
        respondent=respondent,
        token_nonce=nonce,
        token_hash=token_hash(token),
        language="kk",
        status=Invitation.Status.SENT,
        sent_at=timezone.now(),
    )
    return f"{live_server.url}/i/{token}/"


def fill(page, answers):
    """Answer whatever of `answers` the current page shows, again once newly relevant questions appear."""
    for _ in range(2):
        _fill_visible(page, answers)
        page.wait_for_timeout(400)  # the page script's save and relevance check
        page.wait_for_load_state("networkidle")


def _fill_visible(page, answers):
    for name, value in answers.items():
        inputs = page.locator(f"[name='{name}']")
        if inputs.count() == 0 or not inputs.first.is_visible():
            continue
        kind = inputs.first.get_attribute("type") or inputs.first.evaluate("e => e.tagName.toLowerCase()")
        if kind in ("radio", "checkbox"):
            for choice in value if isinstance(value, list) else [value]:
                page.check(f"[name='{name}'][value='{choice}']")
        elif kind == "select":
            page.select_option(f"[name='{name}']", str(value))
        else:
            page.fill(f"[name='{name}']", str(value))


def next_page(page):
    with page.expect_navigation():
        page.click("button.primary")


def test_a_graduate_answers_in_kazakh_stops_midway_resumes_and_submits(browser, invitation_url, screenshot):
    context = browser.new_context(viewport=PHONE, locale="kk-KZ")
    page = context.new_page()
    page.goto(invitation_url)
    assert page.locator("html").get_attribute("lang") == "kk"
    page.wait_for_selector("text=Түлектердің елге оралу ниеті туралы сауалнама")
    screenshot_page(page, screenshot, "respondent-kk-intro")
    next_page(page)

    fill(page, {"country_residence": "DEU", "city_residence": "Берлин"})
    next_page(page)

    # Relevance follows the answers while the page is open.
    page.check("[name='respondent_status'][value='studying']")
    page.wait_for_selector("#q-expected_graduation_year:not([hidden])")
    assert page.locator("#q-graduation_year").is_hidden()
    page.check("[name='respondent_status'][value='graduated']")
    page.wait_for_selector("#q-graduation_year:not([hidden])")
    assert page.locator("#q-expected_graduation_year").is_hidden()

    # An invalid answer shows its message, in Kazakh, and focus goes to the list of problems.
    fill(page, {**SAMPLE_GRADUATE_ANSWERS, "departure_year": "1800"})
    next_page(page)
    page.wait_for_selector("#error-summary")
    message = page.locator("#err-departure_year").inner_text()
    assert message and "year" not in message.lower()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    screenshot_page(page, screenshot, "respondent-kk-error")
    fill(page, {"departure_year": "2019"})
    next_page(page)
    stopped_at = page.url

    # The phone's browser is closed midway; the invitation link reopens where it stopped.
    context.close()
    context = browser.new_context(viewport=PHONE, locale="kk-KZ")
    page = context.new_page()
    page.goto(invitation_url)
    assert page.locator("input[name=page]").get_attribute("value") == stopped_at.split("page=")[1].split("&")[0]
    with page.expect_navigation():
        page.click("button[value=back]")
    assert page.locator("[name='study_level'][value='master']").is_checked()
    assert page.locator("[name='departure_year']").input_value() == "2019"
    next_page(page)

    for _ in range(10):
        fill(page, SAMPLE_GRADUATE_ANSWERS)
        if page.locator("button.primary[value=finish]").count():
            screenshot_page(page, screenshot, "respondent-kk-last-page")
            next_page(page)
            break
        next_page(page)
    page.wait_for_selector("text=Рахмет!")
    screenshot_page(page, screenshot, "respondent-kk-thanks")
    context.close()
    response = Response.objects.get()
    assert response.status == Response.Status.COMPLETE and response.language == "kk"
    assert response.answers["departure_year"] == 2019


def test_the_administrator_sees_the_response_on_the_wave_dashboard(browser, live_server, invitation_url, screenshot):
    from django.test import Client

    from accounts.models import Programme
    from surveys.models import Survey
    from tests.surveys.test_respondent_pages import answer_everything

    wave = Wave.objects.get()
    programme = Programme.objects.create(slug="bolashak", name="Bolashak")
    Survey.objects.filter(pk=wave.survey_id).update(programme=programme)
    answer_everything(
        Client(), invitation_url.replace(live_server.url, ""), wave.version.instrument, SAMPLE_GRADUATE_ANSWERS
    )
    administrator = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    administrator.programmes.add(programme)
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/staff/waves/{wave.slug}/")
    page.fill("#id_username", "amina")
    page.fill("#id_password", "correct horse battery staple")
    page.click("input[type=submit]")
    page.wait_for_selector("#counts")
    assert page.inner_text("[data-count=invited]") == "1"
    assert page.inner_text("[data-count=complete]") == "1"
    screenshot_page(page, screenshot, "staff-dashboard-after-kk-response")
    page.close()


def screenshot_page(page, screenshot, name):
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_dropped_connection_keeps_the_page_and_says_its_answers_are_not_saved(browser, invitation_url, screenshot):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(invitation_url + "?lang=en")
    next_page(page)
    page.select_option("[name='country_residence']", "DEU")
    page.wait_for_load_state("networkidle")
    context.set_offline(True)
    page.fill("[name='city_residence']", "Munich")
    page.click("button.primary")
    # Said next to the button that failed, where a phone user is looking.
    banner = page.locator("#actions-status")
    banner.wait_for(state="visible")
    assert "not saved yet" in banner.inner_text()
    assert banner.evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
    )
    assert page.locator("[name='city_residence']").input_value() == "Munich"
    screenshot_page(page, screenshot, "respondent-offline")
    context.set_offline(False)
    next_page(page)
    assert Response.objects.get().answers["city_residence"] == "Munich"
    context.close()
