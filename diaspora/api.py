"""Thin API views of the registry: validate input, call a service or selector, serialize.

Who sees whom is decided by the selectors (every person shown comes from
`people_listed_for` or the matching querysets, as `person_card` shapes it); these views
add only the role gates: researchers never reach registry data, only institution staff
and administrators post requests, only administrators run matching and read metrics.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response as APIResponse
from rest_framework.views import APIView

from accounts.models import Role
from config.parsers import SafeJSONParser

from . import selectors, selectors_matching, tasks
from .explanations import explain, filter_trail
from .models import Consent, Match, MatchRun, Message, Person
from .serializers import (
    ConsentInput,
    ConsentOutput,
    DeclineInput,
    DirectoryInput,
    FeedbackInput,
    InboxMessageOutput,
    MatchStatusOutput,
    MessageCreatedOutput,
    MessageInput,
    MetricsOutput,
    MyMatchOutput,
    MyProfileOutput,
    OffersSentOutput,
    PersonCardOutput,
    ProfileIn,
    ProfileJoinInput,
    ReplyInput,
    RequestIn,
    RequestMatchOutput,
    RequestOutput,
    RunOutput,
    StatusInput,
    TopOutput,
)
from .services import lifecycle, matching, messages, registry
from .services import requests as request_services

LANGUAGES = ("kk", "ru", "en")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class NotResearcher(BasePermission):
    message = "Researchers work with anonymised exports; registry people and requests are not open to them."

    def has_permission(self, request, view) -> bool:
        return request.user.is_superuser or request.user.role != Role.RESEARCHER


class MeApi(APIView):
    """Your own profile, offers and inbox: open to anyone signed in. JSON bodies only."""

    parser_classes = [SafeJSONParser]


class MeListApi(ListAPIView):
    parser_classes = [SafeJSONParser]


class RegistryApi(MeApi):
    """Other people and requests: not for researchers."""

    permission_classes = [IsAuthenticated, NotResearcher]


class RegistryListApi(MeListApi):
    permission_classes = [IsAuthenticated, NotResearcher]


def _require_admin(request: Request) -> None:
    if not selectors.viewer_is_admin(request.user):
        raise PermissionDenied("Only programme administrators can do this.")


def _invalid(exc: registry.RegistryInvalid) -> ValidationError:
    return ValidationError({name: [message] for name, message in exc.errors.items()})


def _language(request: Request) -> str:
    """The language asked for in Accept-Language, else the one the account prefers."""
    if request.META.get("HTTP_ACCEPT_LANGUAGE"):
        language = (translation.get_language() or "").split("-")[0]
        if language in LANGUAGES:
            return language
    return request.user.preferred_language or "kk"


def _validated(serializer_class, data, **kwargs):
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer


NOT_FOUND = OpenApiResponse(description="Not found, or not visible to you.")
CONFLICT = OpenApiResponse(description="Refused in the current state, with the reason in `detail`.")


# --------------------------------------------------------------------------- people


class PersonListApi(RegistryListApi):
    """The directory: people listed for you, with the field groups you may see."""

    serializer_class = PersonCardOutput

    @extend_schema(
        parameters=[DirectoryInput],
        responses={200: PersonCardOutput(many=True), 400: OpenApiResponse(description="An unknown code, named.")},
    )
    def get(self, request: Request) -> APIResponse:
        filters = _validated(DirectoryInput, request.query_params).validated_data
        people = selectors.directory(request.user, selectors.DirectoryFilters(**filters))
        page = self.paginate_queryset(people)
        return self.get_paginated_response([selectors.person_card(request.user, person) for person in page])


class PersonDetailApi(RegistryApi):
    @extend_schema(responses=PersonCardOutput)
    def get(self, request: Request, pk: int) -> APIResponse:
        person = selectors.person_get_for(request.user, pk)
        return APIResponse(selectors.person_card(request.user, person))


class PersonMessageApi(RegistryApi):
    @extend_schema(
        request=MessageInput,
        responses={
            201: MessageCreatedOutput,
            403: OpenApiResponse(description="The person does not accept messages, or not from you."),
        },
    )
    def post(self, request: Request, pk: int) -> APIResponse:
        """Write to a person through the platform: neither side sees the other's address."""
        person = selectors.person_get_for(request.user, pk)
        data = _validated(MessageInput, request.data).validated_data
        try:
            message = messages.message_send(sender=request.user, person=person, **data)
        except messages.MessageRefused as exc:
            raise PermissionDenied(str(exc)) from None
        return APIResponse({"id": message.pk}, status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------- the caller's own profile


def _my_person(request: Request) -> Person:
    person = selectors.person_of(request.user)
    if person is None:
        raise NotFound("You are not in the registry; POST your profile to /api/v1/registry/me/profile/ to join.")
    return person


def _my_profile(request: Request, person: Person) -> dict:
    person = selectors.person_of(request.user) or person  # fresh offers, programmes and consents
    return {
        **selectors.person_card(request.user, person),
        "status": person.status,
        "visibility": {group: person.visibility_of(group) for group in ("profile", "expertise", "location", "contact")},
        "consents": sorted(selectors.live_consents(person)),
        "stale_warned_at": person.stale_warned_at,
    }


NOT_JOINED = OpenApiResponse(description="You are not in the registry yet.")


class MyProfileApi(MeApi):
    @extend_schema(responses={200: MyProfileOutput, 404: NOT_JOINED})
    def get(self, request: Request) -> APIResponse:
        """Your registry profile, all of it, with who sees each group."""
        return APIResponse(MyProfileOutput(_my_profile(request, _my_person(request))).data)

    @extend_schema(
        request=ProfileJoinInput,
        responses={201: MyProfileOutput, 400: OpenApiResponse(description="Each bad field named, with the reason.")},
    )
    def post(self, request: Request) -> APIResponse:
        """Join the registry: a profile, its offers, who sees what, and your consents."""
        data = _validated(ProfileJoinInput, request.data)
        try:
            person = registry.person_register(
                user=request.user, data=data.to_profile(), consents=data.validated_data["consents"]
            )
        except registry.RegistryInvalid as exc:
            raise _invalid(exc) from None
        return APIResponse(MyProfileOutput(_my_profile(request, person)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ProfileIn,
        responses={
            200: MyProfileOutput,
            400: OpenApiResponse(description="Each bad field named, with the reason."),
            404: NOT_JOINED,
        },
    )
    def put(self, request: Request) -> APIResponse:
        """Replace your profile and offers (visibility: only the groups given change)."""
        person = _my_person(request)
        data = _validated(ProfileIn, request.data)
        try:
            person = registry.person_update(person=person, data=data.to_profile())
        except registry.RegistryInvalid as exc:
            raise _invalid(exc) from None
        return APIResponse(MyProfileOutput(_my_profile(request, person)).data)


class MyConfirmApi(MeApi):
    @extend_schema(request=None, responses={200: MyProfileOutput, 404: NOT_JOINED})
    def post(self, request: Request) -> APIResponse:
        """Confirm your profile is still correct (asked for once a year)."""
        person = registry.person_confirm(person=_my_person(request))
        return APIResponse(MyProfileOutput(_my_profile(request, person)).data)


class MyStatusApi(MeApi):
    @extend_schema(request=StatusInput, responses={200: MyProfileOutput, 404: NOT_JOINED})
    def post(self, request: Request) -> APIResponse:
        """Pause (hidden and not matched, nothing lost), resume, or close (consents withdrawn too)."""
        person = _my_person(request)
        data = _validated(StatusInput, request.data).validated_data
        person = registry.person_set_status(person=person, status=data["status"])
        return APIResponse(MyProfileOutput(_my_profile(request, person)).data)


class MyConsentListApi(MeApi):
    @extend_schema(responses={200: ConsentOutput(many=True), 404: NOT_JOINED})
    def get(self, request: Request) -> APIResponse:
        """Every consent you gave, live or withdrawn, with the version of the wording."""
        person = _my_person(request)
        return APIResponse(ConsentOutput(person.consents.all(), many=True).data)

    @extend_schema(request=ConsentInput, responses={201: ConsentOutput, 404: NOT_JOINED})
    def post(self, request: Request) -> APIResponse:
        """Give a consent (giving one that is live already changes nothing)."""
        person = _my_person(request)
        data = _validated(ConsentInput, request.data).validated_data
        consent = registry.consent_give(person=person, purpose=data["purpose"], source="api")
        return APIResponse(ConsentOutput(consent).data, status=status.HTTP_201_CREATED)


class MyConsentDetailApi(MeApi):
    @extend_schema(
        parameters=[OpenApiParameter("purpose", str, OpenApiParameter.PATH, enum=Consent.Purpose.values)],
        responses={204: None, 404: OpenApiResponse(description="No live consent for this purpose.")},
    )
    def delete(self, request: Request, purpose: str) -> APIResponse:
        """Withdraw a consent, whatever state your profile is in."""
        person = _my_person(request)
        if purpose not in Consent.Purpose.values:
            raise NotFound(f"{purpose!r} is not a consent purpose ({', '.join(Consent.Purpose.values)}).")
        if not registry.consent_withdraw(person=person, purpose=purpose):
            raise NotFound(f"You have no live consent for {purpose!r}.")
        return APIResponse(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------- the caller's matches


def _my_match(request: Request, pk: int) -> Match:
    match = selectors.matches_of_person(_my_person(request)).filter(pk=pk).select_related("person").first()
    if match is None:
        raise NotFound("No such offer of yours.")
    return match


def _my_match_output(request: Request, match: Match) -> dict:
    match.explanation = explain(match, language=_language(request), show_location=True)
    return MyMatchOutput(match).data


class MyMatchListApi(MeListApi):
    """Offers made to you and your engagements, newest first, each with why you were asked."""

    serializer_class = MyMatchOutput

    @extend_schema(responses={200: MyMatchOutput(many=True), 404: NOT_JOINED})
    def get(self, request: Request) -> APIResponse:
        page = self.paginate_queryset(selectors.matches_of_person(_my_person(request)))
        return self.get_paginated_response([_my_match_output(request, match) for match in page])


def _transition_schema(request_serializer=None, description: str = ""):
    return extend_schema(
        request=request_serializer,
        responses={200: MatchStatusOutput, 404: NOT_FOUND, 409: CONFLICT},
        description=description or None,
    )


def _refused(exc: lifecycle.TransitionRefused) -> Conflict:
    return Conflict(str(exc))


class MyMatchAcceptApi(MeApi):
    @_transition_schema(description="Accept an offer (refused when it expired or your capacity is used up).")
    def post(self, request: Request, pk: int) -> APIResponse:
        match = _my_match(request, pk)
        try:
            match = lifecycle.match_accept(match=match, user=request.user)
        except lifecycle.TransitionRefused as exc:
            raise _refused(exc) from None
        return APIResponse(MatchStatusOutput(match).data)


class MyMatchDeclineApi(MeApi):
    @_transition_schema(DeclineInput, "Decline an offer; the institution's next candidate is asked.")
    def post(self, request: Request, pk: int) -> APIResponse:
        match = _my_match(request, pk)
        data = _validated(DeclineInput, request.data).validated_data
        try:
            match = lifecycle.match_decline(match=match, user=request.user, reason=data["reason"])
        except lifecycle.TransitionRefused as exc:
            raise _refused(exc) from None
        return APIResponse(MatchStatusOutput(match).data)


class MyMatchFeedbackApi(MeApi):
    @_transition_schema(FeedbackInput, "Rate an active or completed engagement.")
    def post(self, request: Request, pk: int) -> APIResponse:
        match = _my_match(request, pk)
        data = _validated(FeedbackInput, request.data).validated_data
        try:
            match = lifecycle.match_expert_feedback(
                match=match, user=request.user, rating=data.get("rating"), feedback=data["feedback"]
            )
        except lifecycle.TransitionRefused as exc:
            raise _refused(exc) from None
        return APIResponse(MatchStatusOutput(match).data)


# --------------------------------------------------------------------------- the caller's inbox


class MyMessageListApi(MeListApi):
    """Messages relayed to you and notices from the platform, newest first."""

    serializer_class = InboxMessageOutput

    def get_queryset(self):
        return Message.objects.filter(recipient=self.request.user).select_related("sender")


def _my_message(request: Request, pk: int) -> Message:
    message = Message.objects.filter(recipient=request.user, pk=pk).select_related("sender", "match").first()
    if message is None:
        raise NotFound("No such message in your inbox.")
    return message


class MyMessageReadApi(MeApi):
    @extend_schema(request=None, responses={200: InboxMessageOutput, 404: NOT_FOUND})
    def post(self, request: Request, pk: int) -> APIResponse:
        """Mark a message read."""
        message = _my_message(request, pk)
        messages.message_mark_read(message=message)
        message.refresh_from_db(fields=["read_at"])
        return APIResponse(InboxMessageOutput(message).data)


class MyMessageReplyApi(MeApi):
    @extend_schema(
        request=ReplyInput,
        responses={
            201: MessageCreatedOutput,
            403: OpenApiResponse(description="A notice from the platform cannot be answered."),
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, pk: int) -> APIResponse:
        """Reply through the platform to whoever wrote."""
        original = _my_message(request, pk)
        data = _validated(ReplyInput, request.data).validated_data
        try:
            reply = messages.message_reply(sender=request.user, original=original, body=data["body"])
        except messages.MessageRefused as exc:
            raise PermissionDenied(str(exc)) from None
        return APIResponse({"id": reply.pk}, status=status.HTTP_201_CREATED)


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
        return APIResponse({"offered": lifecycle.request_offer_proposals(request=expertise_request)})


# --------------------------------------------------------------------------- matches, for institutions


def _match_for_staff(request: Request, pk: int) -> Match:
    """A match of a request you may see, whose expert is still shown with it."""
    match = (
        Match.objects.filter(
            pk=pk,
            request__in=selectors.requests_visible_to(request.user),
            person__in=selectors.people_matchable_or_engaged(),
        )
        .select_related("request__institution", "person")
        .first()
    )
    if match is None:
        raise NotFound("No such match.")
    return match


class MatchOfferApi(RegistryApi):
    @_transition_schema(description="Send a proposal to its expert.")
    def post(self, request: Request, pk: int) -> APIResponse:
        match = _match_for_staff(request, pk)
        try:
            match = lifecycle.match_offer(match=match)
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
    @extend_schema(request=None, responses={202: RunOutput})
    def post(self, request: Request) -> APIResponse:
        """Start a matching run over every open request now (it runs in the background)."""
        _require_admin(request)
        with transaction.atomic():
            run, _created = matching.matching_run_start(
                kind=MatchRun.Kind.MANUAL, key=f"manual-{uuid.uuid4()}", user=request.user
            )
            transaction.on_commit(lambda: tasks.matching_run.delay(run.pk))
        return APIResponse(RunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailApi(RegistryApi):
    @extend_schema(responses=RunOutput)
    def get(self, request: Request, pk: int) -> APIResponse:
        """A run's status and, once complete, its statistics."""
        _require_admin(request)
        run = MatchRun.objects.filter(pk=pk).first()
        if run is None:
            raise NotFound("No such run.")
        return APIResponse(RunOutput(run).data)


class MetricsApi(RegistryApi):
    @extend_schema(responses=MetricsOutput)
    def get(self, request: Request) -> APIResponse:
        """Matching outcomes over the requests you may see: acceptance, response time, coverage, load."""
        _require_admin(request)
        metrics = selectors_matching.matching_metrics(selectors.requests_visible_to(request.user))
        return APIResponse(MetricsOutput(metrics).data)
