"""The accounts the load scenario uses, written as JSON for the locustfile.

Staff: sessions of the demo's Bolashak administrator, made here as a sign-in makes them (staff
sign in once a day; a sign-in is 0.4 s of PBKDF2 by design, and 40 of them in the first two
seconds would measure the ramp, not the pages), plus its name and password for the scenario's
occasional sign-in. API clients: ten programme administrators of Bolashak made for the run,
each with a token (one client's requests stay under the per-user API throttle, as separate
programs' would).
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from rest_framework.authtoken.models import Token  # noqa: E402

from accounts.demo import DEMO_ACCOUNTS  # noqa: E402
from accounts.models import Programme, Role, User  # noqa: E402

API_CLIENTS = 10
STAFF_SESSIONS = 60


def staff_sessions(user: User, count: int) -> list[str]:
    """Session keys of `user` signed in (what django.contrib.auth.login stores)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = []
    for _ in range(count):
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def main(path: str) -> None:
    bolashak = Programme.objects.get(slug="bolashak")
    staff = [[name, password] for name, _role, password, _s, _su, programme in DEMO_ACCOUNTS if programme == "bolashak"]
    tokens = []
    for number in range(1, API_CLIENTS + 1):
        user, _ = User.objects.get_or_create(username=f"load-api-{number}", defaults={"role": Role.PROGRAMME_ADMIN})
        user.programmes.add(bolashak)
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    sessions = staff_sessions(User.objects.get(username=staff[0][0]), STAFF_SESSIONS)
    Path(path).write_text(json.dumps({"staff": staff, "sessions": sessions, "api": tokens}))


if __name__ == "__main__":
    main(sys.argv[1])
