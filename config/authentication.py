import re

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

_TOKEN_RE = re.compile(r"^[0-9a-f]{40}$")


class StrictTokenAuthentication(TokenAuthentication):
    """Token auth that refuses malformed keys before they reach the database.

    A key with a NUL byte or stray characters is simply invalid; PostgreSQL
    would otherwise reject the lookup itself and turn a 401 into a server error.
    """

    def authenticate_credentials(self, key):
        if not _TOKEN_RE.match(key):
            raise AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
