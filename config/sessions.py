"""Database sessions that refuse malformed session keys before any query.

Django's own check only looks at the length, so a cookie carrying a NUL byte
reached PostgreSQL, which rejects such text outright: a forged cookie must
mean "no session", never a server error.
"""

import re

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY_RE = re.compile(r"^[a-z0-9]{8,64}$")


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return bool(key) and _KEY_RE.match(key) is not None
