"""Invitations, reminders, bounces and opt-out, sent through a real local SMTP server."""

from __future__ import annotations

import email
import socket
import threading
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from surveys.models import Invitation, OutgoingEmail, Panel, PanelMember, Respondent, Wave
from surveys.services import survey_import_xlsform
from surveys.services.invitations import (
    email_resend,
    emails_send_due,
    emails_sweep_stale,
    invitation_cancel_pending,
    wave_invite,
)
from surveys.tokens import invitation_token
from tests.factories import simple_form_rows, xlsform

# The opt-out page is included at the site root by config/urls.py's owner; until
# then these tests serve it beside the site's own patterns.
Status = OutgoingEmail.Status
DAY = timedelta(days=1)


# --------------------------------------------------------------------------- a real SMTP server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every accepted message; refuses listed recipients at RCPT."""

    def __init__(self, refuse: set[str] | None = None):
        self.refuse = refuse or set()
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def mailbox(settings):
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.EMAIL_TIMEOUT = 10
    settings.SITE_URL = "https://kelu.example.kz"
    yield handler
    controller.stop()


# --------------------------------------------------------------------------- data


@pytest.fixture
def version(db):
    return version_import()


def version_import():
    survey, choices = simple_form_rows()
    result = survey_import_xlsform(
        data=xlsform(survey, choices, {"form_id": "alumni-2026", "form_title": "Alumni 2026"}),
        filename="alumni.xlsx",
        publish=True,
    )
    assert result.version is not None, result.report.errors
    return result.version


def make_panel(emails: list[str], language: str = "kk") -> Panel:
    panel = Panel.objects.create(slug=f"panel-{len(emails)}-{language}", name="Bolashak alumni")
    for address in emails:
        respondent = Respondent.objects.create(email=address)
        PanelMember.objects.create(panel=panel, respondent=respondent, language=language)
    return panel


def make_wave(version, panel: Panel, **fields) -> Wave:
    fields.setdefault("opens_at", timezone.now() - timedelta(minutes=1))
    fields.setdefault("slug", f"wave-{panel.slug}")
    return Wave.objects.create(survey=version.survey, version=version, name="Spring wave", panel=panel, **fields)


@pytest.fixture
def wave(version):
    return make_wave(version, make_panel([f"alumnus{n}@example.kz" for n in range(5)]), reminder_days=[3, 7])


def addresses(wave: Wave) -> list[str]:
    return sorted(wave.panel.members.values_list("respondent__email", flat=True))


# --------------------------------------------------------------------------- invitations


def test_every_member_gets_exactly_one_invitation(mailbox, wave):
    counts = wave_invite(wave=wave)
    assert (counts.invited, counts.emails) == (5, 15)

    assert emails_send_due().sent == 5
    assert emails_send_due().sent == 0
    for address in addresses(wave):
        assert len(mailbox.to(address)) == 1
    assert set(Invitation.objects.values_list("status", flat=True)) == {Invitation.Status.SENT}


def test_inviting_again_adds_only_new_members(wave):
    wave_invite(wave=wave)
    respondent = Respondent.objects.create(email="late@example.kz")
    PanelMember.objects.create(panel=wave.panel, respondent=respondent)

    counts = wave_invite(wave=wave)

    assert (counts.invited, counts.already_invited) == (1, 5)
    assert Invitation.objects.filter(wave=wave).count() == 6
    assert OutgoingEmail.objects.filter(invitation__respondent=respondent).count() == 3


def test_respondents_who_opted_out_are_not_invited(wave):
    Respondent.objects.filter(email="alumnus0@example.kz").update(opted_out_at=timezone.now())

    counts = wave_invite(wave=wave)

    assert (counts.invited, counts.opted_out) == (4, 1)
    assert not Invitation.objects.filter(respondent__email="alumnus0@example.kz").exists()


def test_invitations_store_only_hashes_of_their_links(wave):
    wave_invite(wave=wave)
    invitation = Invitation.objects.first()
    token = invitation_token(invitation.token_nonce)
    assert token not in (invitation.token_hash, invitation.token_nonce)
    assert len(invitation.token_hash) == 64


def test_reminders_are_scheduled_from_opening_and_not_after_closing(version):
    opens = timezone.now() + DAY
    wave = make_wave(
        version, make_panel(["a@example.kz"]), opens_at=opens, closes_at=opens + 5 * DAY, reminder_days=[3, 7, 14]
    )
    wave_invite(wave=wave)
    due = list(OutgoingEmail.objects.order_by("sequence").values_list("sequence", "due_at"))
    assert due == [(0, opens), (1, opens + 3 * DAY)]


# --------------------------------------------------------------------------- reminders


def test_reminders_go_out_when_due_and_not_before(mailbox, wave):
    start = timezone.now()
    wave_invite(wave=wave, now=start)
    emails_send_due(now=start)

    assert emails_send_due(now=start + 2 * DAY).sent == 0
    assert emails_send_due(now=start + 3 * DAY + timedelta(seconds=1)).sent == 5
    assert emails_send_due(now=start + 8 * DAY).sent == 5
    for address in addresses(wave):
        subjects = [m["Subject"] for m in mailbox.to(address)]
        assert len(subjects) == 3
        assert subjects[1] == subjects[2] != subjects[0]


def test_no_reminder_after_completion(mailbox, wave):
    start = timezone.now()
    wave_invite(wave=wave, now=start)
    emails_send_due(now=start)
    done = Invitation.objects.get(respondent__email="alumnus1@example.kz")
    Invitation.objects.filter(pk=done.pk).update(status=Invitation.Status.COMPLETE)
    invitation_cancel_pending(invitation=done)
    # Completed without the page flow cancelling its mail: the sender checks again.
    Invitation.objects.filter(respondent__email="alumnus2@example.kz").update(status=Invitation.Status.COMPLETE)

    counts = emails_send_due(now=start + 10 * DAY)

    assert (counts.sent, counts.cancelled) == (6, 2)
    assert len(mailbox.to("alumnus1@example.kz")) == len(mailbox.to("alumnus2@example.kz")) == 1
    assert len(mailbox.to("alumnus3@example.kz")) == 3


def test_a_reminder_waits_for_its_invitation(mailbox, wave):
    start = timezone.now()
    wave_invite(wave=wave, now=start)
    first = OutgoingEmail.objects.filter(sequence=0)
    first.update(due_at=start + 30 * DAY)  # the invitation is held back (e.g. throttled)

    counts = emails_send_due(now=start + 4 * DAY)

    assert (counts.sent, counts.deferred) == (0, 5)
    assert mailbox.messages == []
    assert OutgoingEmail.objects.filter(sequence=1, status=Status.PENDING).count() == 5


def test_a_late_invitation_is_not_followed_by_its_reminder_the_same_day(mailbox, wave):
    start = timezone.now()
    wave_invite(wave=wave, now=start)
    later = start + 4 * DAY  # the invitations were held back until the first reminder was due

    counts = emails_send_due(now=later)

    assert (counts.sent, counts.deferred) == (5, 5)
    assert all(len(mailbox.to(address)) == 1 for address in addresses(wave))
    assert emails_send_due(now=later + timedelta(hours=23)).sent == 0
    assert emails_send_due(now=later + DAY + timedelta(minutes=1)).sent == 5


# --------------------------------------------------------------------------- bounces, throttle, failures


def test_a_refused_recipient_marks_the_invitation_bounced(mailbox, wave):
    mailbox.refuse.add("alumnus2@example.kz")
    wave_invite(wave=wave)

    counts = emails_send_due()

    assert (counts.sent, counts.bounced) == (4, 1)
    bounced = Invitation.objects.get(respondent__email="alumnus2@example.kz")
    assert bounced.status == Invitation.Status.BOUNCED and bounced.bounced_at is not None
    assert "550" in bounced.emails.get(sequence=0).last_error
    assert set(bounced.emails.exclude(sequence=0).values_list("status", flat=True)) == {Status.CANCELLED}
    assert emails_send_due(now=timezone.now() + 30 * DAY).sent == 8


def test_sending_keeps_to_the_waves_rate(mailbox, wave):
    Wave.objects.filter(pk=wave.pk).update(send_rate_per_minute=3)
    wave.refresh_from_db()
    wave_invite(wave=wave)

    counts = emails_send_due()

    assert (counts.sent, counts.throttled) == (3, True)
    assert len(mailbox.messages) == 3
    assert OutgoingEmail.objects.filter(sequence=0, status=Status.PENDING).count() == 2


def test_a_row_that_is_not_pending_is_never_sent(mailbox, wave):
    wave_invite(wave=wave)
    OutgoingEmail.objects.filter(sequence=0, invitation__respondent__email="alumnus0@example.kz").update(
        status=Status.SENDING, claimed_at=timezone.now()
    )
    assert emails_send_due().sent == 4
    assert mailbox.to("alumnus0@example.kz") == []


def test_mail_waits_when_the_mail_server_is_down(settings, wave):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    wave_invite(wave=wave)

    counts = emails_send_due()

    assert (counts.sent, counts.retry_later) == (0, 5)
    assert OutgoingEmail.objects.filter(sequence=0, status=Status.PENDING).count() == 5


def test_the_sweeper_returns_unsent_rows_and_holds_ambiguous_ones(mailbox, wave):
    wave_invite(wave=wave)
    claimed = timezone.now() - timedelta(hours=1)
    rows = list(OutgoingEmail.objects.filter(sequence=0).order_by("id"))
    # A dead worker: two rows claimed only, one handed to the server with no answer recorded.
    OutgoingEmail.objects.filter(pk__in=[r.pk for r in rows[:3]]).update(status=Status.SENDING, claimed_at=claimed)
    OutgoingEmail.objects.filter(pk=rows[2].pk).update(message_id="<kelu.x.1@localhost>")

    counts = emails_sweep_stale()

    assert (counts.returned, counts.failed) == (2, 1)
    held = OutgoingEmail.objects.get(pk=rows[2].pk)
    assert held.status == Status.FAILED and "may or may not have been delivered" in held.last_error
    assert emails_send_due().sent == 4
    assert mailbox.to(held.invitation.respondent.email) == []
    assert email_resend(email=held)
    assert emails_send_due().sent == 1


def test_the_sweeper_leaves_recent_claims_alone(wave):
    wave_invite(wave=wave)
    OutgoingEmail.objects.filter(sequence=0).update(status=Status.SENDING, claimed_at=timezone.now())
    assert emails_sweep_stale().returned == 0


# --------------------------------------------------------------------------- the letters


@pytest.mark.parametrize(
    ("language", "words"),
    [("kk", "зерттеуге қатысуға шақырамыз"), ("ru", "Приглашаем Вас"), ("en", "We would like to invite you")],
)
def test_the_letter_is_in_the_respondents_language_with_both_links(mailbox, version, language, words):
    wave = make_wave(version, make_panel(["a@example.kz"], language))
    wave_invite(wave=wave)
    emails_send_due()

    [message] = mailbox.messages
    body = message.get_content()
    token = invitation_token(Invitation.objects.get().token_nonce)
    assert words in body and "Alumni 2026" in message["Subject"]
    assert f"https://kelu.example.kz/i/{token}/" in body
    assert f"https://kelu.example.kz/o/{token}/" in body
    assert message["List-Unsubscribe"].strip() == f"<https://kelu.example.kz/o/{token}/>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_waves_own_text_is_used_and_never_lacks_the_links(mailbox, version):
    templates = {"ru": {"subject": "Опрос {survey}\nBcc: x@evil.example", "body": "Добрый день! {unknown}"}}
    wave = make_wave(version, make_panel(["a@example.kz"], "ru"), email_templates=templates)
    wave_invite(wave=wave)
    emails_send_due()

    [message] = mailbox.messages
    body = message.get_content()
    assert message["Subject"] == "Опрос Alumni 2026 Bcc: x@evil.example"
    assert message["Bcc"] is None
    assert body.startswith("Добрый день! {unknown}")
    assert "/i/" in body and "/o/" in body


@pytest.mark.parametrize(
    ("language", "title"),
    [("kk", "«Түлектер сауалнамасы 2026»"), ("ru", "«Опрос выпускников 2026»"), ("en", '"Alumni 2026"')],
)
def test_the_letter_names_the_survey_in_the_letters_language(db, mailbox, language, title):
    survey, choices = simple_form_rows()
    titles = {"form_title": "Alumni 2026", "form_title::kk": "Түлектер сауалнамасы 2026",
              "form_title::ru": "Опрос выпускников 2026"}  # fmt: skip
    result = survey_import_xlsform(
        data=xlsform(survey, choices, {"form_id": "alumni-2026", **titles}), filename="alumni.xlsx", publish=True
    )
    wave = make_wave(result.version, make_panel(["a@example.kz"], language))
    wave_invite(wave=wave)
    emails_send_due()

    [message] = mailbox.messages
    body = message.get_content()
    assert title in message["Subject"] and title in body
    assert ("Alumni 2026" in body + message["Subject"]) is (language == "en")
    # The title already says "survey": the letter does not say it again around the title.
    assert "сауалнамасы» сауалнама" not in body and "» сауалнамасына" not in body and "в опросе «" not in body


# --------------------------------------------------------------------------- opt-out page


def opt_out_url(invitation: Invitation) -> str:
    return f"/o/{invitation_token(invitation.token_nonce)}/"


def test_the_opt_out_page_asks_before_opting_out(client, wave):
    wave_invite(wave=wave)
    invitation = Invitation.objects.first()

    page = client.get(opt_out_url(invitation))

    assert page.status_code == 200
    assert b'<form method="post">' in page.content and b'<html lang="kk">' in page.content
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "no-referrer"
    invitation.respondent.refresh_from_db()
    assert invitation.respondent.opted_out_at is None


def test_opting_out_stops_mail_in_this_wave_and_later_ones(mailbox, client, version, wave):
    start = timezone.now()
    wave_invite(wave=wave, now=start)
    emails_send_due(now=start)
    invitation = Invitation.objects.get(respondent__email="alumnus0@example.kz")

    page = client.post(opt_out_url(invitation))  # as a mail program's one-click POST: no CSRF token

    assert page.status_code == 200
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.OPTED_OUT and invitation.respondent.opted_out_at is not None
    emails_send_due(now=start + 30 * DAY)
    assert len(mailbox.to("alumnus0@example.kz")) == 1
    later = make_wave(version, wave.panel, slug="autumn")
    assert wave_invite(wave=later).opted_out == 1


def test_the_opt_out_page_speaks_the_invitations_language(client, version):
    wave = make_wave(version, make_panel(["a@example.kz"], "ru"))
    wave_invite(wave=wave)
    page = client.get(opt_out_url(Invitation.objects.get()), HTTP_ACCEPT_LANGUAGE="en")
    assert b'<html lang="ru">' in page.content


def test_an_unknown_opt_out_link_is_not_found(client, db):
    assert client.get("/o/" + "x" * 43 + "/").status_code == 404
    assert client.post("/o/not-a-token/").status_code == 404


def test_cancelling_reaches_rows_claimed_but_not_yet_handed_over(wave):
    wave_invite(wave=wave)
    invitation = Invitation.objects.first()
    invitation.emails.filter(sequence=0).update(status=Status.SENDING, claimed_at=timezone.now())
    invitation.emails.filter(sequence=1).update(
        status=Status.SENDING, claimed_at=timezone.now(), message_id="<in-flight@x>"
    )

    assert invitation_cancel_pending(invitation=invitation) == 2  # the claimed row and the last reminder
    assert invitation.emails.get(sequence=1).status == Status.SENDING  # the server may have it: left alone


# --------------------------------------------------------------------------- wiring


def test_the_beat_schedule_names_registered_tasks(settings):
    from config import celery_app

    celery_app.loader.import_default_modules()  # what a worker and beat do at start-up: autodiscovery
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"surveys.emails_send_due", "surveys.emails_sweep_stale", "surveys.webhooks_deliver_due"} <= names
    assert names <= set(celery_app.tasks)
    assert celery_app.amqp.router.route({}, "surveys.emails_send_due")["queue"].name == "bulk"
