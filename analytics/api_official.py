"""The official-statistics API: upload a file, read observations and country groupings.

- POST imports/: multipart (file, dataset_code, dataset_name, format) -> 201 with the
  report, or 400 with the per-row report and nothing written. Superusers and programme
  administrators only; GET lists the imports.
- GET observations/: filters indicator, ref_area, counterpart_area, time_period, flow,
  dataset, vintage (an id), all_vintages; the latest vintage of each key by default.
- GET groups/ and groups/<slug>/: the country-group schemes you may read, and one
  scheme's {country: group} map.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.names import shown_name
from accounts.scoping import is_programme_admin

from .models.official import OfficialImport
from .official import selectors
from .official.forms import MAX_UPLOAD_BYTES
from .official.services import official_import

MAX_OBSERVATIONS = 5000


@extend_schema_serializer(component_name="OfficialImportInput")
class ImportInput(serializers.Serializer):
    file = serializers.FileField()
    dataset_code = serializers.CharField(required=False, allow_blank=True, max_length=80, default="")
    dataset_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    format = serializers.ChoiceField(choices=OfficialImport.Format.values, required=False, allow_blank=True, default="")

    def validate_file(self, upload):
        if upload.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError("The file is larger than 20 MB.")
        return upload


@extend_schema_serializer(component_name="OfficialImportOutput")
class ImportOutput(serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.code")
    uploaded_by = serializers.SerializerMethodField(help_text="Who uploaded it, by name (never a login name).")

    class Meta:
        model = OfficialImport
        fields = ["id", "dataset", "file_name", "format", "status", "rows", "warnings", "created_at", "uploaded_by"]

    def get_uploaded_by(self, item: OfficialImport) -> str | None:
        return None if item.uploaded_by is None else shown_name(item.uploaded_by)


class ObservationsInput(serializers.Serializer):
    indicator = serializers.CharField(required=False, allow_blank=True)
    ref_area = serializers.CharField(required=False, allow_blank=True)
    counterpart_area = serializers.CharField(required=False, allow_blank=True)
    time_period = serializers.CharField(required=False, allow_blank=True)
    flow = serializers.CharField(required=False, allow_blank=True)
    dataset = serializers.CharField(required=False, allow_blank=True)
    vintage = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    all_vintages = serializers.BooleanField(required=False, default=False)


class ImportsApi(APIView):
    parser_classes = [MultiPartParser]

    def check_permissions(self, request):
        super().check_permissions(request)
        if not is_programme_admin(request.user):
            raise PermissionDenied("Only programme administrators and superusers import official statistics.")

    @extend_schema(responses={200: ImportOutput(many=True)})
    def get(self, request: Request) -> Response:
        return Response(ImportOutput(selectors.imports_list()[:200], many=True).data)

    @extend_schema(
        request={"multipart/form-data": ImportInput},
        responses={
            201: OpenApiResponse(description="Imported; the report."),
            400: OpenApiResponse(description="Refused; the per-row report. Nothing was written."),
        },
    )
    def post(self, request: Request) -> Response:
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        result = official_import(
            content=upload.read(),
            file_name=upload.name,
            uploaded_by=request.user,
            dataset_code=data.validated_data["dataset_code"],
            dataset_name=data.validated_data["dataset_name"],
            file_format=data.validated_data["format"] or None,
        )
        return Response(result.report, status=status.HTTP_201_CREATED if result.ok else status.HTTP_400_BAD_REQUEST)


class ObservationsApi(APIView):
    @extend_schema(
        parameters=[ObservationsInput],
        responses={200: OpenApiResponse(description="{count, results: [observation]}")},
    )
    def get(self, request: Request) -> Response:
        filters = ObservationsInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        frame = selectors.observations_frame(**filters.validated_data)
        frame = frame.astype(object).where(frame.notna(), None)
        records = frame.head(MAX_OBSERVATIONS).to_dict("records")
        return Response({"count": len(frame), "results": records})


def _scheme_out(scheme) -> dict:
    return {
        "slug": scheme.slug,
        "name": scheme.name,
        "source": scheme.source,
        "programme": scheme.programme.slug if scheme.programme else None,
    }


class GroupSchemesApi(APIView):
    @extend_schema(
        operation_id="v1_analytics_official_groups_list",
        responses={200: OpenApiResponse(description="[{slug, name, source, programme}]")},
    )
    def get(self, request: Request) -> Response:
        return Response([_scheme_out(s) for s in selectors.group_schemes_for(request.user)])


class GroupSchemeApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("programme", str, description="the programme's slug (its own grouping)")],
        responses={200: OpenApiResponse(description="{slug, name, source, programme, groups, members}")},
    )
    def get(self, request: Request, slug: str) -> Response:
        programme = request.query_params.get("programme") or None
        scheme = (
            selectors.group_schemes_for(request.user).filter(slug=slug, programme__slug=programme).first()
            if programme
            else selectors.group_schemes_for(request.user).filter(slug=slug, programme__isnull=True).first()
        )
        if scheme is None:
            raise NotFound("No such country-group scheme.")
        members = list(scheme.members.values_list("country", "group_code", "group_label"))
        return Response(
            {
                **_scheme_out(scheme),
                "groups": dict(sorted({(g, label) for _c, g, label in members})),
                "members": {country: group for country, group, _label in members},
            }
        )
