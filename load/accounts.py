"""The accounts the load scenario signs in with, written as JSON for the locustfile.

Staff: the demo's Bolashak administrator (its demo password). API clients: ten programme
administrators of Bolashak made for the run, each with a token (one client's requests stay
under the per-user API throttle, as separate programs' would).
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


def main(path: str) -> None:
    bolashak = Programme.objects.get(slug="bolashak")
    staff = [[name, password] for name, _role, password, _s, _su, programme in DEMO_ACCOUNTS if programme == "bolashak"]
    tokens = []
    for number in range(1, API_CLIENTS + 1):
        user, _ = User.objects.get_or_create(username=f"load-api-{number}", defaults={"role": Role.PROGRAMME_ADMIN})
        user.programmes.add(bolashak)
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    Path(path).write_text(json.dumps({"staff": staff, "api": tokens}))


if __name__ == "__main__":
    main(sys.argv[1])
