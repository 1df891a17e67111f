"""Research data pages: a researcher's requests and downloads, an administrator's reviews and variable roles.

Each page reads through ``selectors_research`` and writes through ``services.research``
(the same calls the API, the admin and the command make).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.audit import audit_trail
from accounts.scoping import is_programme_admin

from . import selectors, selectors_research
from .models import ResearchExport, ResearchRequest, VariableRole
from .services import research
from .services.research_files import FORMAT_LABELS
from .services.research_roles import RoleError, survey_variables, variable_role_set

LANGUAGE_CHOICES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]
ACTION_LABELS = {
    "research.request_submitted": gettext_lazy("Request sent"),
    "research.request_approved": gettext_lazy("Approved"),
    "research.request_narrowed": gettext_lazy("Approved with fewer variables"),
    "research.request_refused": gettext_lazy("Refused"),
    "research.request_withdrawn": gettext_lazy("Withdrawn"),
    "research.export_queued": gettext_lazy("File queued"),
    "research.export_completed": gettext_lazy("File built"),
    "research.export_reused": gettext_lazy("Finished file offered again"),
    "research.export_downloaded": gettext_lazy("File downloaded"),
    "research.export_failed": gettext_lazy("The export failed"),
}


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context = {**context, "current": "research",
               "analytics_nav": {"analysis": selectors.may_see_analysis(request.user), "research": True}}  # fmt: skip
    return render(request, template, context, status=status)


def _forbidden(request: HttpRequest) -> HttpResponse:
    reason = _("Research data are for researchers and programme administrators.")
    return render(
        request, "analytics/forbidden.html", {"reason": reason, "current": "", "analytics_nav": {}}, status=403
    )


@login_required
def research_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not selectors_research.may_use_research(user):
        return _forbidden(request)
    rows = []
    for item in selectors_research.requests_visible_to(user)[:200]:
        exports = selectors_research.exports_of(item)
        latest = next((e for e in exports if e.kind == ResearchExport.Kind.EXPORT), None)
        rows.append({"request": item, "export": latest, "waves": ", ".join(w.local_name for w in item.waves.all())})
    context = {
        "rows": rows,
        "researcher": selectors_research.is_researcher(user),
        "reviewer": is_programme_admin(user),
        "to_review": selectors_research.requests_to_review(user).count() if is_programme_admin(user) else 0,
        "surveys": list(selectors_research.requestable_surveys(user)),
        "role_surveys": list(selectors_research.role_surveys(user)),
    }
    return _page(request, "analytics/research/home.html", context)


class RequestForm(forms.Form):
    waves = forms.MultipleChoiceField(label=gettext_lazy("Waves"), widget=forms.CheckboxSelectMultiple)
    variables = forms.MultipleChoiceField(label=gettext_lazy("Variables"), widget=forms.CheckboxSelectMultiple)
    formats = forms.MultipleChoiceField(label=gettext_lazy("File formats"), widget=forms.CheckboxSelectMultiple,
                                        choices=list(FORMAT_LABELS.items()))  # fmt: skip
    language = forms.ChoiceField(label=gettext_lazy("Language of labels"), choices=LANGUAGE_CHOICES)
    licence = forms.ChoiceField(label=gettext_lazy("Licence"), choices=ResearchRequest.Licence.choices,
                                widget=forms.RadioSelect)  # fmt: skip
    institution = forms.CharField(label=gettext_lazy("Institution"), max_length=200)
    purpose = forms.CharField(label=gettext_lazy("Purpose of the research"), widget=forms.Textarea(attrs={"rows": 4}),
                              max_length=5000)  # fmt: skip
    terms = forms.BooleanField(label=gettext_lazy(
        "I accept the data-use terms: the data serve only the stated purpose; I will not try to identify anyone, "
        "link the file to other data to that end, or pass it on."))  # fmt: skip

    def __init__(self, *args, survey, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.waves_by_slug = {w.slug: w for w in selectors_research.survey_waves(survey)}
        self.fields["waves"].choices = [(w.slug, f"{w.local_name} ({w.complete})") for w in self.waves_by_slug.values()]
        self.variables = survey_variables(survey, language)
        self.fields["variables"].choices = [(v.name, f"{v.label} [{v.name}]") for v in self.variables if v.exported]


@login_required
def research_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not selectors_research.is_researcher(user):
        return _forbidden(request)
    slug = request.GET.get("survey") or request.POST.get("survey") or ""
    if not slug:
        return _page(
            request, "analytics/research/choose.html", {"surveys": list(selectors_research.requestable_surveys(user))}
        )
    survey = selectors_research.requestable_survey_get(user, slug)
    language = (request.LANGUAGE_CODE or "en").split("-")[0]
    form = RequestForm(request.POST or None, survey=survey, language=language,
                       initial={"language": language, "formats": ["csv", "sav"], "licence": "licensed"})  # fmt: skip
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = research.research_request_submit(
                user=user, survey=survey, waves=[form.waves_by_slug[s] for s in data["waves"]],
                variables=data["variables"], formats=data["formats"], language=data["language"],
                purpose=data["purpose"], institution=data["institution"], licence=data["licence"],
                terms_accepted=data["terms"],
            )  # fmt: skip
        except research.RequestError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your request was sent for review."))
            return redirect("analytics:research-request", pk=created.pk)
    hidden = [v for v in form.variables if not v.exported]
    return _page(request, "analytics/research/new.html", {"survey": survey, "form": form, "hidden": hidden})


LEVEL_LABELS = {
    "value": gettext_lazy("as answered"),
    "suppressed": gettext_lazy("suppressed"),
    "5-year band": gettext_lazy("5-year band"),
    "10-year band": gettext_lazy("10-year band"),
    "month": gettext_lazy("month"),
    "year": gettext_lazy("year"),
    "broad field (ISCED-F 2013)": gettext_lazy("broad field (ISCED-F 2013)"),
    "world sub-region": gettext_lazy("world sub-region"),
    "world region": gettext_lazy("world region"),
}


def _report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**row, "level_label": LEVEL_LABELS.get(row.get("level_name"), row.get("level_name"))}
            for row in report.get("variables") or []]  # fmt: skip


@login_required
def research_request(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    item = selectors_research.request_get(user, pk)
    exports = selectors_research.exports_of(item)
    dry = next((e for e in exports if e.kind == ResearchExport.Kind.DRY_RUN), None)
    files = [e for e in exports if e.kind == ResearchExport.Kind.EXPORT]
    built = next((e for e in files if e.status == ResearchExport.Status.COMPLETE), None)
    shown = built or dry  # the report of the file once there is one, else of the dry run
    now = timezone.now()
    valid_link = any(e.status == ResearchExport.Status.COMPLETE and e.expires_at and e.expires_at > now for e in files)
    waiting = any(not e.is_finished for e in files)
    reviewer = research.may_review(user, item)
    variables = {v.name: v for v in survey_variables(item.survey, (request.LANGUAGE_CODE or "en").split("-")[0])}
    trail = list(audit_trail(item))
    for export in files:
        trail += list(audit_trail(export))
    trail.sort(key=lambda event: (event.at, event.pk))
    asked = [{"name": n, "label": variables[n].label if n in variables else n,
              "role": variables[n].get_role_display() if n in variables else "",
              "exported": variables[n].exported if n in variables else False,
              "approved": n in (item.approved_variables or [])} for n in item.variables]  # fmt: skip
    context = {
        "item": item,
        "dry": shown,
        "dry_rows": _report_rows(shown.report) if shown else [],
        "report_of_file": built is not None,
        "may_renew": item.status == ResearchRequest.Status.APPROVED and not valid_link and not waiting,
        "file_rows": [{"export": e, "valid": bool(e.expires_at and e.expires_at > now)} for e in files],
        "files": files,
        "reviewer": reviewer,
        "is_requester": item.requested_by_id == user.pk,
        "asked": asked,
        "trail": [{"event": event, "label": ACTION_LABELS.get(event.action, event.action)} for event in trail],
        "k_minimum": research.k_for(item.licence),
        # Files of one researcher can be joined on shared variables: the reviewer sees what was given before.
        "earlier": [
            {"request": other, "variables": ", ".join(other.approved_variables)}
            for other in selectors_research.requests_visible_to(user)
            .filter(requested_by=item.requested_by, survey=item.survey, status=ResearchRequest.Status.APPROVED)
            .exclude(pk=item.pk)[:20]
        ]
        if reviewer
        else [],
        "formats": ", ".join(FORMAT_LABELS.get(f, f) for f in item.formats),
    }
    return _page(request, "analytics/research/request.html", context)


@login_required
@require_POST
def research_review(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors_research.request_get(request.user, pk)
    decision = request.POST.get("decision", "")
    variables = request.POST.getlist("variables") if decision == "approve" else None
    k_text = request.POST.get("k", "").strip()
    try:
        k = int(k_text) if k_text else None
        research.research_request_review(request=item, user=request.user, decision=decision,
                                         reason=request.POST.get("reason", ""), variables=variables, k=k)  # fmt: skip
    except PermissionDenied:
        return _forbidden(request)
    except (research.RequestError, ValueError) as exc:
        messages.error(request, str(exc) if isinstance(exc, research.RequestError) else _("k must be a whole number."))
    else:
        messages.success(request, _("Your decision was recorded."))
    return redirect("analytics:research-request", pk=item.pk)


@login_required
@require_POST
def research_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors_research.request_get(request.user, pk)
    try:
        research.research_request_withdraw(request=item, user=request.user)
    except PermissionDenied:
        return _forbidden(request)
    except research.RequestError as exc:
        messages.error(request, str(exc))
    return redirect("analytics:research-request", pk=item.pk)


@login_required
@require_POST
def research_renew(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors_research.request_get(request.user, pk)
    try:
        research.research_renew(request=item, user=request.user)
    except PermissionDenied:
        return _forbidden(request)
    except research.RequestError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("A new download link is being prepared."))
    return redirect("analytics:research-request", pk=item.pk)


@login_required
def research_download(request: HttpRequest, pk: int) -> HttpResponse:
    export = selectors_research.export_for_download(request.user, pk)
    try:
        handle = research.research_download(export=export, user=request.user)
    except research.LinkExpired:
        return _page(request, "analytics/research/expired.html", {"export": export}, status=410)
    except research.RequestError as exc:
        return _page(request, "analytics/forbidden.html", {"reason": str(exc)}, status=409)
    return FileResponse(handle, as_attachment=True, filename=f"kelu-research-{export.request_id}.zip",
                        content_type="application/zip")  # fmt: skip


@login_required
def research_variables(request: HttpRequest, slug: str) -> HttpResponse:
    survey = selectors_research.role_survey_get(request.user, slug)
    if request.method == "POST":
        try:
            variable_role_set(survey=survey, name=request.POST.get("name", ""), role=request.POST.get("role", ""),
                              hierarchy=request.POST.get("hierarchy", ""), reviewed=request.POST.get("reviewed") == "on",
                              user=request.user)  # fmt: skip
        except RoleError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The variable's role was saved."))
        return redirect("analytics:research-variables", slug=survey.slug)
    language = (request.LANGUAGE_CODE or "en").split("-")[0]
    context = {
        "survey": survey,
        "variables": survey_variables(survey, language),
        "roles": VariableRole.Role.choices,
        "hierarchies": VariableRole.Hierarchy.choices,
    }
    return _page(request, "analytics/research/variables.html", context)
