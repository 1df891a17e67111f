"""The staff preview of a survey version: its pages as respondents see them, nothing stored.

Any version of a survey the user administers, drafts included, in each of the version's
languages. The page is the respondent page template with the same page model
(``pages.page_view``) and the same page script, whose relevance check calls
``version_preview_check`` here instead of the respondent's save. Answers typed in the
preview live in the user's session only (keyed by version and content), so page order
and relevance behave as for a respondent; no response is created and nothing is submitted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from config.links import link

from .. import selectors_admin
from ..models import Response, SurveyVersion
from ..pages import applicable_pages, entries_change, merge, page_answers, page_step, page_view, visible_names
from ..services.respondent import consented_to_registry
from .respondent import ACTIONS, LANGUAGE_NAMES
from .staff import staff_required

SESSION_KEY = "kelu_preview_{}_{}"


def _session_key(version: SurveyVersion) -> str:
    return SESSION_KEY.format(version.pk, version.content_hash[:16])


def _stored(request: HttpRequest, version: SurveyVersion) -> dict[str, Any]:
    stored = request.session.get(_session_key(version))
    return stored if isinstance(stored, dict) else {}


def _store(request: HttpRequest, version: SurveyVersion, answers: dict[str, Any]) -> None:
    request.session[_session_key(version)] = answers


def _languages(version: SurveyVersion) -> list[tuple[str, str]]:
    available = version.instrument.languages
    known = [(code, name) for code, name in LANGUAGE_NAMES.items() if code in available]
    return known + [(code, code) for code in available if code not in LANGUAGE_NAMES]


def _language(request: HttpRequest, version: SurveyVersion) -> str:
    offered = [code for code, _name in _languages(version)]
    for candidate in (request.POST.get("lang"), request.GET.get("lang"), version.instrument.default_language):
        if candidate in offered:
            return candidate
    return offered[0] if offered else version.instrument.default_language


def _query(**params: Any) -> str:
    return "?" + urlencode(params)


def _urls(version: SurveyVersion, language: str) -> dict[str, str]:
    # The language rides in the query string: the page script's check posts no "lang".
    args = [version.survey.slug, version.number]
    return {
        "page_url": reverse("staff:version-preview", args=args) + _query(lang=language),
        "save_url": reverse("staff:version-preview-check", args=args) + _query(lang=language),
        "versions_url": reverse("staff:survey-versions", args=[version.survey.slug]),
    }


def _base_context(version: SurveyVersion, language: str, staff_language: str) -> dict[str, Any]:
    instrument = version.instrument
    return {
        **_urls(version, language),
        "version": version,
        "title": instrument.title_in(language) or version.title or version.survey.title,
        "language": language,
        "languages": _languages(version),
        "resume_url": "",
        "staff_language": staff_language,
    }


@staff_required
@require_http_methods(["GET", "POST"])
def version_preview(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = selectors_admin.version_get_for_admin(request.user, slug, number)
    if not version.instrument.pages:
        messages.warning(request, _("This version has no pages to preview."))
        return redirect("staff:survey-versions", slug=slug)
    language = _language(request, version)
    staff_language = translation.get_language() or "en"
    with translation.override(language):
        if request.method == "POST":
            return _post(request, version, language, staff_language)
        return _get(request, version, language, staff_language)


def _get(request: HttpRequest, version: SurveyVersion, language: str, staff_language: str) -> HttpResponse:
    instrument = version.instrument
    stored = _stored(request, version)
    pages = applicable_pages(instrument, stored, timezone.localdate()) or [0]
    wanted = request.GET.get("page", "")
    index = int(wanted) if wanted.isdecimal() and int(wanted) in pages else pages[0]
    return _render_page(request, version, language, staff_language, index, stored, {})


def _post(request: HttpRequest, version: SurveyVersion, language: str, staff_language: str) -> HttpResponse:
    instrument = version.instrument
    url = reverse("staff:version-preview", args=[version.survey.slug, version.number])
    action = request.POST.get("action", "stay")
    if action == "restart":
        request.session.pop(_session_key(version), None)
        return redirect(url + _query(lang=language))
    raw_page = request.POST.get("page", "")
    if not raw_page.isdecimal() or int(raw_page) >= len(instrument.pages):
        return redirect(url + _query(lang=language))
    index = int(raw_page)
    posted = page_answers(instrument, index, request.POST)
    if request.POST.get("lang") or entries_change(posted, action) or action not in ACTIONS:
        action = "stay"  # a language switch or a repeat's entry added or removed: the page again
    stored = _stored(request, version)
    step = page_step(instrument, stored, index, posted, action=action, language=language, today=timezone.localdate())
    _store(request, version, step.answers)
    if step.errors:
        shown = merge(stored, posted)
        return _render_page(request, version, language, staff_language, step.page, shown, step.errors, status=400)
    if step.finished:
        context = {
            **_base_context(version, language, staff_language),
            "registry_invited": consented_to_registry(Response(answers=step.answers)),  # never saved
            "registry_url": link("registry-join"),
        }
        return render(request, "surveys/staff/preview_done.html", context)
    return redirect(url + _query(page=step.page, lang=language))


def _render_page(
    request: HttpRequest,
    version: SurveyVersion,
    language: str,
    staff_language: str,
    index: int,
    shown: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HttpResponse:
    instrument = version.instrument
    stored = _stored(request, version)
    context = {
        **_base_context(version, language, staff_language),
        **page_view(instrument, index, stored, shown, errors, language, timezone.localdate()),
    }
    return render(request, "surveys/staff/preview_page.html", context, status=status)


@staff_required
@require_POST
def version_preview_check(request: HttpRequest, slug: str, number: int) -> JsonResponse:
    """The page script's check: keeps the valid answers in the session, says which questions to show."""
    version = selectors_admin.version_get_for_admin(request.user, slug, number)
    instrument = version.instrument
    raw_page = request.POST.get("page", "")
    if not raw_page.isdecimal() or int(raw_page) >= len(instrument.pages):
        return JsonResponse({"saved": False, "reason": "page"}, status=400)
    language = _language(request, version)
    today = timezone.localdate()
    with translation.override(language):
        posted = page_answers(instrument, int(raw_page), request.POST)
        step = page_step(
            instrument, _stored(request, version), int(raw_page), posted, action="stay", language=language, today=today
        )
    _store(request, version, step.answers)
    visible = visible_names(instrument, step.answers, today)
    return JsonResponse({"saved": True, "errors": step.errors, "visible": sorted(visible)})
