"""Where browsers report what the Content-Security-Policy refused (the policy is in settings).

Every page is served with a policy that allows scripts, styles, images and fonts only from the
platform itself and no inline script or style (so a stored payload that slipped through the
escaping still cannot run). A refusal is reported here by the browser: it is logged, and the
last few are kept in the process so that the browser tests can fail on any.
"""

from __future__ import annotations

import json
import logging
from collections import deque

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

log = logging.getLogger(__name__)
MAX_BYTES = 16 * 1024
# The latest reports this process received (for tests and for a look in a shell).
received: deque[dict] = deque(maxlen=200)


@csrf_exempt  # browsers send reports without a token, from any page of the site
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    body = request.body[: MAX_BYTES + 1]
    if len(body) > MAX_BYTES:
        return HttpResponse("A report is limited to 16 KB.", status=413, content_type="text/plain")
    try:
        report = json.loads(body or b"{}")
    except ValueError:
        return HttpResponse("A report is JSON.", status=400, content_type="text/plain")
    if not isinstance(report, dict | list):
        return HttpResponse("A report is a JSON object.", status=400, content_type="text/plain")
    entries = report if isinstance(report, list) else [report]
    for entry in entries[:20]:
        if isinstance(entry, dict):
            received.append(entry)
            details = entry.get("csp-report") or entry.get("body") or entry
            log.warning("Content-Security-Policy refused: %s", json.dumps(details, ensure_ascii=True)[:2000])
    return HttpResponse(status=204)
