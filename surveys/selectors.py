"""Permission-aware reads of the survey engine."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import User
from accounts.scoping import administers, programme_q

from .models import Response, Survey, SurveyVersion, Wave


def surveys_visible_to(user: User) -> QuerySet[Survey]:
    """Surveys with a published version, for everyone; a survey with drafts only, for the
    administrators of its programme (platform-wide ones: superusers)."""
    surveys = Survey.objects.all()
    if user.is_superuser:
        return surveys.order_by("slug")
    visible = Q(pk__in=SurveyVersion.objects.filter(status=SurveyVersion.Status.PUBLISHED).values("survey_id"))
    return surveys.filter(visible | programme_q(user)).order_by("slug")


def survey_get(user: User, slug: str) -> Survey:
    survey = surveys_visible_to(user).filter(slug=slug).first()
    if survey is None:
        raise Http404("No such survey.")
    return survey


def sees_drafts_of(user: User, survey: Survey) -> bool:
    """Drafts are for the administrators of the survey's programme (platform-wide surveys: superusers)."""
    return administers(user, survey.programme_id)


def versions_visible_to(user: User, survey: Survey) -> QuerySet[SurveyVersion]:
    versions = survey.versions.all()
    if not sees_drafts_of(user, survey):
        versions = versions.filter(status=SurveyVersion.Status.PUBLISHED)
    return versions.order_by("-number")


def version_get(user: User, survey: Survey, number: int) -> SurveyVersion:
    version = versions_visible_to(user, survey).filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    return version


# Published versions never change, so the submission path keeps the ones it has
# resolved for a short while instead of querying for them on every response. The
# time limit bounds how long a deleted survey could still be seen by a process.
_PUBLISHED_TTL_SECONDS = 60.0
_published: dict[tuple[str, int], tuple[float, SurveyVersion]] = {}


def forget_published_versions() -> None:
    _published.clear()


def version_for_submission(user: User, slug: str, number: int) -> SurveyVersion | None:
    """The version a response is submitted to, with its survey (a hot path)."""
    key = (slug, number)
    cached = _published.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    version = _version_query(user, slug, number)
    if version is not None and version.is_published:
        if len(_published) > 256:
            _published.clear()
        _published[key] = (time.monotonic() + _PUBLISHED_TTL_SECONDS, version)
    return version


def _version_query(user: User, slug: str, number: int) -> SurveyVersion | None:
    versions = (
        SurveyVersion.objects.select_related("survey")
        # The form's content is only read to compile it, once per process and version
        # (instruments are cached by content hash), so it is not fetched every time.
        .defer("content", "import_notes")
        .filter(survey__slug=slug, number=number)
        .order_by()
    )
    version = versions.first()
    if version is not None and not version.is_published and not sees_drafts_of(user, version.survey):
        return None
    return version


def wave_get(survey: Survey, slug: str) -> Wave | None:
    return Wave.objects.select_related("version").filter(survey=survey, slug=slug).first()


def responses_of(user: User, survey: Survey) -> QuerySet[Response]:
    """A respondent's own responses to one survey; nobody else's, whatever the role."""
    return (
        Response.objects.filter(respondent=user, survey=survey)
        .select_related("version", "wave")
        .order_by("-created_at")
    )


def response_get(user: User, survey: Survey, instance_id: uuid.UUID) -> Response:
    response = responses_of(user, survey).filter(instance_id=instance_id).first()
    if response is None:
        raise Http404("No such response.")
    return response


@dataclass(frozen=True)
class MySurvey:
    """One survey a signed-in respondent was invited to, as their home page lists it."""

    title: str
    wave: Wave
    status: str
    status_label: str
    url: str  # the personal link (rebuilt from the invitation's nonce); "" when it no longer opens
    closes_at: Any
    answered: bool


def surveys_of_respondent(user: User, *, language: str) -> list[MySurvey]:
    """The invitations of the respondent records linked to this account, newest first."""
    from django.urls import reverse
    from django.utils import timezone

    from .models import Invitation
    from .tokens import invitation_token

    if not user.is_authenticated:
        return []
    now = timezone.now()
    invitations = (
        Invitation.objects.filter(respondent__user=user)
        .exclude(status=Invitation.Status.OPTED_OUT)
        .select_related("wave__version", "wave__survey")
        .order_by("-created_at")[:50]
    )
    found = []
    for invitation in invitations:
        wave = invitation.wave
        answered = invitation.status == Invitation.Status.COMPLETE
        opens = wave.is_open(now) or answered
        url = reverse("respondent-page-i", args=[invitation_token(invitation.token_nonce)]) if opens else ""
        title = wave.version.instrument.title_in(language) or wave.survey.title
        found.append(
            MySurvey(title, wave, invitation.status, invitation.get_status_display(), url, wave.closes_at, answered)
        )
    return found
