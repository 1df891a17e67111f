"""Permission-aware reads of the survey engine."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User

from .models import Response, Survey, SurveyVersion, Wave


def surveys_visible_to(user: User) -> QuerySet[Survey]:
    """Designers see every survey; others see surveys with a published version."""
    surveys = Survey.objects.all()
    if not user.can_design_surveys:
        surveys = surveys.filter(versions__status=SurveyVersion.Status.PUBLISHED).distinct()
    return surveys.order_by("slug")


def survey_get(user: User, slug: str) -> Survey:
    survey = surveys_visible_to(user).filter(slug=slug).first()
    if survey is None:
        raise Http404("No such survey.")
    return survey


def versions_visible_to(user: User, survey: Survey) -> QuerySet[SurveyVersion]:
    versions = survey.versions.all()
    if not user.can_design_surveys:
        versions = versions.filter(status=SurveyVersion.Status.PUBLISHED)
    return versions.order_by("-number")


def version_get(user: User, survey: Survey, number: int) -> SurveyVersion:
    version = versions_visible_to(user, survey).filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
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
