"""Joining the registry and one's own profile: edit, confirm, pause, consents, engagements."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from surveys.services.respondent import RegistrySource, registry_source

from .. import selectors
from ..consents import CONSENT_TEXTS
from ..forms import (
    LEVEL_EXPLANATIONS,
    AccountForm,
    DeclineForm,
    FeedbackForm,
    ProfileForm,
    all_timezones,
    country_timezones,
    language,
    person_values,
    profile_initial,
)
from ..models import Consent, Match, Person
from ..selectors_obligations import participations_own
from ..services import lifecycle, registry
from .common import page, works_with_requests
from .display import match_view


def home(request: HttpRequest) -> HttpResponse:
    """A respondent's home: their surveys, their registry profile, messages and obligation.

    Visitors go to the site's front page, and staff to the front door's dispatch (their
    programmes for administrators, their requests for institution staff).
    """
    user = request.user
    if not user.is_authenticated or works_with_requests(user):
        return redirect("home")
    from django.utils.translation import get_language

    from surveys.selectors import surveys_of_respondent

    person = selectors.person_of(user)
    context = {
        "my_surveys": surveys_of_respondent(user, language=(get_language() or "kk")[:2]),
        "person": person,
        "participations": list(participations_own(user).select_related("programme")[:5]),
    }
    return page(request, "diaspora/home.html", context, current="home")


# --------------------------------------------------------------------------- joining


def _source(request: HttpRequest) -> tuple[str, RegistrySource | None]:
    """The survey response named by ?from=<kind>:<token>, when it may prefill a profile."""
    raw = request.GET.get("from", "")
    kind, _sep, token = raw.partition(":")
    if kind not in ("i", "r") or not token:
        return raw, None
    return raw, registry_source(kind=kind, token=token)


def _source_initial(source: RegistrySource | None) -> dict[str, Any]:
    if source is None:
        return {}
    values = registry.profile_prefill(source)
    values.pop("consent_contact", None)
    return profile_initial(values)


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and Person.objects.filter(user=request.user).exists():
        return redirect("diaspora-me")
    raw_from, source = _source(request)
    anonymous = not request.user.is_authenticated
    if request.method == "POST":
        form = ProfileForm(request.POST, with_consents=True)
        account = AccountForm(request.POST) if anonymous else None
        if form.is_valid() and (account is None or account.is_valid()):
            person = _register(request, form, account, source)
            if person is not None:
                messages.success(request, _("Welcome to the registry. Your profile is saved."))
                return redirect("diaspora-me")
    else:
        form = ProfileForm(initial=_source_initial(source), with_consents=True)
        account = AccountForm(initial={"email": source.email if source else ""}) if anonymous else None
    errors = (account.error_summary() if account is not None else []) + form.error_summary()
    context = {
        "form": form,
        "account": account,
        "error_summary": errors,
        "from_survey": source is not None,
        "bad_link": bool(raw_from) and source is None,
        "login_url": reverse("login") + "?next=" + request.get_full_path(),
        "timezones": country_timezones(),
        "all_timezones": all_timezones(),
        "levels": _levels(),
    }
    return page(request, "diaspora/registry/join.html", context, current="join", status=400 if errors else 200)


def _register(
    request: HttpRequest, form: ProfileForm, account: AccountForm | None, source: RegistrySource | None
) -> Person | None:
    """The account (when the visitor has none) and the profile in one transaction: a refused
    profile leaves no account behind, so the visitor can fix the form and submit again."""
    try:
        with transaction.atomic():
            user = account.create_user(preferred_language=language()) if account is not None else request.user
            person = registry.person_register(
                user=user,
                data=form.profile_input(),
                consents=form.consents(),
                source=Person.Source.SURVEY if source else Person.Source.DIRECT,
                source_response_id=source.response.pk if source else None,
            )
    except registry.RegistryInvalid as exc:
        form.add_service_errors(exc.errors)
        return None
    except IntegrityError:  # the username was taken between the check and the insert
        account.add_error("username", _("This username is taken; choose another or sign in."))
        return None
    if account is not None:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return person


def _levels() -> list[tuple[str, str]]:
    return [(level.label, text) for level, text in LEVEL_EXPLANATIONS.items()]


# --------------------------------------------------------------------------- my profile


def _my_person(request: HttpRequest) -> Person | None:
    return selectors.person_of(request.user)


@login_required
@require_http_methods(["GET", "POST"])
def me(request: HttpRequest) -> HttpResponse:
    person = _my_person(request)
    if person is None:
        return redirect("diaspora-join")
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                registry.person_update(person=person, data=form.profile_input())
            except registry.RegistryInvalid as exc:
                form.add_service_errors(exc.errors)
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("diaspora-me")
    else:
        form = ProfileForm(initial=profile_initial(person_values(person)))
    return _me_page(request, person, form)


def _me_page(request: HttpRequest, person: Person, form: ProfileForm) -> HttpResponse:
    lang = language()
    errors = form.error_summary()
    stale_before = selectors.stale_before()
    context = {
        "person": person,
        "form": form,
        "error_summary": errors,
        "stale": person.last_confirmed_at < stale_before or person.stale_warned_at is not None,
        "consents": _consent_rows(person),
        "engagements": [
            {
                **match_view(m, lang, show_location=True),
                "decline": DeclineForm(prefix=f"m{m.pk}"),
                "feedback": FeedbackForm(prefix=f"m{m.pk}"),
            }
            for m in selectors.matches_of_person(person)
        ],
        "timezones": country_timezones(),
        "all_timezones": all_timezones(),
        "levels": _levels(),
        "statuses": Person.Status,
    }
    return page(request, "diaspora/registry/me.html", context, current="me", status=400 if errors else 200)


@login_required
def me_as_institution(request: HttpRequest) -> HttpResponse:
    """One's own profile as a home institution sees it, decided by the same selectors as the
    institution's own pages (see selectors_offers.person_as_institution_sees)."""
    from ..forms import GROUP_LABELS, GROUPS
    from ..selectors_offers import person_as_institution_sees
    from .display import card_view

    person = _my_person(request)
    if person is None:
        return redirect("diaspora-join")
    seen = person_as_institution_sees(person)
    context = {
        "person": person,
        "seen": seen,
        "card": card_view(seen.card, language()) if seen.card is not None else None,
        "hidden": [GROUP_LABELS[g] for g in GROUPS if g not in seen.groups and g != "contact"],
        "can_write": bool(seen.card and seen.card.get("can_message")),
    }
    return page(request, "diaspora/registry/preview.html", context, current="me")


def _consent_rows(person: Person) -> list[dict[str, Any]]:
    live = {c.purpose: c for c in person.consents.all() if c.withdrawn_at is None}
    return [
        {
            "purpose": purpose,
            "label": Consent.Purpose(purpose).label,
            "text": text,
            "version": version,
            "live": live.get(purpose),
            "older_wording": purpose in live and live[purpose].text_version != version,
        }
        for purpose, (version, text) in CONSENT_TEXTS.items()
    ]


@login_required
@require_POST
def confirm(request: HttpRequest) -> HttpResponse:
    person = _my_person(request)
    if person is None:
        return redirect("diaspora-join")
    registry.person_confirm(person=person)
    messages.success(request, _("Thank you: your profile is confirmed as correct."))
    return redirect("diaspora-me")


STATUS_MESSAGES = {
    Person.Status.ACTIVE: lambda: _("Your profile is active again."),
    Person.Status.PAUSED: lambda: _(
        "Your profile is paused: you are not listed nor proposed until you resume. Nothing is lost."
    ),
    Person.Status.CLOSED: lambda: _("Your profile is closed and your consents are withdrawn."),
}


@login_required
@require_POST
def set_status(request: HttpRequest) -> HttpResponse:
    person = _my_person(request)
    if person is None:
        return redirect("diaspora-join")
    status = request.POST.get("status", "")
    if status not in Person.Status.values:
        messages.error(request, _("Unknown profile status."))
        return redirect("diaspora-me")
    registry.person_set_status(person=person, status=status)
    messages.success(request, STATUS_MESSAGES[status]())
    if status == Person.Status.ACTIVE and Consent.Purpose.REGISTRY not in selectors.live_consents(person):
        messages.warning(request, _("To be listed again, give your consent to be listed below."))
    return redirect("diaspora-me")


@login_required
@require_POST
def consent(request: HttpRequest, purpose: str, action: str) -> HttpResponse:
    """Give or withdraw one consent; withdrawing works whatever state the profile is in."""
    person = _my_person(request)
    if person is None:
        return redirect("diaspora-join")
    if purpose not in Consent.Purpose.values or action not in ("give", "withdraw"):
        raise Http404
    label = Consent.Purpose(purpose).label
    if action == "give":
        registry.consent_give(person=person, purpose=purpose, source="profile page")
        messages.success(request, _("Consent given: %(consent)s.") % {"consent": label})
    else:
        registry.consent_withdraw(person=person, purpose=purpose)
        messages.success(request, _("Consent withdrawn: %(consent)s.") % {"consent": label})
    back = request.POST.get("next", "")  # the data page withdraws here too, and comes back
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        return redirect(back)
    return redirect(reverse("diaspora-me") + "#consents")


# --------------------------------------------------------------------------- my engagements


def _my_match(request: HttpRequest, match_id: int) -> Match:
    person = _my_person(request)
    if person is None:
        raise Http404
    match = selectors.matches_of_person(person).select_related("person").filter(pk=match_id).first()
    if match is None:
        raise Http404
    return match


@login_required
@require_POST
def engagement(request: HttpRequest, match_id: int, action: str) -> HttpResponse:
    match = _my_match(request, match_id)
    back = redirect(reverse("diaspora-me") + "#engagements")
    try:
        if action == "accept":
            lifecycle.match_accept(match=match, user=request.user)
            messages.success(request, _("Accepted. The institution has been told and will confirm the start."))
        elif action == "decline":
            form = DeclineForm(request.POST, prefix=f"m{match.pk}")
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            lifecycle.match_decline(match=match, user=request.user, reason=reason)
            messages.success(request, _("Declined. Thank you for answering."))
        elif action == "feedback":
            form = FeedbackForm(request.POST, prefix=f"m{match.pk}")
            if not form.is_valid():
                messages.error(request, _("A rating is a whole number from 1 to 5."))
                return back
            lifecycle.match_expert_feedback(
                match=match,
                user=request.user,
                rating=form.cleaned_data["rating"],
                feedback=form.cleaned_data["feedback"],
            )
            messages.success(request, _("Thank you for your feedback."))
        else:
            raise Http404
    except lifecycle.TransitionRefused as exc:
        messages.error(request, str(exc))
    return back
