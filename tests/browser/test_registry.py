"""The registry in a real browser: an engineer joins; an institution finds experts for a request."""

import pytest

from accounts.models import Role
from diaspora.models import ExpertiseRequest, Institution, Person
from diaspora.services.matching import forget_expert_index
from diaspora.services.registry import OfferInput, ProfileInput, person_register
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_matching_index():
    forget_expert_index()
    yield
    forget_expert_index()


def test_an_engineer_joins_the_registry_and_sees_the_profile(browser, live_server, screenshot):
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/registry/join/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.fill("#id_username", "nurlan")
    page.fill("#id_email", "nurlan@example.de")
    page.fill("#id_password", "a long enough pass 2026")
    page.fill("#id_display_name", "Nurlan Seitkali")
    page.fill("#id_bio", "Civil engineer in Munich: bridges, tunnels and building information modelling.")
    page.select_option("#id_occupation", "2")
    page.select_option("#id_field_of_study", "073")
    page.fill(".skill-filter", "civil")  # the search box narrows the long list of skills
    page.check("[name=skills][value='civil-engineering']")
    assert page.locator("[name=skills][value='machine-learning']").is_hidden()
    page.fill("#id_tags", "tunnels, BIM")
    page.check("[name=languages][value='kk']")
    page.check("[name=languages][value='de']")
    page.select_option("#id_country", "DEU")
    assert page.input_value("#id_timezone") == "Europe/Berlin"  # follows the country
    page.fill("#id_city", "Munich")
    page.check("#id_offer_mentoring")

    # Forgetting how much to offer and the consent: every problem is listed, nothing typed is lost.
    with page.expect_navigation():
        page.click("button.primary")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    summary = page.inner_text("#error-summary")
    assert "say how much you can give" in summary and "agree to be listed" in summary
    assert page.input_value("#id_city") == "Munich" and page.is_checked("[name=skills][value='civil-engineering']")
    screenshot_page(page, screenshot, "registry-join-errors")

    page.fill("#id_password", "a long enough pass 2026")
    page.fill("#id_capacity_mentoring", "2")
    page.check("#id_consent_registry")
    page.check("#id_consent_matching")
    with page.expect_navigation():
        page.click("button.primary")
    page.wait_for_selector("text=My profile: Nurlan Seitkali")
    assert page.inner_text("#profile-status") == "Active"
    screenshot_page(page, screenshot, "registry-my-profile")
    person = Person.objects.get(user__username="nurlan")
    assert person.skills == ["civil-engineering"] and person.timezone == "Europe/Berlin"
    assert person.offers.get().mode == "mentoring"

    with page.expect_navigation():
        page.click("#confirm-button")
    page.wait_for_selector("text=your profile is confirmed")
    context.close()


def expert(username, name, bio, skills, languages, mode="guest_lecture"):
    user = UserFactory(username=username)
    return person_register(
        user=user,
        data=ProfileInput(
            display_name=name,
            bio=bio,
            field_of_study="053",
            skills=skills,
            languages=languages,
            country="USA",
            offers=[OfferInput(mode=mode, capacity=3)],
            visibility={"profile": "institutions", "expertise": "institutions", "location": "institutions"},
        ),
        consents=["registry", "matching", "messages"],
    )


def test_an_institution_posts_a_request_and_sees_the_top_experts_with_explanations(page, live_server, screenshot):
    expert("aliya", "Aliya Geologist", "Seismology and geophysics of Central Asia.", ["seismology", "geophysics"],
           ["kk", "en"])  # fmt: skip
    expert("timur", "Timur Hydrologist", "Hydrology and water resources.", ["hydrology"], ["ru", "en"])
    expert("zhanna", "Zhanna Mentor", "Geology mentor.", ["geology"], ["kk"], mode="mentoring")
    staff = UserFactory(username="saule", role=Role.INSTITUTION_STAFF)
    Institution.objects.create(name="Satbayev University", region="KZ-75", city="Almaty").staff.add(staff)

    page.goto(f"{live_server.url}/registry/requests/")
    page.fill("#id_username", "saule")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button.primary")
    page.click("text=Post a new request")
    page.fill("#id_title", "Guest lectures on seismic risk")
    page.fill("#id_topic", "Three guest lectures on seismology and seismic hazard for geophysics students in Almaty.")
    page.select_option("#id_mode", "guest_lecture")
    page.select_option("#id_field_of_study", "053")
    page.fill(".skill-filter", "seism")
    page.check("[name=skills][value='seismology']")
    page.check("[name=languages][value='en']")
    page.check("[name=format][value='remote']")
    with page.expect_navigation():
        page.click("button.primary")
    page.wait_for_selector("#request-status")
    assert ExpertiseRequest.objects.get().title == "Guest lectures on seismic risk"

    with page.expect_navigation():
        page.click("#find-experts")
    page.wait_for_selector("#experts")
    cards = page.locator("#experts > li")
    assert cards.count() == 2  # Zhanna offers mentoring, not lectures
    first = cards.first.inner_text()
    assert "Aliya Geologist" in first and "has every requested skill: Seismology" in first and "speaks English" in first
    assert cards.first.locator(".bars li").count() >= 4
    screenshot_page(page, screenshot, "registry-top-experts")

    page.click("text=Guest lectures on seismic risk")
    page.wait_for_selector("#proposals")
    screenshot_page(page, screenshot, "registry-request")


def screenshot_page(page, screenshot, name):
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
