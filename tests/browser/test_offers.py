"""Offers in a real browser, on a phone and on a desktop: an institution offers its request to one
of the top 20 with a note (after a preview); the expert accepts it from the message, confirming
once, sees the quarterly limit used and replies; the institution reads the reply on its request."""

from __future__ import annotations

import pytest

from diaspora.models import Match
from diaspora.services.matching import forget_expert_index
from tests.browser.conftest import ARTIFACTS
from tests.diaspora.people import expert, expertise_request, institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture(autouse=True)
def _fresh_matching_index():
    forget_expert_index()
    yield
    forget_expert_index()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def sign_in(page, url, username):
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button.primary")


@pytest.mark.parametrize("device", VIEWPORTS)
def test_an_institution_offers_from_the_top_list_and_the_expert_accepts_from_the_message(browser, live_server, device):
    erlan = expert("erlan", capacity=3, bio="Hydrologist: river basins, GIS mapping of the Irtysh.")
    erlan.user.preferred_language = "en"
    erlan.user.save()
    expert("saule", skills=("hydrology",), bio="Water resources engineer.")
    inst, staff = institution()
    request = expertise_request(staff, inst, experts_needed=2)

    # --- the institution: requests -> the request -> Find experts now -> a note -> preview -> send
    staff_context = browser.new_context(viewport=VIEWPORTS[device], locale="en-GB")
    page = staff_context.new_page()
    sign_in(page, f"{live_server.url}/registry/requests/", staff.username)
    with page.expect_navigation():
        page.click(f"text={request.title}")
    with page.expect_navigation():
        page.click("#find-experts")
    page.wait_for_selector("#experts")
    card = page.locator(f"#experts > li[data-person='{erlan.pk}']")
    assert "Erlan" in card.inner_text()
    assert fits_the_screen(page)
    shot(page, f"offers-{device}-1-top-experts")

    card.locator("summary").click()
    card.locator("textarea").fill("Our PhD student works on the Irtysh basin. <b>Could you co-supervise?</b>")
    with page.expect_navigation():
        card.locator(f"#offer-{erlan.pk}").click()
    page.wait_for_selector("#offer-preview")
    subject = page.inner_text("#preview-subject")
    body = page.inner_text("#preview-body")
    assert request.title in subject and "Toraighyrov University" in subject
    assert "<b>Could you co-supervise?</b>" in body  # the note is plain text, shown as typed
    assert "Answer by:" in body and page.input_value("textarea").startswith("Our PhD student")
    assert fits_the_screen(page)
    shot(page, f"offers-{device}-2-preview")

    with page.expect_navigation():
        page.click("#offer-send")
    match = Match.objects.get(request=request, person=erlan)
    assert match.status == Match.Status.OFFERED
    assert "Offered" in page.inner_text(f"#match-{match.pk}")
    shot(page, f"offers-{device}-3-request-offered")

    # --- the expert: Messages -> the offer -> Accept -> confirm once -> the limit used
    expert_context = browser.new_context(viewport=VIEWPORTS[device], locale="en-GB")
    mine = expert_context.new_page()
    sign_in(mine, f"{live_server.url}/registry/messages/", erlan.user.username)
    mine.wait_for_selector("#received")
    with mine.expect_navigation():
        mine.click(f"#received a:has-text('{request.title}')")
    mine.wait_for_selector("#offer")
    assert "Toraighyrov University" in mine.inner_text("#message-body")
    assert "<b>Could you co-supervise?</b>" in mine.inner_text("#message-body")
    assert fits_the_screen(mine)
    shot(mine, f"offers-{device}-4-offer-message")

    with mine.expect_navigation():
        mine.click("#offer-accept")
    mine.wait_for_selector("#answer-confirm")
    assert "Quarterly limit: 1 of 3 engagements used" in mine.inner_text("#limit-after")
    match.refresh_from_db()
    assert match.status == Match.Status.OFFERED  # asking is not answering
    shot(mine, f"offers-{device}-5-confirm-accept")

    with mine.expect_navigation():
        mine.click("#answer-confirm")
    mine.wait_for_selector("#offer-status")
    assert mine.inner_text("#offer-status") == "Accepted"
    assert mine.inner_text("#offer-limit") == "Quarterly limit: 1 of 3 engagements used"
    assert mine.locator("#offer-accept").count() == 0
    match.refresh_from_db()
    assert match.status == Match.Status.ACCEPTED
    shot(mine, f"offers-{device}-6-accepted")

    # ... and answers the message with a question.
    mine.fill("#id_body", "Happy to. Which semester do you have in mind?")
    with mine.expect_navigation():
        mine.click("text=Send reply")
    mine.wait_for_selector("#thread")
    assert "Which semester" in mine.inner_text("#thread")

    # ... and looks at their profile as an institution sees it.
    with mine.expect_navigation():
        mine.click("nav.subnav >> text=My profile")
    with mine.expect_navigation():
        mine.click("#as-institution")
    assert "Institutions find you in the directory." in mine.inner_text("#preview-status")
    assert fits_the_screen(mine)
    shot(mine, f"offers-{device}-7-as-institution")

    # --- the institution reads the reply on its request
    page.reload()
    page.wait_for_selector(f"#thread-{match.pk}[open]")
    assert "Which semester" in page.inner_text(f"#thread-{match.pk}")
    assert "Accepted" in page.inner_text(f"#match-{match.pk}")
    shot(page, f"offers-{device}-8-request-reply")
    staff_context.close()
    expert_context.close()
