"""Your data in a real browser, on a phone and on a desktop: a registry member opens it from their
name in the header, reads their profile and consents, withdraws one and comes back to the page,
downloads the JSON, then erases everything with their password and is signed out."""

from __future__ import annotations

import json

import pytest

from diaspora.models import Consent, Person
from privacy.models import ErasureRecord
from tests.browser.test_offers import VIEWPORTS, fits_the_screen, shot, sign_in
from tests.diaspora.people import expert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize("device", VIEWPORTS)
def test_a_member_reads_downloads_withdraws_and_erases_their_data(browser, live_server, device, tmp_path):
    aigerim = expert("aigerim", bio="Hydrologist: river basins. <script>alert(1)</script>")
    aigerim.user.preferred_language = "en"
    aigerim.user.save()
    context = browser.new_context(viewport=VIEWPORTS[device], locale="en-GB", accept_downloads=True)
    page = context.new_page()
    sign_in(page, f"{live_server.url}/accounts/login/?next=/registry/", "aigerim")
    with page.expect_navigation():
        page.click("a.who")
    assert page.url.endswith("/account/data/")
    assert "River basins. <script>alert(1)</script>".lower() in page.inner_text("main").lower()
    assert fits_the_screen(page)
    shot(page, f"your-data-{device}-1-page")

    with page.expect_download() as download:
        page.click("text=Download as JSON")
    held = json.loads(download.value.path().read_text())
    assert held["account"]["username"] == "aigerim" and held["registry_profile"]["display_name"] == "Aigerim"

    with page.expect_navigation():
        page.locator("#consents form").first.locator("button").click()
    assert "/account/data/" in page.url and "Consent withdrawn" in page.inner_text("main")
    assert Consent.objects.filter(person=aigerim, withdrawn_at__isnull=False).count() == 1

    page.fill("#erase-password", "not my password")
    page.fill("#erase-confirm", "ERASE")
    with page.expect_navigation():
        page.click("text=Erase my data now")
    assert "The password is not right." in page.inner_text("#error-summary")
    assert Person.objects.filter(pk=aigerim.pk).exists()

    page.fill("#erase-password", PASSWORD)
    page.fill("#erase-confirm", "ERASE")
    with page.expect_navigation():
        page.click("text=Erase my data now")
    record = ErasureRecord.objects.get()
    assert f"Erasure number {record.pk} is complete" in page.inner_text("main")
    assert not Person.objects.filter(pk=aigerim.pk).exists()
    shot(page, f"your-data-{device}-2-erased")
    page.goto(f"{live_server.url}/account/data/")
    assert "/accounts/login/" in page.url
    context.close()
