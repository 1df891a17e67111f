"""Storing a response: the one path for the API, the respondent pages and any import.

Every entry point saves and completes responses here, so the wave's rules hold
whichever way answers arrive:

- the version must be published and, for a wave, be the wave's version; a response
  without a wave only to a survey that takes direct responses;
- the wave must be open (between its opening and closing times);
- a wave that is not public takes responses only through an invitation, and an
  invitation holds one response;
- a completion must fit every quota cell it falls in (cells close when they fill);
- answers are validated against the exact version (irrelevant answers dropped,
  calculations recomputed);
- the invitation follows the response (opened -> partial -> complete), and its
  reminders stop once the response is complete;
- webhooks hear of every stored or changed response.

Refusals are exceptions carrying a reason in the respondent's language: a
SubmissionRefused names why the wave turns the response away (the API answers 403
or 409 with it, the pages show the matching page); SubmissionInvalid maps fields to
messages; ResponseConflict means the instance_id already holds other content.
"""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User

from ..answers import validate_answers
from ..models import Invitation, Quota, Response, SurveyVersion, Wave, content_digest
from ..selectors import forget_published_versions
from .invitations import invitation_cancel_pending
from .webhooks import response_event, surveys_with_webhooks

COMPLETE = Response.Status.COMPLETE
PARTIAL = Response.Status.PARTIAL
_UNSET: Any = object()


class SubmissionInvalid(Exception):
    """The answers or the envelope are not valid; `errors` maps names to messages."""

    def __init__(self, errors: dict[str, Any]):
        self.errors = errors
        super().__init__(str(errors))


class ResponseConflict(Exception):
    """The instance_id is taken by other content (or by another respondent), or the response is final."""


class SubmissionRefused(Exception):
    """The wave does not take this response; `reason` is in the respondent's language."""

    code = "refused"
    http_status = 403

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class WaveClosed(SubmissionRefused):
    code = "wave_closed"


class InvitationRequired(SubmissionRefused):
    code = "invitation_required"


class WaveRequired(SubmissionRefused):
    code = "wave_required"


class QuotaFull(SubmissionRefused):
    code = "quota_full"
    http_status = 409


class AlreadyAnswered(SubmissionRefused):
    code = "already_answered"
    http_status = 409


def response_digest(*, version_id: int, wave_id: int | None, status: str, answers: dict[str, Any]) -> str:
    """The content hash that tells a resend from a change (the one recipe, for every entry point)."""
    return content_digest({"version": version_id, "wave": wave_id, "status": status, "answers": answers})


# --------------------------------------------------------------------------- rules


def wave_admits(*, wave: Wave, invitation: Invitation | None, at=None) -> None:
    """Raise the SubmissionRefused that keeps a new response out of `wave`, if any."""
    at = at or timezone.now()
    if at < wave.opens_at:
        raise WaveClosed(_("This survey is not open for answers yet."))
    if wave.closes_at is not None and at >= wave.closes_at:
        raise WaveClosed(_("This survey is closed and not open for answers any more."))
    if not wave.is_public and invitation is None:
        raise InvitationRequired(_("This survey is by invitation only: answer through the link in your invitation."))


def wave_open_check(wave: Wave) -> None:
    """Saving answers to a response that exists needs only an open wave (raises WaveClosed)."""
    if not wave.is_open():
        wave_admits(wave=wave, invitation=None)  # raises the matching WaveClosed


def quota_admits(*, wave: Wave, answers: dict[str, Any]) -> None:
    """Raise QuotaFull when a completion falls in a full quota cell; closes cells as they fill.

    Must run inside the transaction that completes the response: the quota rows are
    locked for the count and the completion, so two respondents finishing at once
    cannot both take the last place in a cell.
    """
    for quota in Quota.objects.select_for_update().filter(wave=wave).order_by("pk"):
        conditions = quota.conditions or {}
        if not all(answers.get(name) == value for name, value in conditions.items()):
            continue
        if quota.closed_at is None:
            filled = Response.objects.filter(
                wave=wave, status=COMPLETE, **{f"answers__{k}": v for k, v in conditions.items()}
            ).count()
            if filled + 1 >= quota.cap:
                Quota.objects.filter(pk=quota.pk).update(closed_at=timezone.now())
            if filled < quota.cap:
                continue
        raise QuotaFull(
            _(
                "We already have all the answers we need from people in your situation, so your answers will not "
                "be recorded this time. Thank you for your time."
            )
        )


def _cleaned(
    *, version: SurveyVersion, wave: Wave | None, answers: dict[str, Any], status: str, language: str | None
) -> tuple[dict[str, Any], str]:
    if not version.is_published:
        raise SubmissionInvalid({"version": [_("version %(n)s is not published") % {"n": version.number}]})
    if wave is not None and wave.version_id != version.pk:
        raise SubmissionInvalid(
            {"wave": [_("wave '%(wave)s' fields version %(n)s") % {"wave": wave.slug, "n": wave.version.number}]}
        )
    instrument = version.instrument
    lang = language if language in instrument.languages else None
    outcome = validate_answers(
        instrument, answers, complete=status == COMPLETE, language=lang, today=timezone.localdate()
    )
    if not outcome.valid:
        raise SubmissionInvalid({"answers": {name: [message] for name, message in outcome.errors.items()}})
    digest = response_digest(
        version_id=version.pk, wave_id=wave.pk if wave else None, status=status, answers=outcome.answers
    )
    return outcome.answers, digest


def _invitation_follows(invitation: Invitation | None, response: Response, now) -> None:
    """The invitation holds its one response (whatever its status: an opted-out or bounced
    invitation too) and records how far it got; completion stops its reminders."""
    if invitation is None:
        return
    if invitation.response_id != response.pk:  # the first answer links it (page saves find it linked)
        Invitation.objects.filter(pk=invitation.pk, response__isnull=True).update(response=response)
        invitation.response_id = response.pk
    if response.status == COMPLETE:
        Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.COMPLETE, completed_at=now)
        invitation.status = Invitation.Status.COMPLETE
        invitation_cancel_pending(invitation=invitation)
        return
    early = [Invitation.Status.PENDING, Invitation.Status.SENT, Invitation.Status.OPENED]
    if invitation.status not in early:
        return  # partial already (or opted out, bounced): nothing to move
    progressed = Invitation.objects.filter(pk=invitation.pk, status__in=early)
    if response.answers:
        progressed.update(status=Invitation.Status.PARTIAL, opened_at=invitation.opened_at or now)
        invitation.status = Invitation.Status.PARTIAL
    else:
        progressed.exclude(status=Invitation.Status.OPENED).update(
            status=Invitation.Status.OPENED, opened_at=invitation.opened_at or now
        )


# --------------------------------------------------------------------------- a new response


def invitation_of(*, wave: Wave, user: User) -> Invitation | None:
    """The signed-in user's invitation to a wave (through the respondent linked to their account)."""
    if not user.is_authenticated:
        return None
    return Invitation.objects.select_related("response").filter(wave=wave, respondent__user=user).order_by("pk").first()


def response_submit(
    *,
    version: SurveyVersion,
    respondent: User,
    instance_id: uuid.UUID,
    status: str,
    answers: dict[str, Any],
    language: str | None = None,
    wave: Wave | None = None,
) -> tuple[Response, bool]:
    """Store a new response; a resend of the same content returns the stored one.

    Returns (response, created). Raises SubmissionRefused when the wave does not take
    it, SubmissionInvalid for bad answers, ResponseConflict when the instance_id
    already holds other content.
    """
    with translation.override(language if language in ("kk", "ru", "en") else translation.get_language()):
        cleaned, digest = _cleaned(version=version, wave=wave, answers=answers, status=status, language=language)
        if wave is None:
            if not version.survey.direct_responses:
                raise WaveRequired(
                    _("This survey takes answers only through its waves: use your invitation or its public link.")
                )
            # The response and its webhook events are written together (a database lost between
            # the two would leave a response no endpoint hears of); without webhooks the INSERT
            # stands alone, as the hot path's one statement.
            together = transaction.atomic() if version.survey_id in surveys_with_webhooks() else nullcontext()
            with together:
                return _insert(version, None, None, respondent, instance_id, status, cleaned, digest, language)
        with transaction.atomic():
            try:
                invitation = _wave_takes(wave=wave, user=respondent, instance_id=instance_id, status=status,
                                         answers=cleaned)  # fmt: skip
            except SubmissionRefused:
                # A resend of what was stored before the wave closed or filled up is still
                # answered with the stored response: retries stay safe whatever happened since.
                stored = Response.objects.filter(survey_id=version.survey_id, instance_id=instance_id).first()
                if stored is not None and stored.respondent_id == respondent.pk and stored.content_hash == digest:
                    return stored, False
                raise
            return _insert(version, wave, invitation, respondent, instance_id, status, cleaned, digest, language)


def _wave_takes(*, wave: Wave, user: User, instance_id: uuid.UUID, status: str, answers: dict) -> Invitation | None:
    """The user's invitation (locked), once the wave's rules admit this new response."""
    invitation = invitation_of(wave=wave, user=user)
    if invitation is not None:
        # Invitation row lock: one response per invitation, also when two arrive at once.
        invitation = Invitation.objects.select_for_update(of=("self",)).select_related("response").get(pk=invitation.pk)
        held = invitation.response
        if held is not None and held.instance_id != instance_id:
            raise AlreadyAnswered(
                _("Your invitation already has a response (%(id)s); save further answers to it.")
                % {"id": held.instance_id}
            )
    wave_admits(wave=wave, invitation=invitation)
    if status == COMPLETE:
        quota_admits(wave=wave, answers=answers)
    return invitation


def _insert(version, wave, invitation, respondent, instance_id, status, cleaned, digest, language):
    now = timezone.now()
    # A lone INSERT needs no transaction of its own in autocommit mode (it saves a
    # BEGIN and a COMMIT round trip on the hot path); inside a caller's transaction
    # a savepoint keeps that transaction usable if the INSERT hits the constraint.
    guard = transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()
    try:
        with guard:
            response = Response.objects.create(
                survey=version.survey,
                version=version,
                wave=wave,
                respondent=respondent,
                instance_id=instance_id,
                status=status,
                answers=cleaned,
                content_hash=digest,
                language=language or "",
                submitted_at=now if status == COMPLETE else None,
            )
    except IntegrityError:
        # The unique (survey, instance_id) constraint fired: a concurrent or
        # earlier request stored this instance first. Its row is committed by
        # now (the INSERT waited for it), so it can be read and compared.
        existing = Response.objects.filter(survey_id=version.survey_id, instance_id=instance_id).first()
        if existing is None:
            # Not the duplicate constraint: the version or survey went away after this
            # process cached it (see selectors.version_for_submission).
            forget_published_versions()
            raise SubmissionInvalid({"version": [f"version {version.number} no longer exists"]}) from None
        if existing.respondent_id != respondent.pk or existing.content_hash != digest:
            raise ResponseConflict() from None
        return existing, False
    _invitation_follows(invitation, response, now)
    # Only a stored response is an event (a resend above is not).
    response_event(response=response, event="response.created")
    return response, True


def response_start(
    *, wave: Wave, language: str, answers: dict[str, Any], invitation: Invitation | None = None, resume_hash: str = ""
) -> Response:
    """The empty (or prefilled) partial response a respondent link opens on first use."""
    respondent_user = invitation.respondent.user if invitation is not None else None
    return Response.objects.create(
        survey=wave.survey,
        version=wave.version,
        wave=wave,
        respondent=respondent_user,
        instance_id=uuid.uuid4(),
        status=PARTIAL,
        answers=answers,
        content_hash=response_digest(version_id=wave.version_id, wave_id=wave.pk, status=PARTIAL, answers=answers),
        language=language,
        resume_token_hash=resume_hash,
    )


# --------------------------------------------------------------------------- saving and completing


def response_update(
    *,
    response: Response,
    status: str,
    answers: dict[str, Any],
    language: str | None = None,
    last_page: int | None = None,
    invitation: Invitation | None = _UNSET,
) -> tuple[Response, bool]:
    """Save newer answers to a partial response, or complete it.

    A complete response is final: the same content again is accepted (a resend),
    anything else is a ResponseConflict. Completing checks the wave's quotas. Returns
    (response, changed); the caller's `response` object is brought up to date.
    """
    wave = response.wave
    with translation.override(language if language in ("kk", "ru", "en") else translation.get_language()):
        cleaned, digest = _cleaned(
            version=response.version, wave=wave, answers=answers, status=status, language=language
        )
        with transaction.atomic():
            # Row lock: two saves of one response apply one after the other.
            current = Response.objects.select_for_update().get(pk=response.pk)
            unchanged_place = last_page in (None, current.last_page) and language in (None, "", current.language)
            if current.content_hash == digest and unchanged_place:
                return current, False
            if current.status == COMPLETE:
                if current.content_hash == digest:
                    return current, False
                raise ResponseConflict()
            if wave is not None:
                wave_open_check(wave)
                if status == COMPLETE:
                    quota_admits(wave=wave, answers=cleaned)
            if invitation is _UNSET:
                invitation = Invitation.objects.filter(response_id=current.pk).first() if wave else None
            now = timezone.now()
            current.status, current.answers, current.content_hash = status, cleaned, digest
            current.language = language or current.language
            if last_page is not None:
                current.last_page = last_page
            if status == COMPLETE:
                current.submitted_at = now
            current.save()
            _invitation_follows(invitation, current, now)
            # Only when something changed; in the same transaction as the change (deliveries start on commit).
            response_event(response=current, event="response.updated")
    for name in ("status", "answers", "content_hash", "language", "last_page", "submitted_at", "updated_at"):
        setattr(response, name, getattr(current, name))
    return current, True
