"""The matching API: requests, their top 20 and proposals, matches for institutions, runs, metrics."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response as APIResponse

from accounts.models import Role

from .. import selectors, selectors_matching
from ..explanations import explain, filter_trail
from ..models import Match
from ..serializers import (
    FeedbackInput,
    MatchStatusOutput,
    MetricsOutput,
    OffersSentOutput,
    RequestIn,
    RequestMatchOutput,
    RequestOutput,
    RunInput,
    RunOutput,
    TopOutput,
)
from ..services import lifecycle, matching, registry
from ..services import requests as request_services
from .common import (
    Conflict,
    RegistryApi,
    RegistryListApi,
    _invalid,
    _language,
    _refused,
    _require_admin,
    _transition_schema,
    _validated,
)

# --------------------------------------------------------------------------- requests


def _require_request_author(request: Request) -> None:
    user = request.user
    if not (selectors.viewer_is_admin(user) or user.role == Role.INSTITUTION_STAFF):
        raise PermissionDenied("Only home institutions' staff and programme administrators can post requests.")


class RequestListApi(RegistryListApi):
    """Expertise requests you may see: your institutions', or your programmes' as an administrator."""

    serializer_class = RequestOutput

    def get_queryset(self):
        return selectors.requests_visible_to(self.request.user)

    @extend_schema(
        request=RequestIn,
        responses={201: RequestOutput, 400: OpenApiResponse(description="Each bad field named, with the reason.")},
    )
    def post(self, request: Request) -> APIResponse:
        """Post a request for expertise on behalf of an institution you belong to."""
        _require_request_author(request)
        data = _validated(RequestIn, request.data)
        try:
            created = request_services.request_create(user=request.user, data=data.to_request())
        except registry.RegistryInvalid as exc:
            raise _invalid(exc) from None
        return APIResponse(RequestOutput(created).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(RegistryApi):
    @extend_schema(responses=RequestOutput)
    def get(self, request: Request, pk: int) -> APIResponse:
        return APIResponse(RequestOutput(selectors.request_get_for(request.user, pk)).data)

    @extend_schema(
        request=RequestIn,
        responses={200: RequestOutput, 400: OpenApiResponse(description="Each bad field named, with the reason.")},
    )
    def put(self, request: Request, pk: int) -> APIResponse:
        expertise_request = selectors.request_get_for(request.user, pk)
        data = _validated(RequestIn, request.data)
        try:
            updated = request_services.request_update(
                request=expertise_request, user=request.user, data=data.to_request()
            )
        except registry.RegistryInvalid as exc:
            raise _invalid(exc) from None
        return APIResponse(RequestOutput(updated).data)


class RequestCloseApi(RegistryApi):
    @extend_schema(request=None, responses=RequestOutput)
    def post(self, request: Request, pk: int) -> APIResponse:
        """Close a request: it is matched no more and its unanswered proposals are withdrawn."""
        expertise_request = selectors.request_get_for(request.user, pk)
        return APIResponse(RequestOutput(request_services.request_close(request=expertise_request)).data)


class RequestTopApi(RegistryApi):
    @extend_schema(
        responses={
            200: TopOutput,
            409: OpenApiResponse(description="The request is not open, so it is not matched."),
        }
    )
    def get(self, request: Request, pk: int) -> APIResponse:
        """The best 20 experts for the request now, each with why; when there is nobody, why nobody."""
        expertise_request = selectors.request_get_for(request.user, pk)
        try:
            result = matching.request_top(request=expertise_request)
        except matching.MatchingRefused as exc:
            raise Conflict(str(exc)) from None
        candidates = _top_candidates(request, expertise_request, result.candidates)
        why = None
        if not candidates:
            why = matching.why_nobody(result.steps) or _(
                "Nobody suitable can be proposed right now: everyone who fits is at capacity or no longer listed."
            )
        trail = [
            {"step": step.name, "label": label, "remaining": remaining}
            for step, (label, remaining) in zip(result.steps, filter_trail(result.steps), strict=True)
        ]
        body = {"request": expertise_request.pk, "candidates": candidates, "why_nobody": why, "filter_trail": trail}
        return APIResponse(TopOutput(body).data)


def _top_candidates(request: Request, expertise_request, candidates) -> list[dict]:
    """Candidates as this viewer may see them. The ranking index may be minutes old, so the
    people are looked up again: whoever is no longer listed or matchable is left out."""
    user, language = request.user, _language(request)
    people = {
        person.pk: person
        for person in selectors.people_listed_for(user)
        .filter(pk__in=[c.person_id for c in candidates])
        .filter(pk__in=selectors.people_matchable().values("pk"))
        .prefetch_related("offers", "programmes")
    }
    row = selectors_matching.request_row(expertise_request)
    shown = []
    for rank, candidate in enumerate(candidates, start=1):
        person = people.get(candidate.person_id)
        if person is None:
            continue
        match = matching.match_from_candidate(candidate, row, run=None, rank=rank)
        show_location = "location" in selectors.visible_groups(user, person)
        shown.append(
            {
                "person": selectors.person_card(user, person),
                "score": candidate.score,
                "components": candidate.components,
                "explanation": explain(match, language=language, show_location=show_location),
                "offer": {
                    "mode": expertise_request.mode,
                    "unit": candidate.unit,
                    "remaining_after": candidate.remaining_after,
                    "remote": candidate.remote,
                    "onsite": candidate.onsite,
                },
            }
        )
    return shown


class RequestMatchListApi(RegistryListApi):
    """The request's proposals and engagements, each with the expert as you may see them and why."""

    serializer_class = RequestMatchOutput

    def get(self, request: Request, pk: int) -> APIResponse:
        expertise_request = selectors.request_get_for(request.user, pk)
        matches = selectors.matches_for_request(request.user, expertise_request).prefetch_related(
            "person__offers", "person__programmes"
        )
        page = self.paginate_queryset(matches)
        language = _language(request)
        for match in page:
            match.card = selectors.person_card(request.user, match.person)
            show_location = "location" in selectors.visible_groups(request.user, match.person)
            match.explanation = explain(match, language=language, show_location=show_location)
        return self.get_paginated_response(RequestMatchOutput(page, many=True).data)


class RequestOfferProposalsApi(RegistryApi):
    @extend_schema(request=None, responses=OffersSentOutput)
    def post(self, request: Request, pk: int) -> APIResponse:
        """Send every proposal of the request to its expert (each with a deadline to answer)."""
        expertise_request = selectors.request_get_for(request.user, pk)
        sent = lifecycle.request_offer_proposals(request=expertise_request, user=request.user)
        return APIResponse({"offered": sent})


# --------------------------------------------------------------------------- matches, for institutions


def _match_for_staff(request: Request, pk: int) -> Match:
    return selectors.match_for_staff(request.user, pk)


class MatchOfferApi(RegistryApi):
    @_transition_schema(description="Send a proposal to its expert.")
    def post(self, request: Request, pk: int) -> APIResponse:
        match = _match_for_staff(request, pk)
        try:
            match = lifecycle.match_offer(match=match, user=request.user)
        except lifecycle.TransitionRefused as exc:
            raise _refused(exc) from None
        return APIResponse(MatchStatusOutput(match).data)


class MatchWithdrawApi(RegistryApi):
    @_transition_schema(description="Take back a proposal or an unanswered offer.")
    def post(self, request: Request, pk: int) -> APIResponse:
        match = _match_for_staff(request, pk)
        try:
            match = lifecycle.match_withdraw(match=match, user=request.user)
        except lifecycle.TransitionRefused as exc:
            raise _refused(exc) from None
        return APIResponse(MatchStatusOutput(match).data)


class MatchActivateApi(RegistryApi):
    @_transition_schema(description="Confirm that an accepted engagement has started.")
    def post(self, request: Request, pk: int) -> APIResponse:
        match = _match_for_staff(request, pk)
        try:
            match = lifecycle.match_activate(match=match, user=request.user)
        except lifecycle.TransitionRefused as exc:
            raise _refused(exc) from None
        return APIResponse(MatchStatusOutput(match).data)


class MatchCompleteApi(RegistryApi):
    @_transition_schema(FeedbackInput, "Mark an active engagement completed, with the institution's rating.")
    def post(self, request: Request, pk: int) -> APIResponse:
        match = _match_for_staff(request, pk)
        data = _validated(FeedbackInput, request.data).validated_data
        try:
            match = lifecycle.match_complete(
                match=match, user=request.user, rating=data.get("rating"), feedback=data["feedback"]
            )
        except lifecycle.TransitionRefused as exc:
            raise _refused(exc) from None
        return APIResponse(MatchStatusOutput(match).data)


# --------------------------------------------------------------------------- runs and metrics


class RunCreateApi(RegistryApi):
    @extend_schema(
        request=RunInput,
        responses={202: RunOutput, 400: OpenApiResponse(description="The programme is missing or not yours.")},
    )
    def post(self, request: Request) -> APIResponse:
        """Start a matching run over the open requests of a programme you administer (it runs in the background)."""
        _require_admin(request)
        data = _validated(RunInput, request.data)
        try:
            run = matching.matching_run_request(user=request.user, programme_slug=data.validated_data["programme"])
        except matching.MatchingRefused as exc:
            raise ValidationError({"programme": [str(exc)]}) from None
        return APIResponse(RunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailApi(RegistryApi):
    @extend_schema(responses=RunOutput)
    def get(self, request: Request, pk: int) -> APIResponse:
        """A run's status and, once complete, its statistics."""
        _require_admin(request)
        return APIResponse(RunOutput(selectors.run_get_for(request.user, pk)).data)


class MetricsApi(RegistryApi):
    @extend_schema(responses=MetricsOutput)
    def get(self, request: Request) -> APIResponse:
        """Matching outcomes over the requests you may see: acceptance, response time, coverage, load."""
        _require_admin(request)
        metrics = selectors_matching.matching_metrics(selectors.requests_visible_to(request.user))
        return APIResponse(MetricsOutput(metrics).data)
