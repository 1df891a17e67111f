"""`make run`'s last words before the server starts: where the platform is, whom to sign
in as, and what each role can try first (the demo's details are in var/demo.log)."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.demo import DEMO_ACCOUNTS
from accounts.models import Role

# What each demo account sees first and what to try there (the accounts come from accounts.demo).
TRY_FIRST = {
    "graduate": "your surveys and registry profile; accept the offer waiting in Messages",
    "programme-admin": "Bolashak: open a wave, preview its letters, send invitations; review a data request",
    "serpin-admin": "Serpin-2050: returns and work obligations, its invitation-only wave",
    "institution": "your expert requests: Find experts now, offer one to an expert",
    "researcher": "your data requests: download the approved file, ask for a new one",
    "superuser": "every programme, and the administration at /admin/",
}


class Command(BaseCommand):
    help = "Print how to use the local demo: the address, each role's account and what to try first."

    def add_arguments(self, parser):
        parser.add_argument("--address", default="http://127.0.0.1:8000", help="where the server listens")

    def handle(self, *args, address: str, **options):
        address = address.rstrip("/")
        write = self.stdout.write
        write("")
        write(self.style.SUCCESS(f"Kelu is starting at {address}/ (stop it with Ctrl+C)"))
        write(f"Sign in at {address}/accounts/login/ with one of these demo accounts:")
        write("")
        width = max(len(username) for username, *_rest in DEMO_ACCOUNTS)
        for username, role, password, _staff, superuser, _programme in DEMO_ACCOUNTS:
            label = "Superuser" if superuser else str(Role(role).label)
            write(f"  {username:<{width}}  {password:<24} {label}")
            if username in TRY_FIRST:
                write(f"  {'':<{width}}  try: {TRY_FIRST[username]}")
        write("")
        mail = settings.EMAIL_FILE_PATH if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend") else ""
        if mail:
            where = os.path.relpath(mail, settings.BASE_DIR) if mail.startswith(str(settings.BASE_DIR)) else mail
            write(f"E-mails the platform sends are saved as files in {where}/")
        write(f"Answer the demo survey without an account: {address}/s/graduates-2026/")
        write(f"API documentation: {address}/api/docs/   Demo data details: var/demo.log")
        write("")
