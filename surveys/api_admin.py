"""Thin API views for programme administrators: panels and their imports, wave exports.

Every object is looked up through ``selectors_admin``, which scopes it to the
user's programmes: someone else's panel, wave or export is a 404. Users who
administer nothing (respondents, researchers) get a 403.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response as APIResponse
from rest_framework.views import APIView

from accounts.scoping import is_programme_admin

from . import selectors_admin
from .models import ExportJob, Panel, PanelImport
from .serializers import LANGUAGE_CHOICES
from .services.exports import export_request
from .services.panels import PanelImportError, panel_import


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _require_admin(request: Request) -> None:
    if not is_programme_admin(request.user):
        raise PermissionDenied("Only programme administrators can do this.")


# --------------------------------------------------------------------------- shapes


class PanelOutput(serializers.ModelSerializer):
    programme = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    member_count = serializers.IntegerField()

    class Meta:
        model = Panel
        fields = ["slug", "name", "description", "programme", "member_count", "created_at"]


class PanelImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="A .csv or .xlsx file; the first row names the columns.")


class PanelImportRowOutput(serializers.Serializer):
    row = serializers.IntegerField(help_text="Spreadsheet row number (the header is row 1).")
    email = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=["skipped", "updated", "ignored"])
    reason = serializers.CharField()


class PanelImportOutput(serializers.ModelSerializer):
    panel = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    report = PanelImportRowOutput(many=True, help_text="Every row not simply added, with the reason.")

    class Meta:
        model = PanelImport
        fields = ["id", "panel", "filename", "added", "updated", "skipped", "report", "created_at"]


class ExportInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=ExportJob.Format.choices)
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, default="en", help_text="Language of labels.")


class ExportOutput(serializers.ModelSerializer):
    wave = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "wave",
            "format",
            "language",
            "status",
            "progress",
            "row_count",
            "error",
            "download_url",
            "created_at",
            "finished_at",
        ]

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.COMPLETE:
            return None
        return reverse("export-download", args=[job.pk])


# --------------------------------------------------------------------------- panels


class PanelListApi(ListAPIView):
    """Panels of the programmes you administer, with their number of members."""

    serializer_class = PanelOutput

    def get_queryset(self):
        _require_admin(self.request)
        return selectors_admin.panels_visible_to(self.request.user)


class PanelImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=PanelImportInput,
        responses={
            201: PanelImportOutput,
            400: OpenApiResponse(description="The file cannot be imported (type, encoding, no email column)."),
        },
    )
    def post(self, request: Request, slug: str) -> APIResponse:
        """Import respondents from a CSV or XLSX file into the panel; invalid rows are reported, not fatal."""
        _require_admin(request)
        panel = selectors_admin.panel_get(request.user, slug)
        data = PanelImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE * 4:
            raise ValidationError({"file": ["The file is too large."]})
        try:
            result = panel_import(
                panel=panel, data=upload.read(), filename=upload.name or "panel.csv", user=request.user
            )
        except PanelImportError as exc:
            raise ValidationError({"file": [str(exc)]}) from None
        return APIResponse(PanelImportOutput(result).data, status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------- exports


class WaveExportApi(APIView):
    @extend_schema(
        request=ExportInput,
        responses={
            202: OpenApiResponse(ExportOutput, description="A new export job, built in the background."),
            200: OpenApiResponse(ExportOutput, description="An export of the same, unchanged responses."),
        },
    )
    def post(self, request: Request, slug: str) -> APIResponse:
        """Export the wave's responses (CSV, XLSX or SPSS) with labels in the chosen language."""
        _require_admin(request)
        wave = selectors_admin.wave_get_for_admin(request.user, slug)
        data = ExportInput(data=request.data)
        data.is_valid(raise_exception=True)
        job, created = export_request(wave=wave, user=request.user, **data.validated_data)
        job.refresh_from_db()
        code = status.HTTP_202_ACCEPTED if created or job.status != ExportJob.Status.COMPLETE else status.HTTP_200_OK
        return APIResponse(ExportOutput(job).data, status=code)


class ExportDetailApi(APIView):
    @extend_schema(responses=ExportOutput)
    def get(self, request: Request, pk: int) -> APIResponse:
        """An export's status and progress (percent)."""
        _require_admin(request)
        return APIResponse(ExportOutput(selectors_admin.export_get(request.user, pk)).data)


class ExportDownloadApi(APIView):
    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The export is not complete yet (or failed)."),
        }
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        """The exported file."""
        _require_admin(request)
        job = selectors_admin.export_get(request.user, pk)
        if job.status != ExportJob.Status.COMPLETE or not job.file:
            raise Conflict(f"The export is not complete (status: {job.status}).")
        name = f"{job.wave.slug}-{job.language}.{job.format}"
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=name)
