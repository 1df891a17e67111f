"""Each role signs in from the front page and lands on its own home, on a phone and a laptop, in kk, ru, en."""

import pytest

from accounts.models import Programme, Role
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
# role -> (where it lands, a heading there, in en)
HOMES = {
    Role.PROGRAMME_ADMIN: ("/", "My programmes"),
    Role.INSTITUTION_STAFF: ("/registry/requests/", None),
    Role.RESEARCHER: ("/analytics/research/", None),
    Role.RESPONDENT: ("/registry/", "Welcome, Aru Test"),
}


@pytest.fixture
def accounts(db):
    programme = Programme.objects.create(slug="bolashak", name="Bolashak", names={"kk": "Болашақ", "ru": "Болашак"})
    users = {}
    for role in HOMES:
        user = UserFactory(role=role, username=f"user-{role}", first_name="Aru", last_name="Test")
        user.set_password(PASSWORD)
        user.save()
        if role == Role.PROGRAMME_ADMIN:
            user.programmes.add(programme)
        users[role] = user
    return users


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_each_role_signs_in_from_the_front_page_and_lands_on_its_home(
    browser, live_server, accounts, screenshot, device
):
    for role, (home, heading) in HOMES.items():
        context = browser.new_context(viewport=VIEWPORTS[device], locale="en-GB")
        page = context.new_page()
        page.goto(f"{live_server.url}/")
        page.click('form.languages button[value="en"]')
        page.click(".tools a.link-button")  # "Sign in" in the header
        page.fill("#id_username", accounts[role].username)
        page.fill("#id_password", PASSWORD)
        page.click('form[action="/accounts/login/"] button.primary')
        page.wait_for_load_state("networkidle")
        assert page.url == f"{live_server.url}{home}", role
        if heading:
            assert page.locator("h1").first.inner_text() == heading
        assert page.locator(".who").inner_text().endswith("Aru Test")
        for language in ("kk", "ru", "en"):
            page.click(f'form.languages button[value="{language}"]')
            page.wait_for_load_state("networkidle")
            assert page.locator("html").get_attribute("lang") == language
            assert page.url == f"{live_server.url}{home}"
            screenshot(f"landing-{role}-{device}-{language}")
        page.click(".tools form button.link-button")  # sign out
        page.wait_for_load_state("networkidle")
        assert "/accounts/login/" in page.url
        context.close()
