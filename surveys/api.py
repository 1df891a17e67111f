"""Thin API views: validate input, call a service or selector, serialize."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response as APIResponse
from rest_framework.views import APIView

from accounts.scoping import administered

from . import selectors, services
from .serializers import (
    ImportInput,
    ImportOutput,
    PublishOutput,
    ResponseInput,
    ResponseOutput,
    ResponseUpdateInput,
    SurveyOutput,
    VersionDetailOutput,
    VersionOutput,
    response_output,
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _refused(exc: services.SubmissionRefused) -> APIResponse:
    """The wave's reason, in the respondent's language: 403 (closed, invitation only) or 409 (quota, answered)."""
    return APIResponse({"detail": exc.reason, "code": exc.code}, status=exc.http_status)


def _require_designer(request: Request) -> None:
    if not request.user.can_design_surveys:
        raise PermissionDenied("Only programme administrators can import or publish survey versions.")


class SurveyListApi(ListAPIView):
    serializer_class = SurveyOutput

    def get_queryset(self):
        return selectors.surveys_visible_to(self.request.user)


class SurveyDetailApi(APIView):
    @extend_schema(responses=SurveyOutput)
    def get(self, request: Request, slug: str) -> APIResponse:
        return APIResponse(SurveyOutput(selectors.survey_get(request.user, slug)).data)


class VersionListApi(ListAPIView):
    serializer_class = VersionOutput

    def get_queryset(self):
        survey = selectors.survey_get(self.request.user, self.kwargs["slug"])
        return selectors.versions_visible_to(self.request.user, survey)


class VersionDetailApi(APIView):
    @extend_schema(responses=VersionDetailOutput)
    def get(self, request: Request, slug: str, number: int) -> APIResponse:
        survey = selectors.survey_get(request.user, slug)
        return APIResponse(VersionDetailOutput(selectors.version_get(request.user, survey, number)).data)


class VersionPublishApi(APIView):
    @extend_schema(
        request=None, responses={200: PublishOutput, 409: OpenApiResponse(description="Refused, with reasons")}
    )
    def post(self, request: Request, slug: str, number: int) -> APIResponse:
        _require_designer(request)
        survey = selectors.survey_get(request.user, slug)
        if not selectors.sees_drafts_of(request.user, survey):
            raise PermissionDenied("Only the administrators of the survey's programme can publish its versions.")
        version = selectors.version_get(request.user, survey, number)
        try:
            notes = services.version_publish(version=version)
        except services.PublishRefused as exc:
            return APIResponse(
                {"detail": "The version cannot be published.", "reasons": exc.reasons}, status=status.HTTP_409_CONFLICT
            )
        return APIResponse(PublishOutput({"version": version, "changes": notes}).data)


class ImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=ImportInput,
        responses={
            201: ImportOutput,
            400: OpenApiResponse(
                description="A bad upload (fields named with reasons), or a refused form: the ImportOutput "
                "report with every problem's sheet, row and column."
            ),
        },
    )
    def post(self, request: Request) -> APIResponse:
        _require_designer(request)
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > settings.XLSFORM_MAX_BYTES:
            raise ValidationError({"file": [f"The file is larger than {settings.XLSFORM_MAX_BYTES} bytes."]})
        programme = None
        if data.validated_data.get("programme"):
            programme = administered(request.user).filter(slug=data.validated_data["programme"]).first()
            if programme is None:
                raise ValidationError({"programme": ["You administer no programme with this slug."]})
        try:
            result = services.survey_import_xlsform(
                data=upload.read(),
                filename=upload.name or "form.xlsx",
                survey_slug=data.validated_data.get("survey"),
                publish=data.validated_data["publish"],
                user=request.user,
                programme=programme,
            )
        except services.ImportForbidden as exc:
            raise PermissionDenied(str(exc)) from None
        except services.ImportNeedsProgramme as exc:
            raise ValidationError({"programme": [str(exc)]}) from None
        body = {
            **result.report.as_dict(),
            "ok": result.version is not None,
            "survey": result.version.survey.slug if result.version else None,
            "version": result.version,
            "publish_notes": result.publish_notes,
        }
        code = status.HTTP_201_CREATED if result.version else status.HTTP_400_BAD_REQUEST
        return APIResponse(ImportOutput(body).data, status=code)


class ResponseListApi(ListAPIView):
    serializer_class = ResponseOutput

    def get_queryset(self):
        survey = selectors.survey_get(self.request.user, self.kwargs["slug"])
        return selectors.responses_of(self.request.user, survey)

    @extend_schema(
        request=ResponseInput,
        responses={
            201: ResponseOutput,
            200: OpenApiResponse(ResponseOutput, description="The same instance_id and content were stored before."),
            400: OpenApiResponse(description="Invalid answers, named per field in the respondent's language."),
            403: OpenApiResponse(description="The wave is closed or takes invited respondents only (reason given)."),
            409: OpenApiResponse(
                description="The instance_id already holds different content, the quota cell is full, or the "
                "invitation already has a response (reason given)."
            ),
        },
    )
    def post(self, request: Request, slug: str) -> APIResponse:
        data = ResponseInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        version = selectors.version_for_submission(request.user, slug, values["version"])
        if version is None:
            selectors.survey_get(request.user, slug)  # 404 when the survey itself is unknown
            raise ValidationError({"version": [f"Survey '{slug}' has no version {values['version']}."]})
        wave = None
        if values.get("wave"):
            wave = selectors.wave_get(version.survey, values["wave"])
            if wave is None:
                raise ValidationError({"wave": [f"Survey '{slug}' has no wave '{values['wave']}'."]})
        language = values.get("language") or _request_language(request)
        try:
            response, created = services.response_submit(
                version=version,
                respondent=request.user,
                instance_id=values["instance_id"],
                status=values["status"],
                answers=values["answers"],
                language=language,
                wave=wave,
            )
        except services.SubmissionRefused as exc:
            return _refused(exc)
        except services.SubmissionInvalid as exc:
            raise ValidationError(exc.errors) from None
        except services.ResponseConflict:
            raise Conflict("A response with this instance_id already exists with different content.") from None
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return APIResponse(response_output(response), status=code)


class ResponseDetailApi(APIView):
    @extend_schema(responses=ResponseOutput)
    def get(self, request: Request, slug: str, instance_id: str) -> APIResponse:
        survey = selectors.survey_get(request.user, slug)
        return APIResponse(response_output(selectors.response_get(request.user, survey, instance_id)))

    @extend_schema(
        request=ResponseUpdateInput,
        responses={
            200: ResponseOutput,
            400: OpenApiResponse(description="Invalid answers, named per field."),
            403: OpenApiResponse(description="The wave is closed (reason given)."),
            409: OpenApiResponse(description="The response is complete and cannot change, or its quota cell is full."),
        },
    )
    def put(self, request: Request, slug: str, instance_id: str) -> APIResponse:
        survey = selectors.survey_get(request.user, slug)
        response = selectors.response_get(request.user, survey, instance_id)
        data = ResponseUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            response, _ = services.response_update(
                response=response,
                status=values["status"],
                answers=values["answers"],
                language=values.get("language") or response.language or _request_language(request),
            )
        except services.SubmissionRefused as exc:
            return _refused(exc)
        except services.SubmissionInvalid as exc:
            raise ValidationError(exc.errors) from None
        except services.ResponseConflict:
            raise Conflict("This response is complete; it cannot be changed.") from None
        return APIResponse(response_output(response))


def _request_language(request: Request) -> str | None:
    language = translation.get_language()
    return language if language in ("kk", "ru", "en") else None
