"""The registry API: the directory, people, and the caller's own profile, matches and inbox."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response as APIResponse

from .. import selectors
from ..explanations import explain
from ..models import Consent, Match, Message, Person
from ..serializers import (
    ConsentInput,
    ConsentOutput,
    DeclineInput,
    DirectoryInput,
    FeedbackInput,
    InboxMessageOutput,
    MatchStatusOutput,
    MessageCreatedOutput,
    MessageInput,
    MyMatchOutput,
    MyProfileOutput,
    PersonCardOutput,
    ProfileIn,
    ProfileJoinInput,
    ReplyInput,
    StatusInput,
)
from ..services import lifecycle, messages, registry
from .common import (
    NOT_FOUND,
    MeApi,
    MeListApi,
    RegistryApi,
    RegistryListApi,
    _invalid,
    _language,
    _refused,
    _transition_schema,
    _validated,
)

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
        return selectors.inbox_of(self.request.user)


def _my_message(request: Request, pk: int) -> Message:
    return selectors.message_get_for(request.user, pk, received_only=True)


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
