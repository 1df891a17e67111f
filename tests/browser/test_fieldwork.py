"""A programme administrator runs fieldwork from the staff pages, on a phone and on a desktop.

Creates a wave (no JSON, no URL typed), writes and previews its letters in Kazakh, Russian
and English, sends the invitations through a real SMTP server (aiosmtpd, in this process),
then watches the funnel move as one person opens their link and another opts out.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket

import pytest
from aiosmtpd.controller import Controller

from accounts.models import Programme, Role
from surveys.models import Invitation, Panel, PanelMember, Respondent, Wave
from tests.browser.conftest import ARTIFACTS, CHROMIUM_ARGS  # noqa: F401 (the folder the screenshots go to)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
LETTERS = {
    "kk": ("Сауалнамаға шақыру: {survey}", "{greeting}\n\nСауалнамаға қатысуыңызды сұраймыз.\n{link}"),
    "ru": ("Приглашение: {survey}", "{greeting}\n\nПросим вас ответить на вопросы.\n{link}"),
    "en": ("Invitation: {survey}", "{greeting}\n\nPlease tell us about your plans.\n{link}"),
}


class Sink:
    """Every message the SMTP server accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> email.message.EmailMessage:
        return next(m for m in self.messages if m["To"] == address)


def subject_of(message: email.message.EmailMessage) -> str:
    return " ".join(str(message["Subject"]).split())  # a long encoded subject is folded over lines


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    yield sink
    controller.stop()


@pytest.fixture
def programme_with_panel(graduate_version):
    programme = Programme.objects.create(slug="bolashak", name="Bolashak")
    survey = graduate_version.survey
    survey.programme = programme
    survey.save()
    panel = Panel.objects.create(slug="alumni-2020", name="Alumni 2020", programme=programme)
    for address, name, language in [
        ("aigerim@example.org", "Айгерім", "kk"),
        ("daniyar@example.org", "Данияр", "ru"),
        ("sam@example.org", "Sam", "en"),
    ]:
        PanelMember.objects.create(
            panel=panel, respondent=Respondent.objects.create(email=address), name=name, language=language
        )
    user = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(programme)
    return panel


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_an_administrator_creates_a_wave_previews_its_letters_and_sends_it(
    browser, live_server, settings, smtp, programme_with_panel, graduate_version, device, tasks_in_process
):
    settings.SITE_URL = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=VIEWPORTS[device], locale="en-GB")
    page = context.new_page()

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"fieldwork-{device}-{name}.png"), full_page=True)

    page.goto(f"{live_server.url}/accounts/login/?next=/staff/")
    page.fill("#id_username", "amina")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")

    # The wave list has the way in: no URL to know.
    page.click("#new-wave")
    page.select_option("#id_version", str(graduate_version.pk))
    page.click("text=Continue")
    page.fill("#id_name", "Graduates 2026")
    page.select_option("#id_panel", label="Alumni 2020 (3 members)")
    page.check("#id_is_public")
    page.fill("#id_closes_at", "2099-06-30T18:00")
    page.fill("#id_reminder_days", "3, 7, 14")
    for language, (subject, body) in LETTERS.items():
        if page.locator(f"#letters-{language}").get_attribute("open") is None:
            page.click(f"#letters-{language} > summary")
        page.fill(f"#id_letter_{language}_subject", subject)
        page.fill(f"#id_letter_{language}_body", body)
    shot("1-new-wave")

    # The letters exactly as they will be sent, in each language, before anything is saved.
    page.click("#preview-letters")
    page.wait_for_selector("#letter-previews")
    assert not Wave.objects.exists()
    expected = {"kk": "Сауалнамаға шақыру:", "ru": "Приглашение:", "en": "Invitation:"}
    for language, start in expected.items():
        letter = page.locator(f"#preview-{language} article[data-kind=invitation]")
        assert letter.locator(".letter-subject").inner_text().startswith(start)
        assert f"{live_server.url}/i/" in letter.locator(".letter-body").inner_text()
    assert "Данияр" in page.locator("#preview-ru article[data-kind=invitation] .letter-body").inner_text()
    page.locator("#preview-kk").scroll_into_view_if_needed()
    shot("2-letters-preview")

    page.click("button[name=action][value=save]")
    page.wait_for_selector("#send-invitations")
    wave = Wave.objects.get()
    assert (wave.panel, wave.is_public, wave.reminder_days) == (programme_with_panel, True, [3, 7, 14])
    assert page.inner_text("[data-count=sent]") == "0"

    # The public link, its copy button and its QR code.
    assert page.input_value("#public-link") == f"{live_server.url}/s/{wave.slug}/"
    assert page.locator("#public svg.qr").count() == 1
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.click("button[data-copy]")
    # (a locator, not wait_for_function: the page's policy refuses the eval that one needs)
    from playwright.sync_api import expect

    expect(page.locator(".copy-status")).not_to_be_empty()
    shot("3-wave-created")

    # Sending: the job fans out, the letters go through the SMTP server.
    page.click("#send-invitations")
    page.wait_for_selector("#send-result")
    assert page.inner_text("[data-count=sent]") == "3"
    assert len(smtp.messages) == 3
    kk, ru, en = (smtp.to(a) for a in ("aigerim@example.org", "daniyar@example.org", "sam@example.org"))
    assert subject_of(kk).startswith("Сауалнамаға шақыру:") and "Сәлеметсіз бе, Айгерім!" in kk.get_content()
    assert subject_of(ru).startswith("Приглашение:") and "Здравствуйте, Данияр!" in ru.get_content()
    assert subject_of(en).startswith("Invitation:") and "Dear Sam," in en.get_content()
    shot("4-invitations-sent")

    # The funnel moves: Aigerim opens her link, Daniyar opts out.
    respondent = context.new_page()
    link = re.search(r"(http://\S+/i/[\w-]+/)", kk.get_content()).group(1)
    assert respondent.goto(link).status == 200
    optout = re.search(r"(http://\S+/o/[\w-]+/)", ru.get_content()).group(1)
    respondent.goto(optout)
    respondent.click("main form button[type=submit]")
    respondent.wait_for_load_state()
    respondent.close()
    page.reload()
    assert page.inner_text("[data-count=opened]") == "1"
    assert page.inner_text("[data-count=opted_out]") == "1"
    assert Invitation.objects.filter(status="opted_out").count() == 1

    # The table: each status translated, filtered.
    page.select_option("#id_status", "opted_out")
    page.click("#invitations form.filters button[type=submit]")
    page.wait_for_selector("#invitation-table")
    assert page.locator("#invitation-table tbody tr").count() == 1
    assert "daniyar@example.org" in page.inner_text("#invitation-table")
    shot("5-funnel-moved")

    # Settings and letters stay one tab away.
    page.click(".subnav >> text=Settings and letters")
    page.wait_for_selector("#letter-previews")
    assert page.input_value("#id_letter_ru_subject") == LETTERS["ru"][0]
    context.close()
