import json
import uuid

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import BaselineRow


@csrf_exempt
@require_POST
def insert_one_row(request):
    """Bare Django: parse the body, insert one row, answer 201. No auth, no validation."""
    body = json.loads(request.body)
    row = BaselineRow.objects.create(instance_id=uuid.UUID(body["instance_id"]), payload=body["answers"])
    return JsonResponse({"id": row.pk}, status=201)
