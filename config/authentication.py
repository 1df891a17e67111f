import copy
import re
import time

from django.conf import settings
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

_TOKEN_RE = re.compile(r"^[0-9a-f]{40}$")
_verified: dict[str, tuple[float, object, object]] = {}
_MAX_ENTRIES = 10_000


def forget_verified_tokens() -> None:
    _verified.clear()


class StrictTokenAuthentication(TokenAuthentication):
    """Token auth that refuses malformed keys before any query and remembers good ones briefly.

    A key with a NUL byte or stray characters is simply invalid; PostgreSQL would
    otherwise reject the lookup itself and turn a 401 into a server error.

    A verified key is remembered by this process for TOKEN_CACHE_SECONDS (30 s by
    default; 0 turns it off). The lookup is a third of the submission path's cost,
    and API clients send many requests in a row; the price is that a deleted token
    or a deactivated account is refused by every process within that time, not at once.
    """

    def authenticate_credentials(self, key):
        if not _TOKEN_RE.match(key):
            raise AuthenticationFailed("Invalid token.")
        ttl = settings.TOKEN_CACHE_SECONDS
        cached = _verified.get(key) if ttl else None
        if cached is not None and cached[0] > time.monotonic():
            # A copy per request: views may set attributes on request.user.
            return copy.copy(cached[1]), cached[2]
        user, token = super().authenticate_credentials(key)
        if ttl:
            if len(_verified) >= _MAX_ENTRIES:
                _verified.clear()
            _verified[key] = (time.monotonic() + ttl, user, token)
        return user, token
