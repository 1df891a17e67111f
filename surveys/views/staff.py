"""Staff screens for programme administrators: wave dashboards, responses, question summaries, exports,
survey versions (the version preview is in ``views.preview``).

Server-rendered, no external assets: charts are inline SVG whose geometry is computed
here by pure functions. Every wave is looked up through ``selectors_admin`` (scoped to
the user's programmes: another programme's wave is a 404); users who administer
nothing get a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.scoping import is_programme_admin

from .. import selectors_admin
from ..models import ExportJob, Response
from ..selectors_admin import RatePoint, ResponseFilters
from ..services.exports import export_request
from ..summaries import response_sections

LANGUAGES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]
PAGE_SIZE = 50


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in (else the admin login page), and a programme administrator or superuser (else 403)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_programme_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- pure: chart geometry


def line_chart(points: list[RatePoint], *, width: int = 640, height: int = 260, pad: int = 44) -> dict[str, Any]:
    """Coordinates of a 0-100 % line chart of the cumulative response rate, one point per day."""
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    count = len(points)

    def x(index: int) -> float:
        return round(pad + (inner_w * index / (count - 1) if count > 1 else inner_w / 2), 1)

    def y(rate: float) -> float:
        return round(pad + inner_h * (1 - min(max(rate, 0.0), 1.0)), 1)

    dots = [
        {"x": x(i), "y": y(p.rate), "day": p.day, "percent": round(100 * p.rate, 1), "complete": p.complete}
        for i, p in enumerate(points)
    ]
    label_indexes = sorted({0, count // 2, count - 1}) if count else []
    return {
        "width": width,
        "height": height,
        "left": pad,
        "right": width - pad,
        "top": pad,
        "bottom": height - pad,
        "polyline": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "dots": dots,
        "y_ticks": [{"y": y(share / 100), "label": f"{share}%"} for share in (0, 25, 50, 75, 100)],
        "x_labels": [{"x": dots[i]["x"], "label": points[i].day.isoformat()} for i in label_indexes],
        "final": dots[-1] if dots else None,
    }


# --------------------------------------------------------------------------- forms


class ResponseFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any"))] + Response.Status.choices)
    version = forms.TypedChoiceField(label=_("Version"), required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    attribute = forms.ChoiceField(label=_("Panel attribute"), required=False)
    value = forms.CharField(label=_("Value"), required=False, max_length=200)

    def __init__(self, *args: Any, versions: list[int], attributes: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [("", _("Any"))] + [(n, f"v{n}") for n in versions]
        self.fields["attribute"].choices = [("", "—")] + [(a, a) for a in attributes]

    def filters(self) -> ResponseFilters:
        if not self.is_valid():
            return ResponseFilters()
        return ResponseFilters(**{k: v for k, v in self.cleaned_data.items() if v not in (None, "")})


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=ExportJob.Format.choices)
    language = forms.ChoiceField(label=_("Language of labels"), choices=LANGUAGES)


def _label_language(request: HttpRequest) -> str:
    wanted = request.GET.get("lang") or translation.get_language() or "en"
    return wanted if wanted in dict(LANGUAGES) else "en"


def _page_language() -> str:
    """The language the page is shown in (labels, country names)."""
    language = translation.get_language() or "en"
    return language if language in dict(LANGUAGES) else "en"


def _status_filter(request: HttpRequest) -> str:
    """The status of responses summarised: complete by default, "" (any) when asked for "all"."""
    status = request.GET.get("status", Response.Status.COMPLETE)
    return status if status in Response.Status.values else ""


# --------------------------------------------------------------------------- views


@staff_required
def wave_list(request: HttpRequest) -> HttpResponse:
    waves = selectors_admin.waves_visible_to(request.user)
    return render(request, "surveys/staff/wave_list.html", {"waves": waves})


@staff_required
def wave_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    wave = selectors_admin.wave_get_for_admin(request.user, slug)
    attributes = selectors_admin.panel_attribute_keys(wave.panel)
    attribute = request.GET.get("attribute") or ("country" if "country" in attributes else "")
    if attribute not in attributes:
        attribute = ""
    language = _page_language()
    context = {
        "wave": wave,
        "tab": "dashboard",
        "funnel": selectors_admin.wave_funnel(wave),
        "public": selectors_admin.wave_public_counts(wave),
        "chart": line_chart(selectors_admin.wave_rate_series(wave)),
        "attributes": attributes,
        "attribute": attribute,
        "breakdown": selectors_admin.wave_breakdown(wave, attribute, language=language) if attribute else [],
        "export_form": ExportForm(initial={"format": "xlsx", "language": _label_language(request)}),
        "exports": selectors_admin.wave_exports(request.user, wave),
    }
    return render(request, "surveys/staff/dashboard.html", context)


@staff_required
def wave_responses(request: HttpRequest, slug: str) -> HttpResponse:
    wave = selectors_admin.wave_get_for_admin(request.user, slug)
    form = ResponseFilterForm(
        request.GET or None,
        versions=selectors_admin.wave_version_numbers(wave),
        attributes=selectors_admin.panel_attribute_keys(wave.panel),
    )
    responses = selectors_admin.wave_responses(
        wave, form.filters() if form.is_bound else ResponseFilters(), viewer=request.user
    )
    page = Paginator(responses, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page"])
    back = request.GET.urlencode()  # the response page links back to this very table
    context = {"wave": wave, "tab": "responses", "form": form, "page": page, "query": query, "back": back}
    return render(request, "surveys/staff/responses.html", context)


@staff_required
def wave_response(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    response = selectors_admin.response_get_for_admin(request.user, slug, pk)
    language = _page_language()
    context = {
        "wave": response.wave,
        "tab": "responses",
        "response": response,
        "invitation": getattr(response, "invitation", None),
        "language_name": dict(LANGUAGES).get(response.language, response.language),
        "sections": response_sections(response.version.instrument, response.answers or {}, language),
        "back_url": _back_to_table(request, response.wave.slug),
    }
    return render(request, "surveys/staff/response.html", context)


def _back_to_table(request: HttpRequest, slug: str) -> str:
    """The responses table, with the filters and page the user came from."""
    url = reverse("staff:wave-responses", args=[slug])
    back = QueryDict(request.GET.get("back", "")).urlencode()  # re-encoded: only a query string comes through
    return f"{url}?{back}" if back else url


@staff_required
def wave_questions(request: HttpRequest, slug: str) -> HttpResponse:
    wave = selectors_admin.wave_get_for_admin(request.user, slug)
    language = _label_language(request)
    status = _status_filter(request)
    summaries = selectors_admin.wave_question_summaries(wave, language=language, status=status)
    context = {
        "wave": wave,
        "tab": "questions",
        "summaries": summaries,
        "language": language,
        "languages": LANGUAGES,
        "status": status,
        "statuses": Response.Status.choices,
    }
    return render(request, "surveys/staff/questions.html", context)


@staff_required
def wave_text_answers(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    wave = selectors_admin.wave_get_for_admin(request.user, slug)
    language = _label_language(request)
    status = _status_filter(request)
    question = selectors_admin.wave_text_field(wave, name, language)
    answers = selectors_admin.wave_text_answers(wave, name, status=status, viewer=request.user)
    page = Paginator(answers, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page"])
    context = {
        "wave": wave,
        "tab": "questions",
        "question": question,
        "page": page,
        "query": query,
        "status": status,
        "status_label": dict(Response.Status.choices).get(status, _("All")),
        "language": language,
    }
    return render(request, "surveys/staff/text_answers.html", context)


@staff_required
@require_http_methods(["POST"])
def wave_export(request: HttpRequest, slug: str) -> HttpResponse:
    wave = selectors_admin.wave_get_for_admin(request.user, slug)
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a format and a language for the export."))
        return redirect("staff:wave-dashboard", slug=wave.slug)
    job, _created = export_request(wave=wave, user=request.user, **form.cleaned_data)
    return redirect("staff:export", pk=job.pk)


@staff_required
def export_status(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors_admin.export_get(request.user, pk)
    state = selectors_admin.wave_source_state(job.wave)
    context = {
        "job": job,
        "wave": job.wave,
        "out_of_date": selectors_admin.export_out_of_date(job, state),
        "last_change": state.last_change,
        "status_url": reverse("export-detail", args=[job.pk]),
        "download_url": reverse("export-download", args=[job.pk]),
        "done": job.status in (ExportJob.Status.COMPLETE, ExportJob.Status.ERROR),
    }
    return render(request, "surveys/staff/export.html", context)


# --------------------------------------------------------------------------- surveys and versions


@staff_required
def survey_versions(request: HttpRequest, slug: str) -> HttpResponse:
    survey = selectors_admin.survey_get_for_admin(request.user, slug)
    versions = selectors_admin.survey_versions(survey)
    names = dict(LANGUAGES)
    rows = [{"version": v, "languages": [(code, names.get(code, code)) for code in v.languages]} for v in versions]
    context = {
        "wave": None,  # not a wave's page: no wave tabs
        "tab": "",
        "survey": survey,
        "rows": rows,
        "waves": selectors_admin.waves_visible_to(request.user).filter(survey=survey),
    }
    return render(request, "surveys/staff/versions.html", context)
