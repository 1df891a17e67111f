"""Project-wide API pieces: error shape, token login, health."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, plus a clean 503 (never a stack trace) when the database is down."""
    response = drf_exception_handler(exc, context)
    if response is None and isinstance(exc, DatabaseError) and not connection.is_usable():
        return Response(
            {"detail": "The service is temporarily unavailable."}, status=status.HTTP_503_SERVICE_UNAVAILABLE
        )
    return response


class AuthThrottle(AnonRateThrottle):
    scope = "auth"


class TokenLoginApi(ObtainAuthToken):
    """Exchange a username and password for an API token."""

    throttle_classes = [AuthThrottle]
    authentication_classes = []  # credentials are the request body; no session or token needed

    @extend_schema(
        auth=[],
        request=inline_serializer(
            "TokenLoginInput", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses=inline_serializer("TokenLoginOutput", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


def not_found(request, exception=None):
    """404 as JSON under /api/ (clients parse it), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return django_server_error(request)


def health(request):
    """Database and broker reachability, for load balancers and compose health checks."""
    from django.conf import settings

    checks = {"database": _check_database(), "broker": _check_broker(settings.REDIS_URL)}
    healthy = all(value in ("ok", "in-process") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DatabaseError as exc:
        return f"error: {type(exc).__name__}"


def _check_broker(redis_url: str) -> str:
    if not redis_url:
        return "in-process"
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        return "ok"
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"
