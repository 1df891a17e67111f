"""The research-data API: the same requests, reviews and downloads as the pages, through the same services."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.models import Wave

from . import selectors_research
from .models import ResearchExport, ResearchRequest, VariableRole
from .services import research
from .services.research_files import FORMATS
from .services.research_roles import survey_variables


class MayUseResearch(BasePermission):
    message = "Research data are for researchers and programme administrators."

    def has_permission(self, request, view) -> bool:
        return selectors_research.may_use_research(request.user)


class ExportOut(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ResearchExport
        fields = ["id", "kind", "status", "progress", "step", "error", "row_count", "report", "created_at",
                  "finished_at", "expires_at", "download_url"]  # fmt: skip

    def get_download_url(self, export: ResearchExport) -> str | None:
        if export.kind != ResearchExport.Kind.EXPORT or export.status != ResearchExport.Status.COMPLETE:
            return None
        return f"/api/v1/analytics/research/exports/{export.pk}/download/"


class RequestOut(serializers.ModelSerializer):
    survey = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    waves = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    exports = serializers.SerializerMethodField()

    class Meta:
        model = ResearchRequest
        fields = ["id", "survey", "waves", "variables", "formats", "language", "purpose", "institution", "licence",
                  "status", "approved_variables", "k", "l_diversity", "decision_reason", "created_at",
                  "reviewed_at", "exports"]  # fmt: skip

    @extend_schema_field(ExportOut(many=True))
    def get_exports(self, item: ResearchRequest) -> list[dict]:
        return ExportOut(selectors_research.exports_of(item), many=True).data


@extend_schema_serializer(component_name="ResearchRequestIn")
class RequestIn(serializers.Serializer):
    survey = serializers.SlugField(max_length=80)
    waves = serializers.ListField(child=serializers.SlugField(max_length=80), min_length=1, max_length=50)
    variables = serializers.ListField(child=serializers.CharField(max_length=120), min_length=1, max_length=500)
    formats = serializers.ListField(child=serializers.ChoiceField(choices=FORMATS), min_length=1, max_length=5)
    language = serializers.ChoiceField(choices=["kk", "ru", "en"])
    licence = serializers.ChoiceField(choices=ResearchRequest.Licence.values)
    purpose = serializers.CharField(max_length=5000)
    institution = serializers.CharField(max_length=200)
    accept_terms = serializers.BooleanField()

    def validate_variables(self, value: list[str]) -> list[str]:
        if any("\x00" in name for name in value):
            raise serializers.ValidationError("Variable names cannot hold NUL characters.")
        return value


class ReviewIn(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "refuse"])
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    variables = serializers.ListField(child=serializers.CharField(max_length=120), required=False, max_length=500)
    k = serializers.IntegerField(required=False, min_value=1, max_value=50)


class VariableOut(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    label = serializers.CharField()
    role = serializers.ChoiceField(choices=VariableRole.Role.choices)
    hierarchy = serializers.ChoiceField(choices=VariableRole.Hierarchy.choices)
    reviewed = serializers.BooleanField()
    exported = serializers.BooleanField()


class RequestListApi(APIView):
    permission_classes = [IsAuthenticated, MayUseResearch]

    @extend_schema(responses=RequestOut(many=True), summary="Research requests the caller may see")
    def get(self, request: Request) -> Response:
        items = selectors_research.requests_visible_to(request.user)[:500]
        return Response(RequestOut(items, many=True).data)

    @extend_schema(request=RequestIn, responses={201: RequestOut, 400: OpenApiResponse(description="Invalid request")},
                   summary="Request anonymised microdata (researchers)")  # fmt: skip
    def post(self, request: Request) -> Response:
        if not selectors_research.is_researcher(request.user):
            raise ApiPermissionDenied("Only researchers request research data.")
        data = RequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        survey = selectors_research.requestable_surveys(request.user).filter(slug=values["survey"]).first()
        if survey is None:
            return Response({"survey": ["No such survey with responses."]}, status=status.HTTP_400_BAD_REQUEST)
        waves = list(Wave.objects.filter(survey=survey, slug__in=values["waves"]))
        if len(waves) != len(set(values["waves"])):
            return Response({"waves": ["Every wave must belong to the survey."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            item = research.research_request_submit(
                user=request.user, survey=survey, waves=waves, variables=values["variables"],
                formats=values["formats"], language=values["language"], purpose=values["purpose"],
                institution=values["institution"], licence=values["licence"], terms_accepted=values["accept_terms"],
            )  # fmt: skip
        except research.RequestError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(RequestOut(item).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    permission_classes = [IsAuthenticated, MayUseResearch]

    @extend_schema(responses=RequestOut, summary="One research request with its dry run and files")
    def get(self, request: Request, pk: int) -> Response:
        return Response(RequestOut(selectors_research.request_get(request.user, pk)).data)


class RequestReviewApi(APIView):
    permission_classes = [IsAuthenticated, MayUseResearch]

    @extend_schema(request=ReviewIn, responses={200: RequestOut, 400: OpenApiResponse(description="Cannot decide")},
                   summary="Approve (optionally fewer variables, a stricter k) or refuse with a reason")  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        item = selectors_research.request_get(request.user, pk)
        data = ReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            research.research_request_review(request=item, user=request.user, decision=values["decision"],
                                             reason=values["reason"], variables=values.get("variables"),
                                             k=values.get("k"))  # fmt: skip
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from exc
        except research.RequestError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        item.refresh_from_db()
        return Response(RequestOut(item).data)


class ExportDownloadApi(APIView):
    permission_classes = [IsAuthenticated, MayUseResearch]

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY,
                              410: OpenApiResponse(description="The link has expired")},
                   summary="The requester's zip while its link lasts")  # fmt: skip
    def get(self, request: Request, pk: int):
        export = selectors_research.export_for_download(request.user, pk)
        try:
            handle = research.research_download(export=export, user=request.user)
        except research.LinkExpired as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_410_GONE)
        except research.RequestError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return FileResponse(handle, as_attachment=True, filename=f"kelu-research-{export.request_id}.zip",
                            content_type="application/zip")  # fmt: skip


class SurveyVariablesApi(APIView):
    permission_classes = [IsAuthenticated, MayUseResearch]

    @extend_schema(responses=VariableOut(many=True), summary="A survey's variables with their disclosure-control roles")
    def get(self, request: Request, slug: str) -> Response:
        user = request.user
        if selectors_research.is_researcher(user):
            survey = selectors_research.requestable_survey_get(user, slug)
        else:
            survey = get_object_or_404(selectors_research.role_surveys(user), slug=slug)
        rows = [{"name": v.name, "type": v.type, "label": v.label, "role": v.role, "hierarchy": v.hierarchy,
                 "reviewed": v.reviewed, "exported": v.exported} for v in survey_variables(survey)]  # fmt: skip
        return Response(VariableOut(rows, many=True).data)
