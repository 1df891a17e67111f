"""Where the site's root and a fresh sign-in lead: each role to the page it works on."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import Role


def landing(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_authenticated and user.role == Role.RESEARCHER and not user.is_superuser:
        return redirect("analytics:research")  # researchers start from their data requests
    return redirect("diaspora-home")


def site_areas(request: HttpRequest) -> dict:
    """The platform's areas a signed-in user works in (for every base layout's navigation).

    Decided here, at the top, so an app's layout links to another app's pages without
    naming them.
    """
    from django.urls import reverse
    from django.utils.translation import gettext_lazy as _

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"site_areas": []}
    admin = user.is_superuser or user.role == Role.PROGRAMME_ADMIN
    areas = []
    if admin:
        areas.append((_("Waves"), reverse("staff:waves")))
    areas.append((_("Registry"), reverse("diaspora-home")))
    if admin or user.role == Role.RESEARCHER:
        areas.append((_("Analytics"), reverse("analytics:home")))
    return {"site_areas": areas}
