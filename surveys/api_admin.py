"""Thin API views for programme administrators: panels and their imports, wave exports, waves and their invitations.

Every object is looked up through ``selectors_admin``, which scopes it to the
user's programmes: someone else's panel, wave or export is a 404. Users who
administer nothing (respondents, researchers) get a 403.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
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

from . import selectors_admin, selectors_fieldwork
from .models import ExportJob, InvitationSendJob, Panel, PanelImport, Quota, Wave
from .serializers import LANGUAGE_CHOICES
from .services.exports import export_audit, export_request
from .services.panels import PanelImportError, panel_import
from .services.waves import (
    PLACEHOLDERS,
    QuotaSpec,
    SendRefused,
    WaveInvalid,
    WaveSpec,
    wave_create,
    wave_invitations_send,
    wave_spec_of,
    wave_update,
)


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
        export_audit(job=job, user=request.user, action="export.downloaded")
        suffix = ".zip" if job.file.name.endswith(".zip") else f".{job.format}"  # repeats: a file per table
        name = f"{job.wave.slug}-{job.language}{suffix}"
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=name)


# --------------------------------------------------------------------------- waves (fieldwork)


class QuotaInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    cap = serializers.IntegerField(min_value=1)
    conditions = serializers.DictField(help_text='Question name -> answer code, e.g. {"country_residence": "DEU"}.')


class WaveInput(serializers.Serializer):
    """A wave's settings. On PATCH every field is optional and only those given change."""

    survey = serializers.SlugField(help_text="The survey's slug.")
    version = serializers.IntegerField(min_value=1, help_text="The number of a published version of that survey.")
    name = serializers.CharField(max_length=200)
    names = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=200),
        required=False,
        help_text='The name per language, {"kk": "...", "ru": "...", "en": "..."}; `name` where one is missing.',
    )
    slug = serializers.SlugField(max_length=80, required=False, help_text="Made from the name when not given.")
    panel = serializers.SlugField(required=False, allow_null=True, help_text="The slug of the panel to invite.")
    is_public = serializers.BooleanField(required=False, default=False)
    opens_at = serializers.DateTimeField(required=False)
    closes_at = serializers.DateTimeField(required=False, allow_null=True)
    reminder_days = serializers.ListField(child=serializers.IntegerField(), required=False)
    send_rate_per_minute = serializers.IntegerField(required=False)
    prefill_fields = serializers.ListField(child=serializers.CharField(), required=False)
    email_templates = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False)),
        required=False,
        help_text='Per language: {"kk": {"subject": "...", "body": "...", "reminder_subject": "...", '
        '"reminder_body": "..."}}; a language without them gets the platform\'s letters. Placeholders: '
        + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        + ".",
    )
    quotas = QuotaInput(many=True, required=False, help_text="Replaces the wave's quotas (matched by name).")


class QuotaOutput(serializers.ModelSerializer):
    class Meta:
        model = Quota
        fields = ["name", "cap", "conditions", "closed_at"]


class WaveOutput(serializers.ModelSerializer):
    survey = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version = serializers.IntegerField(source="version.number")
    panel = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    public_link = serializers.SerializerMethodField()
    quotas = QuotaOutput(many=True, read_only=True)

    class Meta:
        model = Wave
        fields = [
            "slug",
            "name",
            "names",
            "survey",
            "version",
            "panel",
            "is_public",
            "public_link",
            "opens_at",
            "closes_at",
            "reminder_days",
            "send_rate_per_minute",
            "prefill_fields",
            "email_templates",
            "quotas",
            "created_at",
        ]

    def get_public_link(self, wave: Wave) -> str | None:
        return f"{settings.SITE_URL}{reverse('respondent-start', args=[wave.slug])}" if wave.is_public else None


class InvitationSendOutput(serializers.ModelSerializer):
    wave = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = InvitationSendJob
        fields = [
            "id",
            "wave",
            "status",
            "progress",
            "members",
            "invited",
            "already_invited",
            "opted_out",
            "emails",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


def _wave_spec(request: Request, data: dict, wave: Wave | None) -> WaveSpec:
    """The spec the input asks for: the wave's own settings with the given fields changed."""
    spec = wave_spec_of(wave) if wave is not None else WaveSpec(name="", version=None, opens_at=timezone.now())
    if "survey" in data or "version" in data:
        survey = data.get("survey") or wave.survey.slug
        number = data.get("version") or wave.version.number
        spec.version = (
            selectors_fieldwork.versions_fieldable_by(request.user).filter(survey__slug=survey, number=number).first()
        )
        if spec.version is None:
            raise ValidationError({"version": [f"No published version {number} of a survey {survey} you administer."]})
    if "panel" in data:
        spec.panel = None
        if data["panel"]:
            spec.panel = selectors_admin.panels_visible_to(request.user).filter(slug=data["panel"]).first()
            if spec.panel is None:
                raise ValidationError({"panel": [f"No panel {data['panel']} in the programmes you administer."]})
    for name in (
        "name", "names", "slug", "is_public", "opens_at", "closes_at", "reminder_days", "send_rate_per_minute", "prefill_fields",
        "email_templates",
    ):  # fmt: skip
        if name in data:
            setattr(spec, name, data[name])
    if "quotas" in data:
        spec.quotas = [QuotaSpec(**quota) for quota in data["quotas"]]
    return spec


class WaveCreateApi(APIView):
    @extend_schema(request=WaveInput, responses={201: WaveOutput, 400: OpenApiResponse(description="What is wrong.")})
    def post(self, request: Request) -> APIResponse:
        """Create a wave of a published version: a panel to invite and/or a public link, dates, reminders, letters."""
        _require_admin(request)
        data = WaveInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            wave = wave_create(user=request.user, spec=_wave_spec(request, data.validated_data, None))
        except WaveInvalid as exc:
            raise ValidationError(exc.errors) from None
        return APIResponse(WaveOutput(wave).data, status=status.HTTP_201_CREATED)


class WaveDetailApi(APIView):
    @extend_schema(responses=WaveOutput)
    def get(self, request: Request, slug: str) -> APIResponse:
        """A wave's settings, with its public link when it has one."""
        _require_admin(request)
        return APIResponse(WaveOutput(selectors_fieldwork.wave_for_settings(request.user, slug)).data)

    @extend_schema(request=WaveInput, responses={200: WaveOutput, 400: OpenApiResponse(description="What is wrong.")})
    def patch(self, request: Request, slug: str) -> APIResponse:
        """Change a wave's settings (only the fields given)."""
        _require_admin(request)
        wave = selectors_fieldwork.wave_for_settings(request.user, slug)
        data = WaveInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            wave = wave_update(user=request.user, wave=wave, spec=_wave_spec(request, data.validated_data, wave))
        except WaveInvalid as exc:
            raise ValidationError(exc.errors) from None
        return APIResponse(WaveOutput(wave).data)


class WaveInvitationSendApi(APIView):
    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(InvitationSendOutput, description="A new run, queued."),
            200: OpenApiResponse(InvitationSendOutput, description="The run already queued or running."),
            409: OpenApiResponse(description="The wave has no panel or is closed."),
        },
    )
    def post(self, request: Request, slug: str) -> APIResponse:
        """Invite every member of the wave's panel not invited yet; their letters go out at the wave's pace."""
        _require_admin(request)
        wave = selectors_fieldwork.wave_for_settings(request.user, slug)
        try:
            job, created = wave_invitations_send(wave=wave, user=request.user)
        except SendRefused as exc:
            raise Conflict(str(exc)) from None
        job.refresh_from_db()
        return APIResponse(InvitationSendOutput(job).data, status=202 if created else 200)


class InvitationSendDetailApi(APIView):
    @extend_schema(responses=InvitationSendOutput)
    def get(self, request: Request, pk: int) -> APIResponse:
        """A "send invitations" run: status, progress (percent) and what it did."""
        _require_admin(request)
        return APIResponse(InvitationSendOutput(selectors_fieldwork.send_job_get(request.user, pk)).data)
