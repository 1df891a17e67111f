"""Respondent pages: one page per group, in kk, ru or en, saved on every page change."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from config.links import link

from ..labels import plain_label
from ..models import Response, Wave
from ..pages import applicable_pages, build_sections, entries_change, merge, page_answers, visible_names
from ..services import respondent as flow
from ..services.respondent import Handle

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
ACTIONS = {"next", "back", "finish", "stay"}
RESUME_COOKIE = "kelu_resume_{}"
RESUME_COOKIE_AGE = 90 * 24 * 3600


def _open(kind: str, token: str) -> Handle:
    handle = flow.invitation_open(token=token) if kind == "i" else flow.resume_open(token=token)
    if handle is None:
        raise Http404(_("This link is not valid. Check that you copied all of it."))
    return handle


def form_languages(instrument) -> list[tuple[str, str]]:
    """The languages a form is written in, for its language switch: Kazakh, Russian and English
    first, then the form's others (named as the form names them, e.g. "Français"). A form
    without language columns offers the interface's languages: its one text serves them all."""
    available = [code for code in instrument.languages if code != "default"]
    if not available:
        return list(LANGUAGE_NAMES.items())
    ordered = [c for c in LANGUAGE_NAMES if c in available] + [c for c in available if c not in LANGUAGE_NAMES]
    return [(code, LANGUAGE_NAMES.get(code) or instrument.language_names.get(code) or code) for code in ordered]


def interface_language(language: str) -> str:
    """The interface's language for a form language: itself where the platform is translated into
    it, English otherwise (a form in French is answered with English buttons)."""
    return language if language in LANGUAGE_NAMES else "en"


def choose_language(request: HttpRequest, instrument, *earlier: str | None) -> str:
    offered = [code for code, _ in form_languages(instrument)]
    for candidate in (
        request.POST.get("lang"),
        request.GET.get("lang"),
        *earlier,
        translation.get_language_from_request(request),
        instrument.default_language,
    ):
        if candidate in offered:
            return candidate
    return offered[0]


def _languages(handle: Handle) -> list[tuple[str, str]]:
    return form_languages(handle.wave.version.instrument)


def _language(request: HttpRequest, handle: Handle) -> str:
    return choose_language(
        request,
        handle.wave.version.instrument,
        handle.response.language,
        handle.invitation.language if handle.invitation else None,
    )


def _base_context(request: HttpRequest, handle: Handle, language: str) -> dict:
    instrument = handle.wave.version.instrument
    return {
        "handle": handle,
        "title": instrument.title_in(language) or handle.wave.survey.title,
        "language": language,
        "languages": _languages(handle),
        "page_url": reverse(f"respondent-page-{handle.kind}", args=[handle.token]),
        "resume_url": request.build_absolute_uri(reverse("respondent-page-r", args=[handle.token]))
        if handle.kind == "r"
        else "",
    }


# never_cache: the browser's back button asks the server again instead of showing a stale
# page whose answers were already submitted.
@never_cache
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest, kind: str, token: str) -> HttpResponse:
    handle = _open(kind, token)
    language = _language(request, handle)
    with translation.override(interface_language(language)):
        if handle.response.status == Response.Status.COMPLETE:
            # Back on a submitted response (the back button, the link opened again): say so and
            # lead to the thank-you page, rather than show a form that can no longer be sent.
            context = {**_base_context(request, handle, language), "done_url": _done_url(handle)}
            return render(request, "surveys/respondent/submitted.html", context)
        reason = flow.link_refusal(handle)
        if reason:
            context = {**_base_context(request, handle, language), "reason": reason}
            return render(request, "surveys/respondent/closed.html", context, status=403)
        if request.method == "POST":
            return _post(request, handle, language)
        return _get(request, handle, language)


def _get(request: HttpRequest, handle: Handle, language: str) -> HttpResponse:
    instrument = handle.wave.version.instrument
    today = timezone.localdate()
    pages = applicable_pages(instrument, handle.response.answers, today) or [0]
    wanted = request.GET.get("page", "")
    index = int(wanted) if wanted.isdecimal() and int(wanted) in pages else handle.response.last_page
    if index not in pages:
        index = pages[0]
    if request.GET.get("lang") and request.GET["lang"] != handle.response.language:
        Response.objects.filter(pk=handle.response.pk).update(language=language)
    return _render_page(request, handle, language, index, handle.response.answers, {})


def _post(request: HttpRequest, handle: Handle, language: str) -> HttpResponse:
    instrument = handle.wave.version.instrument
    raw_page = request.POST.get("page", "")
    if not raw_page.isdecimal() or int(raw_page) >= len(instrument.pages):
        return redirect(f"respondent-page-{handle.kind}", token=handle.token)
    index = int(raw_page)
    action = request.POST.get("action", "stay")
    if request.POST.get("lang"):
        action = "stay"  # a language switch saves the page and shows it again
    posted = page_answers(instrument, index, request.POST)
    if entries_change(posted, action):  # a repeat's "add an entry" or "remove entry 2": saved, page shown again
        action = "stay"
    if action not in ACTIONS:
        action = "stay"
    result = flow.page_save(handle=handle, page=index, posted=posted, language=language, action=action)
    if result.completed:
        return redirect(f"respondent-done-{handle.kind}", token=handle.token)
    if result.quota_full:
        context = {**_base_context(request, handle, language), "reason": result.refused}
        return render(request, "surveys/respondent/quota_full.html", context, status=409)
    if result.refused:
        context = {**_base_context(request, handle, language), "reason": result.refused}
        return render(request, "surveys/respondent/closed.html", context, status=403)
    if result.errors:
        shown = merge(handle.response.answers, posted)
        return _render_page(request, handle, language, result.page, shown, result.errors, status=400)
    url = reverse(f"respondent-page-{handle.kind}", args=[handle.token])
    return redirect(f"{url}?page={result.page}&lang={language}")


def _render_page(
    request: HttpRequest, handle: Handle, language: str, index: int, values: dict, errors: dict, status: int = 200
) -> HttpResponse:
    instrument = handle.wave.version.instrument
    today = timezone.localdate()
    pages = applicable_pages(instrument, handle.response.answers, today) or [index]
    if index not in pages:
        pages = sorted({*pages, index})
    position = pages.index(index)
    group = instrument.pages[index].group
    context = {
        **_base_context(request, handle, language),
        "page": index,
        "page_title": plain_label(instrument.text(instrument.groups[group].labels, language)) if group else "",
        "sections": build_sections(instrument, index, values, errors, language, today, flow.prefilled_fields(handle)),
        "errors": errors,
        "position": position + 1,
        "page_count": len(pages),
        "percent": round(100 * position / len(pages)),
        "is_first": position == 0,
        "is_last": position == len(pages) - 1,
        "save_url": reverse(f"respondent-save-{handle.kind}", args=[handle.token]),
        "done_url": _done_url(handle),
    }
    return render(request, "surveys/respondent/page.html", context, status=status)


def _done_url(handle: Handle) -> str:
    return reverse(f"respondent-done-{handle.kind}", args=[handle.token])


@never_cache
@require_http_methods(["GET", "POST"])
def save(request: HttpRequest, kind: str, token: str) -> JsonResponse:
    """The page script's autosave and relevance check: saves valid answers, returns what to show.

    A refusal is a 409 whose reason the script tells apart from a lost connection: "submitted"
    (with the thank-you page's address) or "closed" (with the wave's message). GET saves nothing:
    it is how a page the browser restored from its cache asks whether it is still current.
    """
    handle = _open(kind, token)
    language = _language(request, handle)
    if handle.response.status == Response.Status.COMPLETE:
        return JsonResponse({"saved": False, "reason": "submitted", "done_url": _done_url(handle)}, status=409)
    with translation.override(interface_language(language)):
        refusal = flow.link_refusal(handle)
    if refusal:
        return JsonResponse({"saved": False, "reason": "closed", "message": refusal}, status=409)
    if request.method == "GET":
        return JsonResponse({"status": handle.response.status})
    instrument = handle.wave.version.instrument
    raw_page = request.POST.get("page", "")
    if not raw_page.isdecimal() or int(raw_page) >= len(instrument.pages):
        return JsonResponse({"saved": False, "reason": "page"}, status=400)
    with translation.override(interface_language(language)):
        posted = page_answers(instrument, int(raw_page), request.POST)
        result = flow.page_save(handle=handle, page=int(raw_page), posted=posted, language=language, action="stay")
        if result.quota_full:
            message = _(
                "We already have all the answers we need from people in your situation, so your answers "
                "will not be recorded this time. Thank you for your time."
            )
            return JsonResponse({"saved": False, "reason": "quota_full", "message": message}, status=409)
    if not result.saved:
        return JsonResponse({"saved": False, "reason": "closed", "message": result.refused}, status=409)
    visible = visible_names(instrument, handle.response.answers, timezone.localdate())
    return JsonResponse({"saved": True, "errors": result.errors, "visible": sorted(visible)})


def done(request: HttpRequest, kind: str, token: str) -> HttpResponse:
    handle = _open(kind, token)
    language = _language(request, handle)
    with translation.override(interface_language(language)):
        if handle.response.status != Response.Status.COMPLETE:
            return redirect(f"respondent-page-{kind}", token=token)
        context = {
            **_base_context(request, handle, language),
            "registry_invited": flow.consented_to_registry(handle.response),
            "registry_url": _registry_url(kind, token),
        }
        return render(request, "surveys/respondent/done.html", context)


def _registry_url(kind: str, token: str) -> str:
    """The registry's sign-up, carrying the link so it can prefill the profile from this response."""
    join = link("registry-join")
    return join + "?" + urlencode({"from": f"{kind}:{token}"}) if join else ""


@require_http_methods(["GET", "POST"])
def public_start(request: HttpRequest, slug: str) -> HttpResponse:
    wave = get_object_or_404(Wave.objects.select_related("version__survey"), slug=slug)
    cookie = RESUME_COOKIE.format(wave.pk)
    earlier = flow.resume_open(token=request.COOKIES.get(cookie, ""))
    if earlier is not None and earlier.wave.pk == wave.pk:
        return redirect("respondent-page-r", token=earlier.token)
    instrument = wave.version.instrument
    offered = form_languages(instrument)
    language = choose_language(request, instrument)
    with translation.override(interface_language(language)):
        refusal = flow.public_refusal(wave)
        context = {
            "wave": wave,
            "title": instrument.title_in(language) or wave.survey.title,
            "language": language,
            "languages": offered,
            "is_open": refusal is None,
            "reason": refusal.reason if refusal else "",
        }
        if refusal is not None:
            return render(request, "surveys/respondent/start.html", context, status=refusal.http_status)
        if request.method == "GET" or request.POST.get("action") != "start":
            return render(request, "surveys/respondent/start.html", context)
        handle = flow.public_start(wave=wave, language=language)
    reply = redirect("respondent-page-r", token=handle.token)
    reply.set_cookie(
        cookie, handle.token, max_age=RESUME_COOKIE_AGE, httponly=True, samesite="Lax", secure=request.is_secure()
    )
    return reply
