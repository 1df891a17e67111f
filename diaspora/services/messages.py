"""Relayed messages and platform notices: nobody's address is ever shown to anyone.

Every message is a row; its recipient is told by e-mail that something waits for them
(without the sender's address). The e-mail is claimed with a conditional UPDATE on
notified_at before sending, so a retried or duplicated task mails at most once.

An offer is a message too (`offer_message_send`): written in the expert's language, naming
the institution and the request, with the institution's note as plain text. The preview an
institution sees before sending is built by the same `offer_text`. The expert answers it like
any message; the reply goes to whoever made the offer, or to the institution's contact when
the platform made it (the nightly batch, a cascade).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from config.enqueue import send_on_commit

from ..models import Consent, Match, Message, Person

log = logging.getLogger(__name__)


class MessageRefused(Exception):
    pass


def message_send(*, sender: User, person: Person, subject: str, body: str, match: Match | None = None) -> Message:
    """A message to a registry member, if they accept messages and the sender may write to them."""
    from ..selectors import visible_groups

    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject or not body:
        raise MessageRefused(_("A message needs a subject and a text."))
    if len(subject) > 200 or len(body) > 5000:
        raise MessageRefused(_("The subject is limited to 200 characters and the text to 5,000."))
    accepts = person.consents.filter(purpose=Consent.Purpose.MESSAGES, withdrawn_at__isnull=True).exists()
    engaged = match is not None and match.person_id == person.pk
    if not accepts and not engaged:
        raise MessageRefused(_("This person does not accept messages."))
    if not engaged and "contact" not in visible_groups(sender, person):
        raise MessageRefused(_("This person accepts messages only from programme administrators."))
    return _store(sender=sender, recipient=person.user, subject=subject, body=body, match=match)


def message_reply(*, sender: User, original: Message, body: str) -> Message:
    """A reply goes back through the platform to whoever wrote (never to an address). An offer
    the platform made is answered to the institution that asked."""
    recipient = _reply_recipient(sender, original)
    body = (body or "").strip()
    if not body or len(body) > 5000:
        raise MessageRefused(_("A reply needs a text of at most 5,000 characters."))
    subject = original.subject if original.subject.startswith("Re: ") else f"Re: {original.subject}"
    return _store(sender=sender, recipient=recipient, subject=subject[:200], body=body, match=original.match)


def _reply_recipient(sender: User, original: Message) -> User:
    from ..selectors_offers import institution_contact

    if original.recipient_id != sender.pk:
        raise MessageRefused(_("You can only reply to a message written to you by a person."))
    if original.sender_id is not None:
        return original.sender
    match = original.match
    if match is not None and match.person.user_id == sender.pk:
        contact = institution_contact(match.request)
        if contact is None:
            raise MessageRefused(_("The institution has nobody to answer messages yet; please try again later."))
        return contact
    raise MessageRefused(_("You can only reply to a message written to you by a person."))


def notification_send(*, user: User, kind: str, context: dict[str, Any], match: Match | None = None) -> Message:
    """A notice from the platform, written in the recipient's language."""
    with translation.override(user.preferred_language or "kk"):
        subject, body = _notice(kind, context)
    return _store(sender=None, recipient=user, subject=subject, body=body, match=match)


def _notice(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    if kind == "accepted":
        return _("An expert accepted your request"), _(
            "%(person)s accepted your request %(title)s. Confirm when the engagement starts."
        ) % context
    if kind == "declined":
        return _("An offer was declined"), _(
            "An expert declined your request %(title)s; the next candidate has been asked."
        ) % context
    if kind == "stale_warning":
        return _("Is your registry profile still correct?"), ngettext(
            "You have not confirmed your profile for a year. Confirm it within %(days)s day "
            "or it will be hidden from the directory and from matching until you do.",
            "You have not confirmed your profile for a year. Confirm it within %(days)s days "
            "or it will be hidden from the directory and from matching until you do.",
            context["days"],
        ) % context
    raise ValueError(f"Unknown notice {kind!r}")


# --- offers ----------------------------------------------------------------------------------

OFFER_NOTE_MAX = 1000
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10))  # keep tabs and line breaks


def offer_note_clean(note: str | None) -> str:
    """The institution's personal note: plain text (shown escaped), at most OFFER_NOTE_MAX characters."""
    note = (note or "").replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL).strip()
    if len(note) > OFFER_NOTE_MAX:
        raise MessageRefused(
            _("The note is limited to %(limit)s characters (it has %(length)s).")
            % {"limit": OFFER_NOTE_MAX, "length": len(note)}
        )
    return note


def offer_language(match: Match) -> str:
    """The expert's language: offers are written in it, whoever sends them."""
    return match.person.user.preferred_language or "kk"


def offer_text(*, match: Match, note: str, expires_at, sender: User | None) -> tuple[str, str]:
    """The offer's subject and body in the expert's language: which institution asks for what,
    why this expert, the note, the deadline and how to answer. The preview shows exactly this."""
    from ..explanations import explain
    from ..selectors import visible_groups
    from ..selectors_offers import institution_viewer

    request = match.request
    language = offer_language(match)
    # The reasons name the expert's region ties only when the institution may see where they
    # live: the institution previews this text, so it must not learn more than visibility allows.
    show_location = "location" in visible_groups(sender or institution_viewer(), match.person)
    with translation.override(language):
        values = {
            "institution": request.institution.name,
            "title": request.title,
            "mode": request.get_mode_display(),
            "why": "; ".join(explain(match, language=language, show_location=show_location)),
            "date": date_format(timezone.localtime(expires_at), "DATE_FORMAT"),
        }
        subject = _("%(institution)s asks for your help: %(title)s") % values
        parts = [
            _("%(institution)s asks for your help with the request “%(title)s”.") % values,
            _("Kind of engagement: %(mode)s") % values,
            request.topic.strip(),
        ]
        if values["why"]:
            parts.append(_("Why you: %(why)s") % values)
        if note:
            parts.append(_("A personal note from %(institution)s:") % values + "\n" + note)
        parts.append(_("Answer by: %(date)s") % values)
        parts.append(_("Accept or decline the offer with the buttons beside this message, or reply to ask a question."))
    return _shorten(subject, 200), "\n\n".join(parts)[:5000]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def offer_message_send(*, match: Match, sender: User | None, note: str = "") -> Message:
    """The offer, to the expert: from the staff member who made it, or from the platform."""
    subject, body = offer_text(match=match, note=note, expires_at=match.expires_at, sender=sender)
    return _store(sender=sender, recipient=match.person.user, subject=subject, body=body, match=match)


def _store(*, sender: User | None, recipient: User, subject: str, body: str, match: Match | None) -> Message:
    from ..tasks import message_notify

    message = Message.objects.create(sender=sender, recipient=recipient, subject=subject, body=body, match=match)
    send_on_commit(message_notify, [message.pk])  # else messages_notify_due (120 s)
    return message


@dataclass
class NotifyResult:
    sent: int = 0
    failed: int = 0


def message_notify(*, message_id: int) -> bool:
    """Mail the recipient that a message waits (once: the claim is the conditional UPDATE)."""
    if not Message.objects.filter(pk=message_id, notified_at__isnull=True).update(notified_at=timezone.now()):
        return False  # someone else got there first, or it was already sent
    message = Message.objects.select_related("recipient", "match__request__institution", "match__person").get(
        pk=message_id
    )
    recipient = message.recipient
    if not recipient.email:
        return False
    with translation.override(recipient.preferred_language or "kk"):
        subject = _("Kelu: %(subject)s") % {"subject": message.subject}
        body = _notice_mail(message)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email])
    except OSError:
        # Unclaim so the sweep tries again; the message itself is safe in the inbox.
        Message.objects.filter(pk=message_id).update(notified_at=None)
        log.warning("message %s: notification mail failed", message_id, exc_info=True)
        return False
    return True


def _notice_mail(message: Message) -> str:
    """The e-mail's text: for an offer, which institution asks for what and by when; always the
    link to the message itself, on this site's public address (SITE_URL)."""
    link = settings.SITE_URL + reverse("diaspora-message", args=[message.pk])
    match = message.match
    if match is None or match.person.user_id != message.recipient_id:
        return _("You have a new message on Kelu. Read it and reply here: %(link)s") % {"link": link}
    request = match.request
    values = {"institution": request.institution.name, "title": request.title, "mode": request.get_mode_display(),
              "link": link}  # fmt: skip
    if match.status == Match.Status.OFFERED and match.expires_at:
        values["date"] = date_format(timezone.localtime(match.expires_at), "DATE_FORMAT")
        return "\n\n".join(
            [
                _("%(institution)s asks for your help with the request “%(title)s” (%(mode)s).") % values,
                _("Answer by: %(date)s") % values,
                _("Read the offer, accept or decline it, or ask a question here: %(link)s") % values,
            ]
        )
    return (
        _("A new message about the request “%(title)s” of %(institution)s. Read it and reply here: %(link)s") % values
    )


def messages_notify_due() -> NotifyResult:
    """Notifications whose task was lost (a crash between commit and enqueue)."""
    result = NotifyResult()
    cutoff = timezone.now() - timedelta(minutes=2)
    for message_id in Message.objects.filter(notified_at__isnull=True, created_at__lt=cutoff).values_list(
        "pk", flat=True
    )[:500]:
        if message_notify(message_id=message_id):
            result.sent += 1
        else:
            result.failed += 1
    return result


def message_mark_read(*, message: Message) -> None:
    Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=timezone.now())
