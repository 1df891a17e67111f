"""Sign-in lockout, on every sign-in path (the sign-in page, the admin's, the API token).

django-axes records failed sign-ins in the database (so signing in never depends on the cache
or the broker) and refuses further attempts for a cool-off period:

- one account from one address: after LOGIN_FAILURE_LIMIT failures (AXES_FAILURE_LIMIT). The
  right password from another address still signs in, so an attacker cannot lock the owner out;
- one address over every account: after LOGIN_ADDRESS_FAILURE_LIMIT failures (higher: a
  university's network shares one address among many people).
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


class AccountAndAddressHandler(AxesDatabaseHandler):
    """axes' database handler with a limit of its own for an address over all accounts.

    AXES_LOCKOUT_PARAMETERS is [["username", "ip_address"], "ip_address"]: axes counts the
    failures of each and compares the largest with one limit. The address's count is scaled
    so that it reaches that limit at LOGIN_ADDRESS_FAILURE_LIMIT failures."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        counts = [
            attempts.values_list("failures_since_start", flat=True)
            for attempts in self.get_user_attempts(request, credentials)
        ]
        pair, address = (sum(c) for c in counts) if len(counts) == 2 else (max(sum(c) for c in counts), 0)
        scaled = address * settings.AXES_FAILURE_LIMIT // max(1, settings.LOGIN_ADDRESS_FAILURE_LIMIT)
        return max(pair, scaled)


def client_address(request: HttpRequest) -> str:
    """The client's address as the API throttles see it: REMOTE_ADDR, or with NUM_PROXIES
    trusted proxies the address that many hops from the right of X-Forwarded-For (a
    client-written header is never trusted beyond them)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote


def locked_out(request: HttpRequest, original_response: HttpResponse | None = None, credentials=None) -> HttpResponse:
    """429 with Retry-After: JSON under /api/, the sign-in page (with the reason) elsewhere."""
    cool_off = get_cool_off(request)
    minutes = max(1, int(cool_off.total_seconds() // 60)) if cool_off else None
    message = _("Too many failed sign-ins for this account from your network. Try again in %(minutes)s minutes.") % {
        "minutes": minutes or 15
    }
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
