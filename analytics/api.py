"""The analytics API: published indicator tables (JSON or CSV), aggregation jobs, monitoring figures.

Every table comes from the selectors already suppressed for the caller's audience; the
unsuppressed cells are never serialised. Recomputing goes through the same service as
the page button and the nightly task.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.renderers import ErrorsAsJSON

from . import monitoring, selectors
from .models import AggregationJob
from .services.aggregation import aggregation_request


class MaySeeAnalysis(BasePermission):
    message = "Survey analysis is for programme administrators and researchers."

    def has_permission(self, request, view) -> bool:
        return selectors.may_see_analysis(request.user)


class MayRecompute(BasePermission):
    message = "Only programme administrators recompute a wave's figures."

    def has_permission(self, request, view) -> bool:
        return selectors.may_recompute(request.user)


class CSVRenderer(BaseRenderer):
    """Published cells as CSV, one row per cell (suppressed cells empty, flagged)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data if isinstance(data, list) else [data]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        header = [
            "wave", "indicator", "breakdown", "weighting", "group", "category", "n", "estimate", "ci_low", "ci_high",
            "n_eff", "deff", "suppressed", "threshold", "n_table", "n_eff_table",
        ]  # fmt: skip
        writer.writerow(header)
        for table in rows:
            if not isinstance(table, dict) or "cells" not in table:
                writer.writerow([str(table)])
                continue
            for cell in table["cells"]:
                writer.writerow(
                    [
                        table["wave"], table["indicator"], table["breakdown"], table["weighting"],
                        cell.get("group"), cell.get("col"), _blank(cell.get("n")), _blank(cell.get("estimate")),
                        _blank(cell.get("ci_low")), _blank(cell.get("ci_high")), _blank(cell.get("n_eff")),
                        _blank(cell.get("deff")), int(bool(cell.get("suppressed"))), table.get("threshold"),
                        table["meta"].get("n"), _blank(table["meta"].get("n_eff")),
                    ]
                )  # fmt: skip
        return buffer.getvalue().encode("utf-8")


def _blank(value: Any) -> Any:
    return "" if value is None else value


WAVE_FIELDS = (
    "AnalysisWave",
    {
        "slug": serializers.CharField(),
        "name": serializers.CharField(),
        "survey": serializers.CharField(),
        "programme": serializers.CharField(allow_null=True),
        "complete_responses": serializers.IntegerField(),
        "synthetic": serializers.BooleanField(),
        "last_job": serializers.JSONField(allow_null=True),
    },
)
TABLE_FIELDS = (
    "IndicatorTableOutput",
    {
        "wave": serializers.CharField(),
        "survey": serializers.CharField(),
        "indicator": serializers.CharField(),
        "breakdown": serializers.CharField(),
        "weighting": serializers.CharField(),
        "kind": serializers.CharField(),
        "label": serializers.JSONField(),
        "computed_at": serializers.DateTimeField(),
        "threshold": serializers.IntegerField(allow_null=True),
        "cells": serializers.JSONField(),
        "margins": serializers.JSONField(),
        "official": serializers.JSONField(),
        "suppressed": serializers.JSONField(),
        "meta": serializers.JSONField(),
    },
)
JobOutput = inline_serializer(
    "AggregationJobOutput",
    {
        "id": serializers.IntegerField(),
        "wave": serializers.CharField(),
        "status": serializers.CharField(),
        "progress": serializers.IntegerField(),
        "step": serializers.CharField(),
        "error": serializers.CharField(),
        "trigger": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "finished_at": serializers.DateTimeField(allow_null=True),
        "frame_rows": serializers.IntegerField(),
        "frame_mode": serializers.CharField(),
        "tables_written": serializers.IntegerField(),
        "tables_unchanged": serializers.IntegerField(),
        "report": serializers.JSONField(),
    },
)


def job_data(job: AggregationJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "wave": job.wave.slug,
        "status": job.status,
        "progress": job.progress,
        "step": job.step,
        "error": job.error,
        "trigger": job.trigger,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "frame_rows": job.frame_rows,
        "frame_mode": job.frame_mode,
        "tables_written": job.tables_written,
        "tables_unchanged": job.tables_unchanged,
        "report": job.report,
    }


class WaveListApi(APIView):
    """Waves whose analysis you may read."""

    permission_classes = [IsAuthenticated, MaySeeAnalysis]

    @extend_schema(responses={200: inline_serializer(*WAVE_FIELDS, many=True)}, tags=["analytics"])
    def get(self, request: Request) -> Response:
        out = []
        for item in selectors.analysis_overview(request.user):
            wave, job = item["wave"], item["job"]
            out.append(
                {
                    "slug": wave.slug,
                    "name": wave.name,
                    "survey": wave.survey.slug,
                    "programme": wave.survey.programme.slug if wave.survey.programme else None,
                    "complete_responses": wave.complete,
                    "synthetic": item["synthetic"],
                    "last_job": job_data(job) if job else None,
                }
            )
        return Response(out)


class WaveTablesApi(ErrorsAsJSON, APIView):
    """A wave's published indicator tables (after small-cell suppression for your audience)."""

    permission_classes = [IsAuthenticated, MaySeeAnalysis]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("indicator", OpenApiTypes.STR, description="e.g. return_intention, barriers"),
            OpenApiParameter("breakdown", OpenApiTypes.STR, description="all, country:bns-cis, field_of_study, ..."),
            OpenApiParameter("weighting", OpenApiTypes.STR, enum=["none", "raked"]),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
        ],
        responses={
            200: inline_serializer(*TABLE_FIELDS, many=True),
            404: OpenApiResponse(description="No such wave (or not yours)."),
        },
        tags=["analytics"],
    )
    def get(self, request: Request, slug: str) -> Response:
        wave = selectors.analysis_wave_get(request.user, slug)
        tables = selectors.wave_tables(
            request.user,
            wave,
            indicator=request.query_params.get("indicator", ""),
            breakdown=request.query_params.get("breakdown", ""),
            weighting=request.query_params.get("weighting", ""),
        )
        return Response(tables)


class WaveJobsApi(APIView):
    """Ask for a wave's figures to be recomputed (202 with the job; the running one if there is one)."""

    permission_classes = [IsAuthenticated, MayRecompute]

    @extend_schema(
        request=None,
        responses={202: JobOutput, 404: OpenApiResponse(description="No such wave (or not yours).")},
        tags=["analytics"],
    )
    def post(self, request: Request, slug: str) -> Response:
        wave = selectors.analysis_wave_get(request.user, slug)
        job = aggregation_request(wave, user=request.user)
        job.refresh_from_db()
        return Response(job_data(job), status=status.HTTP_202_ACCEPTED)


class JobDetailApi(APIView):
    """One aggregation job: status, progress, and its report once done."""

    permission_classes = [IsAuthenticated, MaySeeAnalysis]

    @extend_schema(responses={200: JobOutput, 404: OpenApiResponse(description="No such job.")}, tags=["analytics"])
    def get(self, request: Request, pk: int) -> Response:
        return Response(job_data(selectors.job_get(request.user, pk)))


class MonitoringApi(APIView):
    """The figures of one monitoring page (gain, train, circulation, linkage) with sources."""

    permission_classes = [IsAuthenticated, MaySeeAnalysis]

    @extend_schema(
        responses={
            200: inline_serializer(
                "MonitoringOutput",
                {
                    "pillar": serializers.CharField(),
                    "facts": serializers.JSONField(),
                    "figures": serializers.JSONField(),
                },
            ),
            404: OpenApiResponse(description="No such pillar."),
        },
        tags=["analytics"],
    )
    def get(self, request: Request, pillar: str) -> Response:
        if pillar not in monitoring.PILLARS:
            return Response({"detail": "No such pillar."}, status=status.HTTP_404_NOT_FOUND)
        language = (get_language() or "en").split("-")[0]
        figures, facts = monitoring.pillar_figures(request.user, pillar, language)
        return Response({"pillar": pillar, "facts": facts, "figures": [f.as_dict() for f in figures]})
