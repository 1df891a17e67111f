"""Requests refused before any view: text that no database column can hold."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class RejectNulCharacters:
    """A NUL character in an API address or its query string answers 400.

    PostgreSQL text cannot hold NUL, so a query parameter carrying one, passed on to a filter,
    made the database refuse the query and the view answer 500. No API parameter has a use
    for it; refusing it here covers every API view, present and future. (Pages keep their
    forms' own answer, a filter that matches nothing; bodies are checked by the JSON parser
    and the forms, cookies by config/sessions.py.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and (
            "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.GET.items())
        ):
            return JsonResponse(
                {"detail": "The address or one of its parameters contains a NUL character."}, status=400
            )
        return self.get_response(request)
