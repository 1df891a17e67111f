"""Relayed messages and platform notices: nobody's address is ever shown to anyone.

Every message is a row; its recipient is told by e-mail that something waits for them
(without the sender's address). The e-mail is claimed with a conditional UPDATE on
notified_at before sending, so a retried or duplicated task mails at most once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User

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
    """A reply goes back through the platform to whoever wrote (never to an address)."""
    if original.recipient_id != sender.pk or original.sender_id is None:
        raise MessageRefused(_("You can only reply to a message written to you by a person."))
    body = (body or "").strip()
    if not body or len(body) > 5000:
        raise MessageRefused(_("A reply needs a text of at most 5,000 characters."))
    subject = original.subject if original.subject.startswith("Re: ") else f"Re: {original.subject}"
    return _store(sender=sender, recipient=original.sender, subject=subject[:200], body=body, match=original.match)


def notification_send(*, user: User, kind: str, context: dict[str, Any], match: Match | None = None) -> Message:
    """A notice from the platform, written in the recipient's language."""
    with translation.override(user.preferred_language or "kk"):
        subject, body = _notice(kind, context)
    return _store(sender=None, recipient=user, subject=subject, body=body, match=match)


def _notice(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    if kind == "offer":
        return _("A home institution would like your help"), _(
            "%(institution)s asks for: %(title)s. Why you: %(why)s. Please answer by %(expires)s."
        ) % context
    if kind == "accepted":
        return _("An expert accepted your request"), _(
            "%(person)s accepted your request %(title)s. Confirm when the engagement starts."
        ) % context
    if kind == "declined":
        return _("An offer was declined"), _(
            "An expert declined your request %(title)s; the next candidate has been asked."
        ) % context
    if kind == "stale_warning":
        return _("Is your registry profile still correct?"), _(
            "You have not confirmed your profile for a year. Confirm it within %(days)s days "
            "or it will be hidden from the directory and from matching until you do."
        ) % context
    raise ValueError(f"Unknown notice {kind!r}")


def _store(*, sender: User | None, recipient: User, subject: str, body: str, match: Match | None) -> Message:
    from ..tasks import message_notify

    message = Message.objects.create(sender=sender, recipient=recipient, subject=subject, body=body, match=match)
    transaction.on_commit(lambda: message_notify.delay(message.pk))
    return message


@dataclass
class NotifyResult:
    sent: int = 0
    failed: int = 0


def message_notify(*, message_id: int) -> bool:
    """Mail the recipient that a message waits (once: the claim is the conditional UPDATE)."""
    if not Message.objects.filter(pk=message_id, notified_at__isnull=True).update(notified_at=timezone.now()):
        return False  # someone else got there first, or it was already sent
    message = Message.objects.select_related("recipient").get(pk=message_id)
    recipient = message.recipient
    if not recipient.email:
        return False
    link = settings.SITE_URL + reverse("diaspora-inbox")
    with translation.override(recipient.preferred_language or "kk"):
        subject = _("Kelu: %(subject)s") % {"subject": message.subject}
        body = _("You have a new message on Kelu. Read it and reply here: %(link)s") % {"link": link}
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email])
    except OSError:
        # Unclaim so the sweep tries again; the message itself is safe in the inbox.
        Message.objects.filter(pk=message_id).update(notified_at=None)
        log.warning("message %s: notification mail failed", message_id, exc_info=True)
        return False
    return True


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
