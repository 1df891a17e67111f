"""Project-wide API pieces: error shape, token login, health."""

import logging
import re
import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.models import Count
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError

from accounts.audit import audit_record
from accounts.lockout import locked_out


class TokenLoginApi(ObtainAuthToken):
    """Exchange a username and password for an API token."""

    # Wrong passwords are counted by the sign-in lockout (accounts/lockout.py), by account and
    # address; the per-address API throttle still applies to this anonymous endpoint.
    authentication_classes = []  # credentials are the request body; no session or token needed

    @extend_schema(
        auth=[],
        request=inline_serializer(
            "TokenLoginInput", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses={
            200: inline_serializer("TokenLoginOutput", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="The username and password do not match an account."),
            429: OpenApiResponse(description="Too many failed sign-ins for this account from this address."),
        },
    )
    def post(self, request, *args, **kwargs):
        try:
            answer = super().post(request, *args, **kwargs)
        except ValidationError:
            # The lockout marks the request it was given (DRF's), which axes' middleware
            # does not see: answer the pause here, as the pages do.
            if getattr(request, "axes_locked_out", False):
                return locked_out(request._request, None, getattr(request, "axes_credentials", None))
            raise
        user = Token.objects.select_related("user").get(key=answer.data["token"]).user
        audit_record(actor=user, action="login.token", target=user, programme_id=None, detail={"path": request.path})
        return answer


# get_object_or_404's message names a model ("No Person matches the given query."): never shown.
_MODEL_MESSAGE = re.compile(r"^No \w+ matches the given query\.?$")
log = logging.getLogger(__name__)


def _shown_message(exception: Exception | None) -> str:
    """A 404's own message when a page wrote one for people (an invalid link), never the resolver's."""
    if exception is None or isinstance(exception, Resolver404) or not exception.args:
        return ""
    message = exception.args[0]
    return message if isinstance(message, str) and not _MODEL_MESSAGE.match(message) else ""


def not_found(request, exception=None):
    """404 as JSON under /api/ (clients parse it), the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", {"message": _shown_message(exception)}, status=404)


def forbidden(request, exception=None):
    """403 as JSON under /api/, the site's page elsewhere (with the way to sign in as someone else)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
    return render(request, "403.html", {}, status=403)


# How soon a client may try again after a 503: a database restart or fail-over takes seconds.
RETRY_AFTER_SECONDS = 5


def server_error(request):
    """500: no database and no request context needed (the error may be the database itself).

    The one place that answers a database that cannot be reached (stopped, restarting, a
    connection cut): a 503 with Retry-After, whether the error rose in a view, an API view
    (DRF raises it on) or a middleware (the session or the user read before any view).
    Django calls this handler inside its `except` block, so the error is sys.exc_info()'s."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return _unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    try:
        return HttpResponseServerError(loader.get_template("500.html").render({}))
    except Exception:  # the page of last resort must not fail
        log.exception("The 500 page could not be rendered")
        return HttpResponse("Server error (500)", content_type="text/plain", status=500)


def _unavailable(request) -> HttpResponse:
    """503: a short JSON error under /api/, the site's page elsewhere; rendered without the
    database and without request context (no user, no session)."""
    if request.path.startswith("/api/"):
        answer = JsonResponse({"detail": "The service is temporarily unavailable; try again shortly."}, status=503)
    else:
        try:
            answer = HttpResponse(loader.get_template("503.html").render({}), status=503)
        except Exception:  # the page of last resort must not fail
            log.exception("The 503 page could not be rendered")
            answer = HttpResponse("Temporarily unavailable (503)", content_type="text/plain", status=503)
    answer["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return answer


def health(request):
    """Database and broker reachability (503 when either is down: for load balancers and
    compose health checks), and whether workers keep up: the work waiting for a worker and
    the age of the oldest (`workers` is "behind" past HEALTH_JOB_WAIT_SECONDS; a process can
    be alive while its worker consumes nothing, so progress is what is reported)."""
    from django.conf import settings

    checks = {"database": _check_database(), "broker": _check_broker(settings.REDIS_URL)}
    healthy = all(value in ("ok", "in-process") for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks}
    if checks["database"] == "ok":
        waiting, oldest = _waiting_jobs()
        body["jobs"] = {"waiting": waiting, "oldest_waiting_seconds": oldest}
        body["workers"] = "behind" if oldest is not None and oldest > settings.HEALTH_JOB_WAIT_SECONDS else "ok"
    return JsonResponse(body, status=200 if healthy else 503)


def _waiting_jobs() -> tuple[int, int | None]:
    """Job rows a worker should have taken: queued, or running with an expired lease (their
    worker died), in every job table (config.jobs.Job)."""
    from django.apps import apps
    from django.db.models import Min, Q
    from django.utils import timezone

    from .jobs import Job

    now = timezone.now()
    waiting, first = 0, None
    queries = []
    for model in apps.get_models():
        if issubclass(model, Job):
            stuck = Q(status=model.Status.RUNNING, lease_until__lt=now)  # each table's own status words
            queries.append(model.objects.filter(Q(status=model.Status.QUEUED) | stuck))
    for rows in queries:
        found = rows.aggregate(n=Count("pk"), first=Min("created_at"))
        waiting += found["n"]
        if found["first"] is not None and (first is None or found["first"] < first):
            first = found["first"]
    return waiting, None if first is None else int((now - first).total_seconds())


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
