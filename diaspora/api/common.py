"""Base views and helpers shared by the registry API modules."""

from __future__ import annotations

from django.utils import translation
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from config.parsers import SafeJSONParser

from .. import selectors
from ..serializers import MatchStatusOutput
from ..services import lifecycle, registry

LANGUAGES = ("kk", "ru", "en")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class NotResearcher(BasePermission):
    message = "Researchers work with anonymised exports; registry people and requests are not open to them."

    def has_permission(self, request, view) -> bool:
        return selectors.may_browse_registry(request.user)


class MeApi(APIView):
    """Your own profile, offers and inbox: open to anyone signed in. JSON bodies only."""

    parser_classes = [SafeJSONParser]


class MeListApi(ListAPIView):
    """A paginated list built by its get() from the selectors (they decide who sees what)."""

    parser_classes = [SafeJSONParser]

    def get_queryset(self):
        # Only the browsable API asks (for the filter form it draws from filter_backends,
        # none here): its HTML page answered 500 without this. The rows come from get().
        return []


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


def _transition_schema(request_serializer=None, description: str = ""):
    return extend_schema(
        request=request_serializer,
        responses={200: MatchStatusOutput, 404: NOT_FOUND, 409: CONFLICT},
        description=description or None,
    )


def _refused(exc: lifecycle.TransitionRefused) -> Conflict:
    return Conflict(str(exc))
