"""Work obligations through the API: a programme's indicators (JSON or CSV) and at-risk list for
its administrators, and a participant's own standing. Rows come from
``diaspora.selectors_obligations``; figures from ``services.obligation_indicators``, already
suppressed."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.validators import slug_re
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import administered
from config.renderers import ErrorsAsJSON

from .. import selectors_obligations as scope
from ..selectors import viewer_is_admin
from ..services.obligation_indicators import programme_indicators

__all__ = ["ObligationAtRiskApi", "ObligationIndicatorsApi", "MyObligationsApi"]


class AdministersProgrammes(BasePermission):
    message = "Returns and work obligations are for programme administrators."

    def has_permission(self, request, view) -> bool:
        return viewer_is_admin(request.user)


class IndicatorCSVRenderer(BaseRenderer):
    """One row per indicator and cohort: the rate with its numerator, denominator and window."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["programme", "indicator", "label", "cohort", "numerator", "denominator", "rate", "ci_low",
                         "ci_high", "note", "numerator_definition", "denominator_definition", "window", "threshold",
                         "as_of"])  # fmt: skip
        if not isinstance(data, dict) or "rates" not in data:
            writer.writerow([str(data)])
            return buffer.getvalue().encode("utf-8")
        for indicator in data["rates"]:
            for row in indicator["rows"]:
                writer.writerow([
                    data["programme"], indicator["code"], indicator["label"], row["cohort"], _blank(row["numerator"]),
                    _blank(row["denominator"]), _blank(row["rate"]), _blank(row["ci_low"]), _blank(row["ci_high"]),
                    row["note"], indicator["numerator"], indicator["denominator"], indicator["window"],
                    data["threshold"], data["as_of"],
                ])  # fmt: skip
        return buffer.getvalue().encode("utf-8")


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _programme(request: Request):
    slug = request.query_params.get("programme", "")
    if slug and not slug_re.fullmatch(slug):
        raise Http404("No such programme (or not one you administer).")
    programmes = administered(request.user).order_by("slug")
    programme = programmes.filter(slug=slug).first() if slug else programmes.first()
    if programme is None:
        raise Http404("No such programme (or not one you administer).")
    return programme


PROGRAMME = OpenApiParameter("programme", OpenApiTypes.STR, description="Programme slug (default: your first)")
INDICATORS = inline_serializer(
    "ObligationIndicators",
    {
        "programme": serializers.CharField(),
        "as_of": serializers.DateField(),
        "threshold": serializers.IntegerField(),
        "participants": serializers.IntegerField(),
        "rates": serializers.JSONField(),
        "curves": serializers.JSONField(),
    },
)


class ObligationIndicatorsApi(ErrorsAsJSON, APIView):
    """Return, fulfilment, retention and knowledge rates by cohort, with numerators, denominators and
    windows, small cells suppressed; and Kaplan-Meier curves of the cohorts still in their window."""

    permission_classes = [IsAuthenticated, AdministersProgrammes]
    renderer_classes = [JSONRenderer, IndicatorCSVRenderer]

    @extend_schema(
        parameters=[PROGRAMME, OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"])],
        responses={200: INDICATORS, 404: OpenApiResponse(description="No such programme (or not yours).")},
        tags=["obligations"],
    )
    def get(self, request: Request) -> Response:
        programme = _programme(request)
        figures = programme_indicators(scope.participations_administered(request.user).filter(programme=programme))
        return Response({
            "programme": programme.slug, "as_of": figures["on"], "threshold": figures["threshold"],
            "participants": figures["participants"], "rates": [r.as_dict() for r in figures["rates"]],
            "curves": [c.__dict__ for c in figures["curves"]],
        })  # fmt: skip


PARTICIPATION_FIELDS = (
    "ObligationStanding",
    {
        "id": serializers.IntegerField(),
        "programme": serializers.CharField(),
        "external_id": serializers.CharField(),
        "full_name": serializers.CharField(),
        "cohort": serializers.IntegerField(),
        "status": serializers.CharField(),
        "status_reason": serializers.CharField(),
        "months_served": serializers.DecimalField(max_digits=6, decimal_places=2),
        "months_required": serializers.IntegerField(),
        "months_owed": serializers.DecimalField(max_digits=6, decimal_places=2),
        "window_end": serializers.DateField(allow_null=True),
        "deadline": serializers.DateField(allow_null=True),
        "basis_tier": serializers.IntegerField(),
        "at_risk": serializers.BooleanField(),
        "risks": serializers.ListField(child=serializers.CharField()),
    },
)


def standing_data(p) -> dict[str, Any]:
    return {
        "id": p.pk, "programme": p.programme.slug, "external_id": p.external_id, "full_name": p.full_name,
        "cohort": p.cohort, "status": p.status, "status_reason": p.status_reason, "months_served": p.months_served,
        "months_required": p.rule.months_required, "months_owed": p.months_owed, "window_end": p.window_end,
        "deadline": p.deadline, "basis_tier": p.basis_tier, "at_risk": p.at_risk, "risks": p.risks,
    }  # fmt: skip


class ObligationAtRiskApi(APIView):
    """Participants at risk: the rest of their window cannot cover the months owed, they are not back
    after the grace period, or no verified episode is on record for the months set."""

    permission_classes = [IsAuthenticated, AdministersProgrammes]

    @extend_schema(
        parameters=[PROGRAMME],
        responses={
            200: inline_serializer(*PARTICIPATION_FIELDS, many=True),
            404: OpenApiResponse(description="Not yours."),
        },
        tags=["obligations"],
    )
    def get(self, request: Request) -> Response:
        programme = _programme(request)
        rows = scope.participations_at_risk(request.user, programme.pk)[:1000]
        return Response([standing_data(p) for p in rows])


class MyObligationsApi(APIView):
    """Your own work obligations, with where each stands."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: inline_serializer(*PARTICIPATION_FIELDS, many=True)}, tags=["obligations"])
    def get(self, request: Request) -> Response:
        return Response([standing_data(p) for p in scope.participations_own(request.user)])
