"""The respondent's side of a wave: opening a link, saving each page, submitting.

Answers are saved on every page change (and by the page script while typing), so
a closed browser or a dropped connection loses at most the edits of the current
page. A link's secret identifies the response: the invitation link for invited
respondents, a resume link for public-link respondents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..answers import validate_answers
from ..models import Invitation, PanelMember, Response, Wave
from ..pages import applicable_pages, errors_on_page, first_page_with_errors, merge, page_errors
from ..tokens import looks_like_token, new_resume_token, token_hash
from .responses import (
    COMPLETE,
    PARTIAL,
    QuotaFull,
    SubmissionRefused,
    response_start,
    response_update,
    wave_admits,
    wave_open_check,
)


@dataclass
class Handle:
    """What a link opens: the wave, the response and, for invited respondents, the invitation."""

    wave: Wave
    response: Response
    invitation: Invitation | None
    token: str
    kind: str  # "i" (invitation link) or "r" (resume link)


@dataclass
class PageResult:
    errors: dict[str, str] = field(default_factory=dict)
    page: int = 0
    completed: bool = False
    quota_full: bool = False
    refused: str = ""  # why the wave turned the answers away (closed, ...), in the respondent's language
    saved: bool = True


def invitation_open(*, token: str) -> Handle | None:
    """The response behind an invitation link, created (and prefilled) on first use."""
    if not looks_like_token(token):
        return None
    invitation = (
        Invitation.objects.select_related("wave__version__survey", "respondent")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None:
        return None
    if invitation.response_id is None and not invitation.wave.is_open():
        # Nothing is written for a wave that takes no answers: the page says it is closed.
        return Handle(invitation.wave, _unsaved(invitation), invitation, token, "i")
    if invitation.response_id is None or invitation.status in (Invitation.Status.PENDING, Invitation.Status.SENT):
        with transaction.atomic():
            # Row lock: two tabs opening the same link at once create one response.
            invitation = (
                Invitation.objects.select_for_update()
                .select_related("wave__version__survey", "respondent")
                .get(pk=invitation.pk)
            )
            now = timezone.now()
            if invitation.response_id is None:
                invitation.response = _new_response(invitation.wave, invitation.language, invitation=invitation)
            if invitation.status in (Invitation.Status.PENDING, Invitation.Status.SENT):
                invitation.status, invitation.opened_at = Invitation.Status.OPENED, now
            invitation.save(update_fields=["response", "status", "opened_at"])
    response = Response.objects.select_related("version", "wave").get(pk=invitation.response_id)
    return Handle(invitation.wave, response, invitation, token, "i")


def _unsaved(invitation: Invitation) -> Response:
    wave = invitation.wave
    return Response(survey=wave.survey, version=wave.version, wave=wave, status=PARTIAL, language=invitation.language)


def resume_open(*, token: str) -> Handle | None:
    if not looks_like_token(token):
        return None
    response = (
        Response.objects.select_related("version", "wave__version__survey")
        .filter(resume_token_hash=token_hash(token), wave__isnull=False)
        .first()
    )
    if response is None:
        return None
    return Handle(response.wave, response, None, token, "r")


def link_refusal(handle: Handle) -> str:
    """Why the wave no longer takes this link's answers (closed), or "" when it does."""
    try:
        wave_open_check(handle.wave)
    except SubmissionRefused as exc:
        return exc.reason
    return ""


def public_refusal(wave: Wave) -> SubmissionRefused | None:
    """Why a wave's public link cannot start a response (closed, or invitation only), if it cannot."""
    try:
        wave_admits(wave=wave, invitation=None)
    except SubmissionRefused as exc:
        return exc
    return None


def public_start(*, wave: Wave, language: str) -> Handle:
    """A new response on a public link, with the secret of its resume link."""
    token = new_resume_token()
    response = _new_response(wave, language, resume_token=token)
    return Handle(wave, response, None, token, "r")


def _new_response(
    wave: Wave, language: str, *, invitation: Invitation | None = None, resume_token: str = ""
) -> Response:
    answers = _prefill(wave, invitation) if invitation is not None else {}
    resume_hash = token_hash(resume_token) if resume_token else ""
    return response_start(wave=wave, language=language, answers=answers, invitation=invitation, resume_hash=resume_hash)


def _prefill(wave: Wave, invitation: Invitation) -> dict[str, Any]:
    """Selected answers from the respondent's last complete response to this survey (another wave)."""
    if not wave.prefill_fields:
        return {}
    previous = (
        Response.objects.filter(
            invitation__respondent_id=invitation.respondent_id,
            survey_id=wave.survey_id,
            status=Response.Status.COMPLETE,
        )
        .exclude(wave=wave)
        .order_by("-submitted_at")
        .first()
    )
    if previous is None:
        return {}
    carried = {name: previous.answers[name] for name in wave.prefill_fields if name in previous.answers}
    # Only what is still valid under this wave's version survives.
    outcome = validate_answers(
        wave.version.instrument, carried, complete=False, language=None, today=timezone.localdate()
    )
    return outcome.answers


def prefilled_fields(handle: Handle) -> set[str]:
    return {name for name in handle.wave.prefill_fields if name in handle.response.answers}


def page_save(*, handle: Handle, page: int, posted: dict[str, Any], language: str, action: str) -> PageResult:
    """Save a page's answers and move: action is "stay", "back", "next" or "finish".

    Valid answers are always saved, even when others on the page are not (those
    come back with their messages); moving on needs the page's required answers.
    A wave that no longer takes answers (closed since the page was shown) saves
    nothing and says why.
    """
    try:
        return _page_save(handle=handle, page=page, posted=posted, language=language, action=action)
    except QuotaFull:
        return PageResult(page=handle.response.last_page, quota_full=True, saved=False)
    except SubmissionRefused as exc:
        return PageResult(page=page, refused=exc.reason, saved=False)


def _page_save(*, handle: Handle, page: int, posted: dict[str, Any], language: str, action: str) -> PageResult:
    response, wave = handle.response, handle.wave
    instrument = wave.version.instrument
    today = timezone.localdate()
    merged = merge(response.answers, posted)
    moving_on = action in ("next", "finish")
    errors = page_errors(instrument, page, merged, required=moving_on, language=language, today=today)
    saveable = {name: value for name, value in merged.items() if name not in errors}
    cleaned = validate_answers(instrument, saveable, complete=False, language=language, today=today).answers
    if errors:
        _store(handle, cleaned, language, page)
        return PageResult(errors=errors, page=page)
    pages = applicable_pages(instrument, cleaned, today)
    destination = _destination(action, page, pages)
    # One write per page change, recording where the respondent goes (where a link reopens).
    _store(handle, cleaned, language, page if destination is None else destination)
    if destination is None and moving_on:
        return _finish(handle, cleaned, language, pages)
    return PageResult(page=page if destination is None else destination)


def _destination(action: str, page: int, pages: list[int]) -> int | None:
    """The page an action leads to; None to stay (or, for next on the last page, to finish)."""
    if action == "back":
        earlier = [p for p in pages if p < page]
        return earlier[-1] if earlier else (pages[0] if pages else page)
    if action == "next":
        later = [p for p in pages if p > page]
        return later[0] if later else None
    return None


def _store(handle: Handle, answers: dict[str, Any], language: str, page: int) -> None:
    if handle.response.status == COMPLETE:
        return
    response_update(
        response=handle.response,
        status=PARTIAL,
        answers=answers,
        language=language,
        last_page=page,
        invitation=handle.invitation,
    )


def _finish(handle: Handle, answers: dict[str, Any], language: str, pages: list[int]) -> PageResult:
    instrument = handle.wave.version.instrument
    today = timezone.localdate()
    outcome = validate_answers(instrument, answers, complete=True, language=language, today=today)
    if outcome.errors:
        first = first_page_with_errors(instrument, pages, outcome.errors)
        return PageResult(errors=errors_on_page(instrument, first, outcome.errors), page=first)
    response_update(
        response=handle.response,
        status=COMPLETE,
        answers=outcome.answers,
        language=language,
        invitation=handle.invitation,
    )
    return PageResult(completed=True, page=handle.response.last_page)


def consented_to_registry(response: Response) -> bool:
    return response.answers.get("consent_registry") == "yes"


@dataclass(frozen=True)
class RegistrySource:
    """What a completed response lets the registry prefill, for whoever holds its link."""

    response: Response
    answers: dict[str, Any]
    email: str
    name: str
    language: str
    user_id: int | None


def registry_source(*, kind: str, token: str) -> RegistrySource | None:
    """The completed response behind a link, if its respondent agreed to join the registry."""
    handle = resume_open(token=token) if kind == "r" else _invitation_handle(token) if kind == "i" else None
    if handle is None or handle.response.status != Response.Status.COMPLETE:
        return None
    if not consented_to_registry(handle.response):
        return None
    respondent = handle.invitation.respondent if handle.invitation else None
    return RegistrySource(
        response=handle.response,
        answers=dict(handle.response.answers),
        email=respondent.email if respondent else "",
        name=_member_name(handle) if respondent else "",
        language=handle.response.language or "kk",
        user_id=respondent.user_id if respondent else None,
    )


def _member_name(handle: Handle) -> str:
    """The respondent's name as the wave's panel holds it."""
    names = PanelMember.objects.filter(panel_id=handle.wave.panel_id, respondent_id=handle.invitation.respondent_id)
    return names.values_list("name", flat=True).first() or ""


def _invitation_handle(token: str) -> Handle | None:
    # Read-only: unlike invitation_open, looking at a finished invitation changes nothing.
    if not looks_like_token(token):
        return None
    invitation = (
        Invitation.objects.select_related("wave", "respondent", "response").filter(token_hash=token_hash(token)).first()
    )
    if invitation is None or invitation.response is None:
        return None
    return Handle(invitation.wave, invitation.response, invitation, token, "i")


def respondent_link_user(*, response_id: int, user_id: int) -> bool:
    """Tie the invited respondent behind a response to the account they just made (only if
    the respondent has no account yet: an existing link is never moved)."""
    invitation = Invitation.objects.filter(response_id=response_id).select_related("respondent").first()
    if invitation is None:
        return False
    return bool(
        type(invitation.respondent)
        .objects.filter(pk=invitation.respondent_id, user__isnull=True)
        .update(user_id=user_id)
    )
