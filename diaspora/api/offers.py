"""Offering a request to one expert from its top 20: the same service as the request's page."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response as APIResponse

from .. import selectors
from ..serializers import Integer, Text
from ..services import lifecycle
from ..services.messages import OFFER_NOTE_MAX, MessageRefused, offer_note_clean
from .common import CONFLICT, NOT_FOUND, RegistryApi, _refused, _validated

__all__ = ["RequestOfferApi", "RequestOfferPreviewApi"]


class OfferInput(serializers.Serializer):
    person = Integer(min_value=1, help_text="The expert's id, as the request's top list gives it.")
    note = Text(
        max_length=OFFER_NOTE_MAX + 200,  # the service counts after normalising line breaks
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text=f"A personal note, plain text, at most {OFFER_NOTE_MAX} characters.",
    )

    def validate_note(self, value: str) -> str:
        try:
            return offer_note_clean(value)
        except MessageRefused as exc:
            raise serializers.ValidationError(str(exc)) from None


@extend_schema_serializer(component_name="RequestOfferOutput")
class OfferOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The match: follow it under the request's matches.")
    status = serializers.CharField()
    sent = serializers.BooleanField(help_text="False when the expert had been offered the request already.")


class OfferPreviewOutput(serializers.Serializer):
    subject = serializers.CharField()
    body = serializers.CharField()
    language = serializers.CharField(help_text="The expert's language, which the message is written in.")


class RequestOfferApi(RegistryApi):
    @extend_schema(
        request=OfferInput,
        responses={
            201: OfferOutput,
            200: OpenApiResponse(OfferOutput, description="Offered already: nothing was sent again."),
            400: OpenApiResponse(description="Each bad field named, with the reason."),
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    def post(self, request: Request, pk: int) -> APIResponse:
        """Offer the request to one expert now, with an optional note: consent, visibility, capacity
        and the request's free places are checked again; an expert is offered a request once."""
        expertise_request = selectors.request_get_for(request.user, pk)
        data = _validated(OfferInput, request.data).validated_data
        try:
            made = lifecycle.request_offer_person(
                request=expertise_request, person_id=data["person"], user=request.user, note=data["note"]
            )
        except lifecycle.TransitionRefused as exc:
            raise _refused(exc) from None
        body = {"id": made.match.pk, "status": made.match.status, "sent": made.sent}
        return APIResponse(OfferOutput(body).data, status=status.HTTP_201_CREATED if made.sent else status.HTTP_200_OK)


class RequestOfferPreviewApi(RegistryApi):
    @extend_schema(
        request=OfferInput,
        responses={
            200: OfferPreviewOutput,
            400: OpenApiResponse(description="Each bad field named, with the reason."),
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    def post(self, request: Request, pk: int) -> APIResponse:
        """The message an offer would send now, exactly (subject and body in the expert's language)."""
        expertise_request = selectors.request_get_for(request.user, pk)
        data = _validated(OfferInput, request.data).validated_data
        try:
            draft = lifecycle.offer_preview(
                request=expertise_request, person_id=data["person"], user=request.user, note=data["note"]
            )
        except lifecycle.TransitionRefused as exc:
            raise _refused(exc) from None
        return APIResponse(OfferPreviewOutput(draft).data)
