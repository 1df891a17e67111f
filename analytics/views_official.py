"""Pages for official statistics: upload a file and read its per-row report; imports; country groups.

Uploading is for superusers and programme administrators (`is_programme_admin`);
the pages parse the form, call one service and render its report.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.scoping import is_programme_admin

from .official import selectors
from .official.forms import GroupUploadForm, ImportForm
from .official.groups import group_upload
from .official.services import official_import


def _forbidden(request: HttpRequest) -> HttpResponse:
    reason = _("Only programme administrators and superusers import official statistics.")
    return render(request, "analytics/forbidden.html", {"reason": reason}, status=403)


@login_required
@require_http_methods(["GET", "POST"])
def official_imports(request: HttpRequest) -> HttpResponse:
    if not is_programme_admin(request.user):
        return _forbidden(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = official_import(
            content=upload.read(),
            file_name=upload.name,
            uploaded_by=request.user,
            dataset_code=form.cleaned_data["dataset_code"],
            dataset_name=form.cleaned_data["dataset_name"],
            file_format=form.cleaned_data["format"] or None,
        )
        report = result.report
        status = 200 if result.ok else 400
        if result.ok:
            form = ImportForm()
    elif request.method == "POST":
        status = 400
    context = {"form": form, "report": report, "imports": selectors.imports_list()[:50]}
    return render(request, "analytics/official/imports.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def official_groups(request: HttpRequest) -> HttpResponse:
    if not is_programme_admin(request.user):
        return _forbidden(request)
    form = GroupUploadForm(request.POST or None, request.FILES or None, user=request.user)
    report = None
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        report = group_upload(
            content=upload.read(),
            file_name=upload.name,
            uploaded_by=request.user,
            programme=form.cleaned_data["programme"],
        )
        status = 200 if report["ok"] else 400
    elif request.method == "POST":
        status = 400
    schemes = selectors.group_schemes_for(request.user).prefetch_related("members")
    context = {"form": form, "report": report, "schemes": schemes}
    return render(request, "analytics/official/groups.html", context, status=status)
