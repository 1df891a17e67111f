"""Who sees which research request and file, decided once for the pages, the API and the admin.

A researcher sees their own requests and downloads only their own files. A programme
administrator sees (and reviews) the requests for their programmes' surveys and sets the
variable roles of those surveys; a superuser sees every request. Nobody else sees any.
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import Role, User
from accounts.scoping import in_programmes, is_programme_admin, programme_q
from surveys.models import Response, Survey, Wave

from .models import ResearchExport, ResearchRequest


def is_researcher(user: User) -> bool:
    return bool(user.is_authenticated and user.role == Role.RESEARCHER and not user.is_superuser)


def may_use_research(user: User) -> bool:
    return bool(user.is_authenticated and (is_researcher(user) or is_programme_admin(user)))


def _requests_q(user: User) -> Q:
    if not user.is_authenticated:
        return Q(pk__in=[])
    if is_researcher(user):
        return Q(requested_by=user)
    if is_programme_admin(user):
        return programme_q(user, "survey__programme")
    return Q(pk__in=[])


def requests_visible_to(user: User) -> QuerySet[ResearchRequest]:
    return (
        ResearchRequest.objects.filter(_requests_q(user))
        .select_related("survey", "survey__programme", "requested_by", "reviewed_by")
        .prefetch_related("waves", "exports")
        .order_by("-created_at", "-id")
    )


def requests_to_review(user: User) -> QuerySet[ResearchRequest]:
    if not is_programme_admin(user):
        return ResearchRequest.objects.none()
    return requests_visible_to(user).filter(status=ResearchRequest.Status.SUBMITTED)


def request_get(user: User, pk: int) -> ResearchRequest:
    request = requests_visible_to(user).filter(pk=pk).first()
    if request is None:
        raise Http404("No such request.")
    return request


def exports_of(request: ResearchRequest) -> list[ResearchExport]:
    """Newest first (from the prefetched rows when the request came from `requests_visible_to`)."""
    return sorted(request.exports.all(), key=lambda export: (export.created_at, export.pk), reverse=True)


def export_for_download(user: User, pk: int) -> ResearchExport:
    """The requester's own finished export (anyone else: not found)."""
    export = (
        ResearchExport.objects.filter(pk=pk, kind=ResearchExport.Kind.EXPORT, request__requested_by=user)
        .select_related("request", "request__survey")
        .first()
    )
    if export is None or not user.is_authenticated:
        raise Http404("No such file.")
    return export


def requestable_surveys(user: User) -> QuerySet[Survey]:
    """Surveys a researcher may ask data of: those with a wave holding complete responses."""
    if not is_researcher(user):
        return Survey.objects.none()
    answered = Response.objects.filter(wave__survey=OuterRef("pk"), status=Response.Status.COMPLETE)
    return Survey.objects.filter(Exists(answered)).select_related("programme").order_by("title")


def requestable_survey_get(user: User, slug: str) -> Survey:
    survey = requestable_surveys(user).filter(slug=slug).first()
    if survey is None:
        raise Http404("No such survey.")
    return survey


def survey_waves(survey: Survey) -> QuerySet[Wave]:
    complete = Count("responses", filter=Q(responses__status=Response.Status.COMPLETE))
    return survey.waves.annotate(complete=complete).filter(complete__gt=0).order_by("opens_at", "pk")


def role_surveys(user: User) -> QuerySet[Survey]:
    """Surveys whose variable roles the user sets (their programmes')."""
    if not is_programme_admin(user):
        return Survey.objects.none()
    return in_programmes(Survey.objects.all(), user).order_by("title")


def role_survey_get(user: User, slug: str) -> Survey:
    survey = role_surveys(user).filter(slug=slug).first()
    if survey is None:
        raise Http404("No such survey.")
    return survey
