"""Invitations to a panel wave, their mail (invitation and reminders), bounces and opting out.

Sending rule (what makes "never twice" hold through crashes):

1. A sender claims due rows with a conditional UPDATE (pending -> sending,
   attempts + 1). The pair (row, attempts) is the claim: every later write by
   that sender filters on it, so a row that was swept and claimed again by
   someone else is never touched by the first sender.
2. Just before handing one message to the mail server, the sender stamps the
   row with its Message-ID (a conditional UPDATE on the claim). Opting out,
   completing (invitation_cancel_pending) and bouncing cancel claimed rows that
   are not stamped yet, so the stamp is also the last-moment check. One SMTP
   transaction per message, over one connection per batch.
3. As soon as the server accepts that message, the row is marked sent.

A row left in `sending` by a dead worker (claimed longer ago than
INVITATION_STALE_SECONDS) is therefore either
- unstamped: never handed to the server, so it goes back to `pending`
  and is sent by the next run; or
- stamped: the worker died between handing it over and recording the answer,
  the one window where the server may have accepted it. It becomes `failed`
  with a note, and only an administrator's `email_resend` sends it again (after
  checking the mail log for its Message-ID). At most one row per dead worker
  lands here; nothing is ever re-sent automatically after that point.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from ..emails import Letter, email_language, letter_render, letter_survey_title, optout_link, wave_letter
from ..models import Invitation, OutgoingEmail, PanelMember, Respondent, Wave
from ..tokens import invitation_token, new_nonce, token_hash

log = logging.getLogger(__name__)

Status = OutgoingEmail.Status
InvitationStatus = Invitation.Status
# No more mail once an invitation is in one of these states; reminders also wait
# until the invitation itself went out (sent, opened, partial).
STOPPED = (InvitationStatus.COMPLETE, InvitationStatus.BOUNCED, InvitationStatus.OPTED_OUT)
AMBIGUOUS = (
    "The sender stopped while the mail server was receiving this message (Message-ID {}): it may or may "
    "not have been delivered. Check the mail server's log, then resend it with email_resend if it was not."
)
_CHUNK = 5000
_DEFER = timedelta(hours=1)
_REMINDER_GAP = timedelta(days=1)
_TEMPORARY_RETRY = timedelta(minutes=5)


@dataclass
class InviteCounts:
    invited: int = 0
    already_invited: int = 0
    opted_out: int = 0
    emails: int = 0


@dataclass
class SendCounts:
    sent: int = 0
    cancelled: int = 0
    deferred: int = 0
    bounced: int = 0
    failed: int = 0
    retry_later: int = 0
    throttled: bool = False


@dataclass
class SweepCounts:
    returned: int = 0
    failed: int = 0


# --------------------------------------------------------------------------- invitations


def wave_invite(*, wave: Wave, now: datetime | None = None) -> InviteCounts:
    """One invitation, with its scheduled mail, per panel member not yet invited.

    Running it again adds only members who joined the panel since; respondents
    who opted out are skipped.
    """
    counts = InviteCounts()
    if wave.panel_id is None:
        return counts
    schedule = email_schedule(wave=wave, start=max(now or timezone.now(), wave.opens_at))
    members = list(
        PanelMember.objects.filter(panel_id=wave.panel_id)
        .order_by("respondent_id")
        .values_list("respondent_id", "language", "respondent__opted_out_at")
    )
    with transaction.atomic():
        # Wave row lock: two invite runs of one wave take turns, so the second sees
        # every invitation of the first and adds none twice.
        list(Wave.objects.select_for_update().filter(pk=wave.pk).values_list("pk"))
        invited = set(Invitation.objects.filter(wave_id=wave.pk).values_list("respondent_id", flat=True))
        batch: list[Invitation] = []
        for respondent_id, language, opted_out_at in members:
            if respondent_id in invited:
                counts.already_invited += 1
            elif opted_out_at is not None:
                counts.opted_out += 1
            else:
                batch.append(_new_invitation(wave_id=wave.pk, respondent_id=respondent_id, language=language))
            if len(batch) >= _CHUNK:
                counts.emails += _invitations_create(batch, schedule)
                counts.invited, batch = counts.invited + len(batch), []
        counts.emails += _invitations_create(batch, schedule)
        counts.invited += len(batch)
    return counts


def email_schedule(*, wave: Wave, start: datetime) -> list[tuple[int, datetime]]:
    """(sequence, due_at): the invitation at `start`, then one reminder per reminder day before closing."""
    days = sorted({int(d) for d in (wave.reminder_days or []) if isinstance(d, int | float) and d > 0})
    schedule = [(0, start)] + [(n, start + timedelta(days=d)) for n, d in enumerate(days, start=1)]
    return [(n, due) for n, due in schedule if n == 0 or wave.closes_at is None or due < wave.closes_at]


def _new_invitation(*, wave_id: int, respondent_id: int, language: str) -> Invitation:
    nonce = new_nonce()
    return Invitation(
        wave_id=wave_id,
        respondent_id=respondent_id,
        token_nonce=nonce,
        token_hash=token_hash(invitation_token(nonce)),
        language=email_language(language),
    )


def _invitations_create(batch: list[Invitation], schedule: list[tuple[int, datetime]]) -> int:
    if not batch:
        return 0
    Invitation.objects.bulk_create(batch, batch_size=1000)
    emails = [
        OutgoingEmail(invitation_id=invitation.pk, sequence=sequence, due_at=due)
        for invitation in batch
        for sequence, due in schedule
    ]
    OutgoingEmail.objects.bulk_create(emails, batch_size=2000)
    return len(emails)


# --------------------------------------------------------------------------- stopping mail


def invitation_cancel_pending(*, invitation: Invitation) -> int:
    """Cancel this invitation's mail not yet handed to the mail server (on completion or opt-out)."""
    return _unsent(OutgoingEmail.objects.filter(invitation_id=invitation.pk)).update(status=Status.CANCELLED)


def invitation_opt_out(*, invitation: Invitation, now: datetime | None = None) -> None:
    """One-click opt-out: no more mail for this respondent, in this wave or any later one."""
    now = now or timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(pk=invitation.pk, opted_out_at__isnull=True).update(opted_out_at=now)
        # A complete invitation stays complete (response rates count it); it gets no more mail anyway.
        Invitation.objects.filter(pk=invitation.pk).exclude(status=InvitationStatus.COMPLETE).update(
            status=InvitationStatus.OPTED_OUT
        )
        respondent_opt_out(respondent_id=invitation.respondent_id, now=now)


def respondent_opt_out(*, respondent_id: int, now: datetime | None = None) -> int:
    """No more mail for this address, in any wave (the opt-out link, or the person's data page)."""
    now = now or timezone.now()
    with transaction.atomic():
        # Conditional updates keep the first opt-out's time when asked twice.
        changed = Respondent.objects.filter(pk=respondent_id, opted_out_at__isnull=True).update(opted_out_at=now)
        _unsent(OutgoingEmail.objects.filter(invitation__respondent_id=respondent_id)).update(status=Status.CANCELLED)
    return changed


def email_resend(*, email: OutgoingEmail, now: datetime | None = None) -> bool:
    """An administrator's decision to send a failed row again (see the module's rule)."""
    return bool(
        OutgoingEmail.objects.filter(pk=email.pk, status=Status.FAILED).update(
            status=Status.PENDING, due_at=now or timezone.now(), claimed_at=None, message_id="", last_error=""
        )
    )


def _unsent(rows):
    # Claimed rows not yet stamped were never handed to the mail server: cancelling
    # them is safe, and their sender's stamping UPDATE then finds nothing to stamp.
    return rows.filter(Q(status=Status.PENDING) | Q(status=Status.SENDING, message_id=""))


# --------------------------------------------------------------------------- sending


def emails_send_due(*, now: datetime | None = None, batch_size: int | None = None) -> SendCounts:
    """Send every due row, wave by wave, within each wave's rate; safe to run in parallel."""
    counts = SendCounts()
    size = batch_size or settings.INVITATION_SEND_BATCH
    due = OutgoingEmail.objects.filter(status=Status.PENDING, due_at__lte=now or timezone.now())
    waves = list(Wave.objects.filter(pk__in=due.values("invitation__wave_id")).select_related("survey", "version"))
    for wave in waves:
        while True:
            allowance = _rate_allowance(wave)
            if allowance <= 0:
                counts.throttled = True
                break
            rows = _emails_claim(wave=wave, now=now or timezone.now(), limit=min(size, allowance))
            if not rows:
                break
            _rate_spend(wave, len(rows))
            if not _batch_send(wave=wave, rows=rows, counts=counts, now=now):
                # The mail server is down or misbehaving: the next run tries again.
                return counts
    return counts


def emails_sweep_stale(*, now: datetime | None = None, older_than: timedelta | None = None) -> SweepCounts:
    """Rows a dead worker left in `sending`: back to pending if never handed over, else failed (module rule)."""
    age = older_than if older_than is not None else timedelta(seconds=settings.INVITATION_STALE_SECONDS)
    stale = OutgoingEmail.objects.filter(status=Status.SENDING, claimed_at__lt=(now or timezone.now()) - age)
    # Each UPDATE re-checks message_id in its WHERE: a live sender stamping a row
    # at the same moment either wins (the row is then failed, and marked sent if
    # the server accepts) or finds the row already returned and leaves it alone.
    returned = stale.filter(message_id="").update(status=Status.PENDING, claimed_at=None)
    failed = 0
    for pk, message_id in stale.exclude(message_id="").values_list("pk", "message_id"):
        failed += OutgoingEmail.objects.filter(pk=pk, status=Status.SENDING, message_id=message_id).update(
            status=Status.FAILED, last_error=AMBIGUOUS.format(message_id)
        )
    if returned or failed:
        log.warning("stale mail rows: %s back to pending, %s failed for an administrator", returned, failed)
    return SweepCounts(returned, failed)


def _emails_claim(*, wave: Wave, now: datetime, limit: int) -> list[OutgoingEmail]:
    with transaction.atomic():
        # SKIP LOCKED: parallel senders take disjoint batches instead of queueing
        # behind one another (PostgreSQL; SQLite serialises writers anyway). The
        # status condition in the UPDATE is what guarantees one claim per row.
        ids = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Status.PENDING, due_at__lte=now, invitation__wave_id=wave.pk)
            # No ORDER BY: every row here is due, and sorting 100,000 due rows for
            # each batch of 200 cost more than sending the batch (measured in
            # bench/invitations.py). Unordered, the query stops after `limit` rows.
            .order_by()
            .values_list("pk", flat=True)[:limit]
        )
        OutgoingEmail.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1, message_id=""
        )
        # The name is the one this wave's panel holds (each programme keeps its own).
        member_name = PanelMember.objects.filter(
            panel_id=wave.panel_id, respondent_id=OuterRef("invitation__respondent_id")
        ).values("name")[:1]
        return list(
            OutgoingEmail.objects.filter(pk__in=ids, status=Status.SENDING)
            .select_related("invitation__respondent")
            .annotate(member_name=Subquery(member_name))
            .order_by("sequence", "id")
        )


def _batch_send(*, wave: Wave, rows: list[OutgoingEmail], counts: SendCounts, now: datetime | None) -> bool:
    """Send claimed rows over one connection; False when the mail server failed us."""
    connection = get_connection()
    try:
        connection.open()
    except OSError as exc:  # smtplib errors are OSErrors too: nothing was handed over
        log.warning("mail server unavailable: %s", exc)
        counts.retry_later += _release(rows)
        return False
    letters: dict[tuple[str, str], Letter] = {}
    invited: list[int] = []  # invitations whose first message went out in this batch
    try:
        for index, row in enumerate(rows):
            if not _row_send(wave=wave, row=row, connection=connection, letters=letters, counts=counts, now=now):
                # The connection is in an unknown state: the rest of the batch goes back.
                counts.retry_later += _release(rows[index + 1 :])
                return False
            if row.sequence == 0 and row.status == Status.SENT:
                invited.append(row.invitation_id)
    finally:
        with contextlib.suppress(OSError):  # QUIT on a broken connection
            connection.close()
        # One statement per batch rather than per message. Should the process die
        # before it, _invitation_sent repairs the status when a reminder comes due.
        Invitation.objects.filter(pk__in=invited, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.SENT, sent_at=now or timezone.now()
        )
    return True


def _row_send(*, wave, row: OutgoingEmail, connection, letters: dict, counts: SendCounts, now) -> bool:
    """Send one claimed row; False when the batch must stop."""
    invitation, moment = row.invitation, now or timezone.now()
    kind = "invitation" if row.sequence == 0 else "reminder"
    if not _mailable(row=row, invitation=invitation, wave=wave, moment=moment, counts=counts):
        return True
    message_id = f"<kelu.{row.pk}.{row.attempts}@{_domain()}>"
    # The stamp: from here on the server may have the message (see the module rule).
    # An opt-out, completion or bounce since the claim has cancelled this row
    # (invitation_cancel_pending cancels claimed rows not yet stamped), so the
    # stamp finds nothing and the message is not sent.
    if not _mine(row).filter(message_id="").update(message_id=message_id):
        return True  # cancelled, or swept and claimed again, since this sender claimed it
    language = email_language(invitation.language)
    if (kind, language) not in letters:
        letters[kind, language] = wave_letter(templates=wave.email_templates, kind=kind, language=language)
    token = invitation_token(invitation.token_nonce)
    letter = letter_render(
        letter=letters[kind, language],
        language=language,
        name=getattr(row, "member_name", None) or "",
        survey=letter_survey_title(wave.version, language),
        token=token,
        closes_at=wave.closes_at,
    )
    message = EmailMessage(
        subject=letter.subject,
        body=letter.body,
        to=[invitation.respondent.email],
        connection=connection,
        headers={
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{optout_link(token)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    try:
        connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        _bounce(row=row, message_id=message_id, error=_describe(exc), moment=moment)
        counts.bounced += 1
        return True
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        # The server answered with a refusal: certainly not accepted.
        _refused(row=row, message_id=message_id, error=_describe(exc), temporary=400 <= exc.smtp_code < 500)
        counts.retry_later += 400 <= exc.smtp_code < 500
        counts.failed += not 400 <= exc.smtp_code < 500
        return True
    except (smtplib.SMTPException, OSError) as exc:
        # Lost connection or timeout mid-transaction: accepted or not, nobody knows.
        OutgoingEmail.objects.filter(pk=row.pk, status=Status.SENDING, message_id=message_id).update(
            status=Status.FAILED, last_error=f"{_describe(exc)}\n{AMBIGUOUS.format(message_id)}"
        )
        counts.failed += 1
        return False
    _sent(row=row, message_id=message_id, moment=moment)
    counts.sent += 1
    return True


def _mailable(*, row: OutgoingEmail, invitation: Invitation, wave: Wave, moment: datetime, counts: SendCounts) -> bool:
    if (
        invitation.status in STOPPED
        or invitation.respondent.opted_out_at is not None
        or (wave.closes_at is not None and moment >= wave.closes_at)
    ):
        counts.cancelled += _mine(row).update(status=Status.CANCELLED)
        return False
    if row.sequence > 0:
        sent_at = _invitation_sent(invitation) if invitation.status == InvitationStatus.PENDING else invitation.sent_at
        # The invitation has not gone out yet (throttled, failed), or went out late:
        # a reminder never follows it within a day.
        if sent_at is None and invitation.status == InvitationStatus.PENDING:
            later = moment + _DEFER
        elif sent_at is not None and moment < sent_at + _REMINDER_GAP:
            later = sent_at + _REMINDER_GAP
        else:
            return True
        counts.deferred += _mine(row).update(status=Status.PENDING, due_at=later, claimed_at=None)
        return False
    return True


def _sent(*, row: OutgoingEmail, message_id: str, moment: datetime) -> None:
    # FAILED too: a sweeper may have given up on this row while the server was
    # still answering; the server's acceptance is the truth.
    OutgoingEmail.objects.filter(pk=row.pk, message_id=message_id, status__in=(Status.SENDING, Status.FAILED)).update(
        status=Status.SENT, sent_at=moment, last_error=""
    )
    row.status = Status.SENT  # the invitation's own status follows per batch (_batch_send)


def _invitation_sent(invitation: Invitation) -> datetime | None:
    """When the first message of an invitation still marked pending went out (and mark it sent), or None."""
    sent_at = (
        OutgoingEmail.objects.filter(invitation_id=invitation.pk, sequence=0, status=Status.SENT)
        .values_list("sent_at", flat=True)
        .first()
    )
    if sent_at is not None:
        Invitation.objects.filter(pk=invitation.pk, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.SENT, sent_at=sent_at
        )
        invitation.status, invitation.sent_at = InvitationStatus.SENT, sent_at
    return sent_at


def _bounce(*, row: OutgoingEmail, message_id: str, error: str, moment: datetime) -> None:
    with transaction.atomic():
        OutgoingEmail.objects.filter(pk=row.pk, message_id=message_id).update(status=Status.FAILED, last_error=error)
        Invitation.objects.filter(pk=row.invitation_id).exclude(status__in=STOPPED).update(
            status=InvitationStatus.BOUNCED, bounced_at=moment
        )
        _unsent(OutgoingEmail.objects.filter(invitation_id=row.invitation_id)).update(status=Status.CANCELLED)


def _refused(*, row: OutgoingEmail, message_id: str, error: str, temporary: bool) -> None:
    mine = OutgoingEmail.objects.filter(pk=row.pk, message_id=message_id)
    if temporary:
        mine.update(
            status=Status.PENDING,
            message_id="",
            claimed_at=None,
            due_at=timezone.now() + _TEMPORARY_RETRY,
            last_error=error,
        )
    else:
        mine.update(status=Status.FAILED, last_error=error)


def _release(rows: Iterable[OutgoingEmail]) -> int:
    """Claimed rows never handed to the server go back to pending."""
    released = 0
    for row in rows:
        released += _mine(row).filter(message_id="").update(status=Status.PENDING, claimed_at=None)
    return released


def _mine(row: OutgoingEmail):
    return OutgoingEmail.objects.filter(pk=row.pk, status=Status.SENDING, attempts=row.attempts)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"


# --------------------------------------------------------------------------- throttle


def _rate_key(wave: Wave) -> str:
    # Per wave and wall-clock minute, in the shared cache (Redis in production) so
    # every worker counts against one budget. The wave's creation time keeps keys
    # apart when a database reuses ids.
    return f"kelu:mail-rate:{wave.pk}:{wave.created_at.timestamp():.6f}:{int(time.time() // 60)}"


def _rate_allowance(wave: Wave) -> int:
    return wave.send_rate_per_minute - int(cache.get(_rate_key(wave)) or 0)


def _rate_spend(wave: Wave, count: int) -> None:
    key = _rate_key(wave)
    cache.add(key, 0, timeout=120)
    try:
        cache.incr(key, count)
    except ValueError:  # expired between add and incr
        cache.set(key, count, timeout=120)
