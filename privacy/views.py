"""The person's own data: a readable page, its JSON download, stopping invitations, erasure."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.audit import audit_record

from .services import ErasureRefused, can_erase_self, erase, held_about, invitations_stop

CONFIRM_WORD = "ERASE"


def _page(request: HttpRequest, *, errors: list[str] | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    data = held_about(user)
    context = {
        "data": data,
        "can_erase": can_erase_self(user),
        "confirm_word": CONFIRM_WORD,
        "errors": errors or [],
        "live_consents": [c for c in (data["registry_profile"] or {}).get("consents", []) if not c.get("withdrawn_at")],
        "invited": any(not a.get("opted_out_at") for a in data["survey_addresses"]),
    }
    return render(request, "privacy/data.html", context, status=status)


@login_required
def data_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
def data_download(request: HttpRequest) -> HttpResponse:
    user = request.user
    body = json.dumps(held_about(user), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    audit_record(actor=user, action="personal_data.downloaded", target=user, programme_id=None)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    name = f"kelu-my-data-{timezone.now():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def stop_invitations(request: HttpRequest) -> HttpResponse:
    stopped = invitations_stop(user=request.user)
    if stopped:
        messages.success(request, _("No survey invitation will be sent to your addresses any more."))
    return redirect("privacy:data")


@login_required
@require_POST
def erase_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    errors = []
    if not can_erase_self(user):
        errors.append(_("This account has a staff role: a superuser closes it."))
    if not user.check_password(request.POST.get("password", "")):
        errors.append(_("The password is not right."))
    if request.POST.get("confirm", "").strip().upper() != CONFIRM_WORD:
        errors.append(_("Type %(word)s to confirm.") % {"word": CONFIRM_WORD})
    if errors:
        return _page(request, errors=errors, status=400)
    try:
        record = erase(user=user, actor=None)
    except ErasureRefused as refused:
        return _page(request, errors=[str(refused)], status=400)
    logout(request)
    return render(request, "privacy/erased.html", {"record": record})
