"""What every registry page shares: who may open it, the header's navigation, error pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.names import shown_name

from ..models import Message, Person
from ..selectors import may_browse_registry, viewer_is_admin
from ..selectors_obligations import participations_own

PAGE_SIZE = 25


def works_with_requests(user: User) -> bool:
    """Institution staff, programme administrators and superusers."""
    return user.is_superuser or user.role in (Role.INSTITUTION_STAFF, Role.PROGRAMME_ADMIN)


def nav(request: HttpRequest, current: str) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"current": current}
    return {
        "current": current,
        "has_profile": Person.objects.filter(user=user).exists(),
        "unread": Message.objects.filter(recipient=user, read_at__isnull=True).count(),
        "can_requests": works_with_requests(user),
        "can_browse": may_browse_registry(user),
        "is_admin": viewer_is_admin(user),
        "has_obligations": participations_own(user).exists(),
    }


def page(request: HttpRequest, template: str, context: dict[str, Any], *, current: str = "", status: int = 200):
    return render(request, template, {**context, "nav": nav(request, current)}, status=status)


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    """403 with a page that says why (a wrong role is not an error of the visitor's)."""
    return page(request, "diaspora/forbidden.html", {"reason": reason}, status=403)


def allowed_if(check: Callable[[User], bool], reason: Callable[[], str]):
    """Signed in (else the login page) and passing `check` (else a 403 page giving `reason`)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                return forbidden(request, reason())
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


staff_only = allowed_if(
    works_with_requests,
    lambda: _("Expertise requests are for the staff of home institutions and for programme administrators."),
)
registry_readers = allowed_if(
    may_browse_registry,
    lambda: _("Researchers work with anonymised exports; the registry's people are not open to them."),
)
admins_only = allowed_if(viewer_is_admin, lambda: _("Matching runs and metrics are for programme administrators."))


def sender_label(user: User | None) -> str:
    """How a message's author is named: accounts.names.shown_name, as everywhere."""
    return shown_name(user)
