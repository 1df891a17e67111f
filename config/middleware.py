"""Requests refused before any view: text that no database column can hold."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class RejectNulCharacters:
    """A NUL character in the path or the query string answers 400.

    PostgreSQL text cannot hold NUL, so a query parameter carrying one, passed on to a filter,
    made the database refuse the query and the view answer 500. No address or parameter of
    the platform has a use for it; refusing it here covers every view, present and future.
    (Bodies are checked by the JSON parser and the forms; cookies by config/sessions.py.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.GET.items()):
            message = "The address or one of its parameters contains a NUL character."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
