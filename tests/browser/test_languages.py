"""Kazakh done right in the browser: the country list in Kazakh order with a search box, the back
button after submitting, failures said next to the button, a language switch without error messages.
On a phone (390x844) and on a desktop."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from surveys.models import Invitation, Panel, PanelMember, Respondent, Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.tokens import invitation_token, new_nonce, token_hash
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture
def invite(live_server, graduate_version):
    panel = Panel.objects.create(slug="languages-bolashak", name="Bolashak alumni")
    wave = Wave.objects.create(
        survey=graduate_version.survey, version=graduate_version, slug="grad-2026", name="Graduates 2026", panel=panel
    )

    def make(email="aigerim@example.kz", language="kk"):
        respondent = Respondent.objects.create(email=email)
        PanelMember.objects.create(panel=panel, respondent=respondent, language=language)
        nonce = new_nonce()
        token = invitation_token(nonce)
        Invitation.objects.create(
            wave=wave, respondent=respondent, token_nonce=nonce, token_hash=token_hash(token), language=language,
            status=Invitation.Status.SENT, sent_at=timezone.now(),
        )  # fmt: skip
        return f"{live_server.url}/i/{token}/"

    return make


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def in_view(locator) -> bool:
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
    )


def walk_to_last_page(live_server, url, instrument) -> int:
    """Answer every page but the last through plain posts; the last page's index."""
    client, path = Client(), url.replace(live_server.url, "")
    html = client.get(path, {"lang": "kk"}).content.decode()
    for _ in range(20):
        index = int(re.search(r'name="page" value="(\d+)"', html).group(1))
        last = 'value="finish" class="primary"' in html
        data = {"page": index, "action": "stay" if last else "next"}
        data.update({k: v for k, v in SAMPLE_GRADUATE_ANSWERS.items() if k in instrument.pages[index].fields})
        moved = client.post(path, data)
        if last:  # answered and saved, not yet submitted
            return index
        assert moved.status_code == 302
        html = client.get(moved["Location"]).content.decode()
    raise AssertionError("no last page")


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_the_kazakh_country_list_is_in_kazakh_order_and_narrows_as_one_types(browser, invite, screen):
    context = browser.new_context(viewport=SCREENS[screen], locale="kk-KZ")
    page = context.new_page()
    page.goto(invite() + "?page=1")
    select = page.locator("[name='country_residence']")
    names = select.locator("option").all_inner_texts()[1:]
    assert len(names) > 240
    kz = names.index("Қазақстан")
    assert names.index("Кувейт") < kz < names.index("Қытай") < names.index("Латвия") < names.index("Ресей")
    assert kz < len(names) // 2  # after К, not after Я (it was option 241 of 249)

    box = page.locator("#id-country_residence-search")
    assert box.is_visible() and box.get_attribute("aria-controls") == "id-country_residence"
    box.fill("казак")  # typed without the Kazakh letters, as on a Russian keyboard
    assert select.locator("option").all_inner_texts()[1:] == ["Қазақстан"]
    box.press("Enter")
    assert select.input_value() == "KAZ"
    shot(page, f"languages-kk-country-search-{screen}")
    box.fill("")
    assert select.locator("option").count() == len(names) + 1 and select.input_value() == "KAZ"
    context.close()


def test_without_script_the_country_list_is_whole_and_works(browser, invite):
    context = browser.new_context(viewport=SCREENS["phone"], locale="kk-KZ", java_script_enabled=False)
    page = context.new_page()
    page.goto(invite() + "?page=1")
    assert page.locator(".list-search").count() == 0
    assert page.locator("[name='country_residence'] option").count() > 240
    context.close()


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_back_after_submitting_says_already_submitted_with_a_link_to_the_thank_you_page(
    browser, live_server, invite, graduate_version, screen
):
    url = invite()
    last = walk_to_last_page(live_server, url, graduate_version.instrument)
    context = browser.new_context(viewport=SCREENS[screen], locale="kk-KZ")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}?page={last}&lang=kk")
    with page.expect_navigation():
        page.click("button.primary[value=finish]")
    page.wait_for_selector("text=Рахмет!")
    done_url = page.url
    page.go_back()
    page.wait_for_load_state("networkidle")
    # Either the browser asked the server again (the page is not to be stored) or it showed its
    # stored copy and the page's script asked: in both cases the respondent is told, with the link.
    notice = page.locator("#already-submitted, #connection:not([hidden])").first
    notice.wait_for(state="visible")
    assert "жіберіп қойдыңыз" in notice.inner_text()
    assert "байланыс" not in notice.inner_text().lower()  # no false "connection lost"
    link = notice.locator("a")
    assert link.get_attribute("href") in (done_url, done_url.replace(live_server.url, ""))
    assert in_view(notice)
    shot(page, f"languages-back-after-submit-{screen}")
    with page.expect_navigation():
        link.click()
    assert page.url == done_url and errors == []
    context.close()


def test_a_stale_tab_told_on_submit_that_the_answers_were_already_sent(browser, live_server, invite, graduate_version):
    """Two tabs: one submits, the other still shows the last page; its Submit says so next to the button."""
    url = invite()
    last = walk_to_last_page(live_server, url, graduate_version.instrument)
    context = browser.new_context(viewport=SCREENS["phone"], locale="kk-KZ")
    stale, fresh = context.new_page(), context.new_page()
    stale.goto(f"{url}?page={last}&lang=kk")
    fresh.goto(f"{url}?page={last}&lang=kk")
    with fresh.expect_navigation():
        fresh.click("button.primary[value=finish]")
    stale.click("button.primary[value=finish]")
    status = stale.locator("#actions-status")
    status.wait_for(state="visible")
    assert "жіберіп қойдыңыз" in status.inner_text() and status.locator("a").count() == 1
    assert in_view(status)
    shot(stale, "languages-stale-tab-submit-phone")
    context.close()


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_a_dropped_connection_is_said_next_to_the_button_that_failed(browser, invite, screen):
    context = browser.new_context(viewport=SCREENS[screen], locale="ru-RU")
    page = context.new_page()
    page.goto(invite(language="ru") + "?page=1")
    page.select_option("[name='country_residence']", "DEU")
    page.wait_for_load_state("networkidle")
    context.set_offline(True)
    page.click("button.primary")
    status = page.locator("#actions-status")
    status.wait_for(state="visible")
    assert "не сохранены" in status.inner_text() or "связь" in status.inner_text().lower()
    assert in_view(status) and page.locator("#connection").is_hidden()
    shot(page, f"languages-offline-next-{screen}")
    # A language button that fails says so beside the language buttons.
    page.click("nav.languages button[value=kk]")
    top = page.locator("#languages-status")
    top.wait_for(state="visible")
    assert in_view(top)
    context.set_offline(False)
    context.close()


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_switching_language_shows_no_errors_for_questions_not_yet_answered(browser, invite, screen):
    context = browser.new_context(viewport=SCREENS[screen], locale="kk-KZ")
    page = context.new_page()
    page.goto(invite() + "?page=2")
    for language, title in (("ru", "Опрос выпускников"), ("en", "Graduate return-intentions"), ("kk", "Түлектердің")):
        with page.expect_navigation():
            page.click(f"nav.languages button[value={language}]")
        page.wait_for_load_state("networkidle")
        assert title in page.locator("h1").inner_text()
        visible_errors = [t for t in page.locator(".field-error").all_inner_texts() if t.strip()]
        assert visible_errors == [] and page.locator("#error-summary").count() == 0
    shot(page, f"languages-switch-no-errors-{screen}")
    context.close()


def test_registry_join_form_lists_countries_in_kazakh_order_with_a_search_box(browser, live_server):
    context = browser.new_context(viewport=SCREENS["desktop"], locale="kk-KZ")
    page = context.new_page()
    page.goto(f"{live_server.url}/registry/join/")
    if page.locator("html").get_attribute("lang") != "kk":
        page.click("form.languages button[value=kk]")
        page.wait_for_load_state("networkidle")
    names = page.locator("#id_country option").all_inner_texts()[1:]
    assert names.index("Кувейт") < names.index("Қазақстан") < names.index("Латвия")
    box = page.locator("#id_country-search")
    box.fill("Қаз")
    assert "Қазақстан" in page.locator("#id_country option").all_inner_texts()
    assert page.locator("#id_country option").count() < 10
    shot(page, "languages-registry-join-country-kk-desktop")
    context.close()
