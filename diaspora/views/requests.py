"""Home institutions' expertise requests: post, edit, find experts, follow proposals to feedback.

Requests are looked up through selectors.request_get_for (outside the viewer's scope: 404);
the lifecycle services check again that the user may act on a request's matches.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .. import selectors
from ..explanations import filter_trail
from ..forms import AccessibleForm, FeedbackForm, RequestForm, language, request_initial
from ..models import ExpertiseRequest, Match, Person
from ..selectors_matching import request_row
from ..selectors_offers import threads_for_request
from ..services import lifecycle, matching
from ..services.messages import OFFER_NOTE_MAX, MessageRefused, offer_note_clean
from ..services.registry import RegistryInvalid
from ..services.requests import request_close, request_create, request_update
from .common import PAGE_SIZE, forbidden, page, sender_label, staff_only
from .display import card_view, match_view


@staff_only
def request_list(request: HttpRequest) -> HttpResponse:
    requests = selectors.requests_visible_to(request.user)
    status = request.GET.get("status", "")
    if status in ExpertiseRequest.Status.values:
        requests = requests.filter(status=status)
    listing = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": listing,
        "status": status,
        "statuses": ExpertiseRequest.Status.choices,
        "can_post": selectors.institutions_of(request.user).exists(),
    }
    return page(request, "diaspora/requests/list.html", context, current="requests")


def _no_institution(request: HttpRequest) -> HttpResponse:
    return forbidden(
        request, _("Only the staff of a home institution can post its requests; you are not a member of any.")
    )


@staff_only
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    institutions = list(selectors.institutions_of(request.user))
    if not institutions:
        return _no_institution(request)
    form = RequestForm(request.POST or None, institutions=institutions)
    if request.method == "POST" and form.is_valid():
        try:
            created = request_create(user=request.user, data=form.request_input())
        except RegistryInvalid as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(request, _("Your request is posted. Find experts now, or wait for the nightly matching."))
            return redirect("diaspora-request", request_id=created.pk)
    return _form_page(request, form, None)


@staff_only
@require_http_methods(["GET", "POST"])
def request_edit(request: HttpRequest, request_id: int) -> HttpResponse:
    expertise_request = selectors.request_get_for(request.user, request_id)
    institutions = list(selectors.institutions_of(request.user))
    if expertise_request.institution not in institutions:
        return forbidden(request, _("Only the staff of the requesting institution can change this request."))
    form = RequestForm(request.POST or None, institutions=institutions, initial=request_initial(expertise_request))
    if request.method == "POST" and form.is_valid():
        try:
            request_update(request=expertise_request, user=request.user, data=form.request_input())
        except RegistryInvalid as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(request, _("The request is saved."))
            return redirect("diaspora-request", request_id=expertise_request.pk)
    return _form_page(request, form, expertise_request)


def _form_page(request: HttpRequest, form: RequestForm, expertise_request: ExpertiseRequest | None) -> HttpResponse:
    errors = form.error_summary()
    context = {"form": form, "expertise_request": expertise_request, "error_summary": errors}
    return page(request, "diaspora/requests/form.html", context, current="requests", status=400 if errors else 200)


# --------------------------------------------------------------------------- one request


def _shows_location(user, person: Person) -> bool:
    return "location" in selectors.visible_groups(user, person)


@staff_only
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    expertise_request = selectors.request_get_for(request.user, request_id)
    lang = language()
    threads = threads_for_request(expertise_request)
    proposals = []
    for match in selectors.matches_for_request(request.user, expertise_request):
        view = match_view(match, lang, show_location=_shows_location(request.user, match.person))
        view["person"] = match.person
        view["complete"] = FeedbackForm(prefix=f"m{match.pk}")
        # The conversation with the expert about this offer, whichever staff member it went to.
        view["thread"] = [(m, sender_label(m.sender)) for m in threads.get(match.pk, [])]
        # Open when the expert wrote last: a question is waiting for the institution.
        view["thread_open"] = bool(view["thread"]) and view["thread"][-1][0].sender_id == match.person.user_id
        proposals.append(view)
    context = {
        "expertise_request": expertise_request,
        "facts": _facts(expertise_request, lang),
        "proposals": proposals,
        "waiting": sum(1 for p in proposals if p["match"].status == Match.Status.PROPOSED),
        "can_edit": selectors.institutions_of(request.user).filter(pk=expertise_request.institution_id).exists(),
        "is_open": expertise_request.status == ExpertiseRequest.Status.OPEN,
    }
    return page(request, "diaspora/requests/detail.html", context, current="requests")


def _facts(expertise_request: ExpertiseRequest, lang: str) -> dict[str, Any]:
    from .. import vocabularies as vocab

    return {
        "field": vocab.field_label(expertise_request.field_of_study, lang) if expertise_request.field_of_study else "",
        "skills": [vocab.skill_label(s, lang) for s in expertise_request.skills],
        "languages": [vocab.language_label(code, lang) for code in expertise_request.languages],
        "region": vocab.region_label(expertise_request.region, lang) if expertise_request.region else "",
    }


@staff_only
def request_top(request: HttpRequest, request_id: int) -> HttpResponse:
    """The best 20 experts right now, each with score, component bars and explanation; when
    there is nobody, the filter that emptied the list and how many each filter kept."""
    expertise_request = selectors.request_get_for(request.user, request_id)
    try:
        result = matching.request_top(request=expertise_request, k=20)
    except matching.MatchingRefused as exc:
        messages.error(request, str(exc))
        return redirect("diaspora-request", request_id=expertise_request.pk)
    lang = language()
    row = request_row(expertise_request)
    # The index may be minutes old: whoever hid, paused or withdrew since is dropped here.
    ids = [c.person_id for c in result.candidates]
    shown = {
        p.pk: p
        for p in selectors.people_listed_for(request.user)
        .filter(pk__in=ids)
        .filter(pk__in=selectors.people_matchable().values("pk"))
        .prefetch_related("offers", "programmes")
    }
    experts = []
    for rank, candidate in enumerate(result.candidates, start=1):
        person = shown.get(candidate.person_id)
        if person is None:
            continue
        match = matching.match_from_candidate(candidate, row, run=None, rank=rank)
        view = match_view(match, lang, show_location=_shows_location(request.user, person))
        view["card"] = card_view(selectors.person_card(request.user, person), lang)
        view["rank"] = len(experts) + 1
        view["note"] = OfferForm(prefix=f"p{person.pk}")
        experts.append(view)
    context = {
        "expertise_request": expertise_request,
        "experts": experts,
        "why_nobody": "" if experts else matching.why_nobody(result.steps),
        "trail": filter_trail(result.steps),
    }
    return page(request, "diaspora/requests/top.html", context, current="requests")


# --------------------------------------------------------------------------- actions


@staff_only
@require_POST
def request_offer(request: HttpRequest, request_id: int) -> HttpResponse:
    expertise_request = selectors.request_get_for(request.user, request_id)
    sent = lifecycle.request_offer_proposals(request=expertise_request, user=request.user)
    messages.success(request, _("%(count)s proposals were sent to the experts.") % {"count": sent})
    return redirect("diaspora-request", request_id=expertise_request.pk)


# --------------------------------------------------------------------------- offering one expert


class OfferForm(AccessibleForm):
    """The institution's personal note: plain text, checked by the offer service's own rule."""

    note = forms.CharField(
        label=gettext_lazy("A personal note (optional)"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "offer-note"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].help_text = _(
            "Plain text, at most %(limit)s characters. It is added to the message exactly as you write it."
        ) % {"limit": OFFER_NOTE_MAX}

    def clean_note(self) -> str:
        try:
            return offer_note_clean(self.cleaned_data["note"])
        except MessageRefused as exc:
            raise forms.ValidationError(str(exc)) from None


@staff_only
@require_http_methods(["GET", "POST"])
def request_offer_expert(request: HttpRequest, request_id: int, person_id: int) -> HttpResponse:
    """Offer the request to one expert now: their card, a note, the message exactly as it will be
    sent (in the expert's language); "Send the offer" makes it, "Update the preview" shows it again."""
    expertise_request = selectors.request_get_for(request.user, request_id)
    person = (
        selectors.people_listed_for(request.user).filter(pk=person_id).prefetch_related("offers", "programmes").first()
    )
    if person is None:  # paused, hidden or withdrawn since the list was shown (or never listed for this viewer)
        messages.error(request, str(lifecycle.NOT_RECEIVING))
        return redirect("diaspora-request-top", request_id=expertise_request.pk)
    asked = Match.objects.filter(request=expertise_request, person=person).first()
    form = OfferForm(request.POST or None, prefix=f"p{person.pk}")
    if asked is not None and asked.status != Match.Status.PROPOSED:
        return _offer_page(request, expertise_request, person, form, draft=None, asked=asked)
    if request.method == "POST" and "send" in request.POST and form.is_valid():
        try:
            made = lifecycle.request_offer_person(
                request=expertise_request, person_id=person.pk, user=request.user, note=form.cleaned_data["note"]
            )
        except lifecycle.TransitionRefused as exc:
            return _offer_refused(request, expertise_request, asked, exc)
        if made.sent:
            messages.success(request, _("The offer is sent to %(name)s, who is told by e-mail.") % _named(person))
        else:
            messages.info(request, _("%(name)s had already been offered this request; nothing was sent again.")
                          % _named(person))  # fmt: skip
        return redirect(reverse("diaspora-request", args=[expertise_request.pk]) + f"#match-{made.match.pk}")
    note = form.cleaned_data["note"] if form.is_bound and form.is_valid() else ""
    try:
        draft = lifecycle.offer_preview(request=expertise_request, person_id=person.pk, user=request.user, note=note)
    except lifecycle.TransitionRefused as exc:
        return _offer_refused(request, expertise_request, asked, exc)
    return _offer_page(request, expertise_request, person, form, draft=draft, asked=asked)


def _named(person: Person) -> dict[str, str]:
    return {"name": person.display_name}


def _offer_refused(request: HttpRequest, expertise_request: ExpertiseRequest, asked, exc: Exception) -> HttpResponse:
    """The candidate changed since the list was shown: say why, and go back to a fresh list."""
    messages.error(request, str(exc))
    if asked is not None or expertise_request.status != ExpertiseRequest.Status.OPEN:
        return redirect("diaspora-request", request_id=expertise_request.pk)
    return redirect("diaspora-request-top", request_id=expertise_request.pk)


def _offer_page(request, expertise_request, person, form, *, draft, asked) -> HttpResponse:
    lang = language()
    card = card_view(selectors.person_card(request.user, person), lang)
    shown = draft.match if draft is not None else asked
    view = match_view(shown, lang, show_location=_shows_location(request.user, person))
    errors = form.error_summary() if form.is_bound else []
    context = {
        "expertise_request": expertise_request,
        "card": card,
        "view": view,
        "form": form,
        "error_summary": errors,
        "draft": draft,
        "draft_language": get_language_info(draft.language)["name_translated"] if draft else "",
        "asked": asked if asked is not None and asked.status != Match.Status.PROPOSED else None,
    }
    return page(request, "diaspora/requests/offer.html", context, current="requests", status=400 if errors else 200)


@staff_only
@require_POST
def request_close_view(request: HttpRequest, request_id: int) -> HttpResponse:
    expertise_request = selectors.request_get_for(request.user, request_id)
    request_close(request=expertise_request)
    messages.success(request, _("The request is closed; proposals not yet answered were withdrawn."))
    return redirect("diaspora-request", request_id=expertise_request.pk)


@staff_only
@require_POST
def match_action(request: HttpRequest, request_id: int, match_id: int, action: str) -> HttpResponse:
    expertise_request = selectors.request_get_for(request.user, request_id)
    if action not in ("withdraw", "activate", "complete"):
        raise Http404
    match = selectors.match_for_staff(request.user, match_id, request_id=expertise_request.pk)
    back = redirect(reverse("diaspora-request", args=[expertise_request.pk]) + f"#match-{match.pk}")
    try:
        if action == "withdraw":
            lifecycle.match_withdraw(match=match, user=request.user)
            messages.success(request, _("The proposal is withdrawn."))
        elif action == "activate":
            lifecycle.match_activate(match=match, user=request.user)
            messages.success(request, _("The engagement is marked as started."))
        else:
            form = FeedbackForm(request.POST, prefix=f"m{match.pk}")
            if not form.is_valid():
                messages.error(request, _("A rating is a whole number from 1 to 5."))
                return back
            lifecycle.match_complete(
                match=match,
                user=request.user,
                rating=form.cleaned_data["rating"],
                feedback=form.cleaned_data["feedback"],
            )
            messages.success(request, _("The engagement is completed. Thank you for the feedback."))
    except lifecycle.TransitionRefused as exc:
        messages.error(request, str(exc))
    return back
