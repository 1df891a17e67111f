"""GET /api/v1/me/data/: everything held about the signed-in account, as on the data page."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_record

from .services import held_about


class MyDataApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_data",
        summary="Everything held about you",
        description="The data page's content: account, registry profile, consents, matches, messages, "
        "survey addresses and responses, programme participation, and the activity log.",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        audit_record(actor=request.user, action="personal_data.downloaded", target=request.user, programme_id=None)
        return Response(held_about(request.user))
