"""Views that answer in other formats than JSON (CSV downloads) still answer errors in JSON."""

from __future__ import annotations

from rest_framework.renderers import JSONRenderer


class ErrorsAsJSON:
    """A mixin for an APIView with a CSV renderer: a refusal or a bad request asked for as CSV
    would otherwise be written as CSV (a "detail" row), which neither the schema nor a client
    expects. Errors are documented as JSON; they are rendered as JSON."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response
