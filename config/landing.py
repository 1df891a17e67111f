"""The site's front door: the public home page, each role's home after signing in, and
the areas every page's navigation shows.

This is the composition layer above the apps (like config/urls.py): it names each
app's pages so that no app has to name another's.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.scoping import is_programme_admin


def landing(request: HttpRequest) -> HttpResponse:
    """`/`: a page about the platform for visitors; each signed-in role's own home otherwise."""
    user = request.user
    if not user.is_authenticated:
        return render(request, "home/public.html", {})
    if is_programme_admin(user):
        from .home import programmes_home

        return programmes_home(request)
    if user.role == Role.RESEARCHER:
        return redirect("analytics:research")  # researchers start from their data requests
    if user.role == Role.INSTITUTION_STAFF:
        return redirect("diaspora-requests")
    return redirect("diaspora-home")  # respondents: their surveys, profile and messages


@dataclass(frozen=True)
class Area:
    label: str | Promise
    url: str
    current: bool = False


def _areas_for(user) -> list[tuple[str | Promise, str, tuple[str, ...]]]:
    """(label, url, path prefixes that belong to the area) for what this user works on."""
    areas: list[tuple[str | Promise, str, tuple[str, ...]]] = []
    admin = is_programme_admin(user)
    respondent = not admin and user.role == Role.RESPONDENT
    areas.append((_("Home"), reverse("home"), ("/registry/",) if respondent else ()))
    if admin:
        areas.append((_("Surveys"), reverse("staff:waves"), ("/staff/",)))
        areas.append((_("Expert requests"), reverse("diaspora-requests"), ("/registry/requests/", "/registry/admin/")))
        areas.append((_("Returns"), reverse("diaspora-obligations"), ("/registry/returns/",)))
        areas.append((_("Analytics"), reverse("analytics:home"), ("/analytics/",)))
        areas.append((_("Administration"), reverse("admin:index"), ("/admin/",)))
    elif user.role == Role.RESEARCHER:
        areas.append((_("Research data"), reverse("analytics:research"), ("/analytics/research/",)))
        areas.append((_("Official statistics"), reverse("analytics:official"), ("/analytics/official/",)))
    elif user.role == Role.INSTITUTION_STAFF:
        areas.append((_("Expert requests"), reverse("diaspora-requests"), ("/registry/requests/",)))
        areas.append((_("Messages"), reverse("diaspora-inbox"), ("/registry/messages/",)))
    else:
        areas.append((_("Messages"), reverse("diaspora-inbox"), ("/registry/messages/",)))
    return areas


def site_areas(request: HttpRequest) -> dict:
    """Context for every page's header: the user's areas (the current one marked) and name."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"site_areas": [], "site_user_name": ""}
    path = request.path
    entries = _areas_for(user)
    # The current area is the one whose prefix matches the longest part of the path.
    best, best_length = None, 0
    for index, (_label, url, prefixes) in enumerate(entries):
        for prefix in (url, *prefixes):
            if path.startswith(prefix) and len(prefix) > best_length and (prefix != "/" or path == "/"):
                best, best_length = index, len(prefix)
    areas = [Area(label, url, index == best) for index, (label, url, _prefixes) in enumerate(entries)]
    return {"site_areas": areas, "site_user_name": user.get_full_name() or user.get_username()}
