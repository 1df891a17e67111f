"""API throttling per user (per address for anonymous calls), never a reason to fail a request.

The counts live in the cache (Redis in production, shared by every process). When the cache
cannot be reached the request is let through and the fault logged: throttling is a brake on
one client, while refusing everybody because Redis is down would be an outage. Sign-in
lockout does not live here: it is in the database (accounts/lockout.py).
"""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

log = logging.getLogger(__name__)


def _cache_errors() -> tuple[type[BaseException], ...]:
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is a requirement
        return (OSError,)
    return (OSError, redis.RedisError)


class UserThrottle(UserRateThrottle):
    """API_USER_THROTTLE_RATE ("600/min"; empty turns it off), read on each request."""

    scope = "user"

    def get_rate(self) -> str | None:
        return settings.API_USER_THROTTLE_RATE or None

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except _cache_errors() as exc:
            log.warning("API throttle skipped: the cache is unreachable (%s)", exc)
            return True
