from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import demo_accounts, demo_programmes
from diaspora.demo import registry_demo
from surveys.demo import (
    SERPIN_PANEL,
    demo_account_invited,
    demo_invitations,
    demo_responses,
    demo_wave,
    instruments_load,
)
from surveys.models import Survey


class Command(BaseCommand):
    help = "Load demo data: the standard instruments, a demo wave and one account per role (safe to rerun)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="load even when DEBUG is off")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Demo data includes accounts with published passwords (a superuser among them); "
                "it loads only with DEBUG on, or with --force."
            )
        with transaction.atomic():
            programmes = demo_programmes()
            # Bolashak owns the standard instruments, the demo wave, its panel and most requests;
            # Serpin-2050 has a survey, an invitation-only wave and a request of its own.
            versions = instruments_load(programmes["bolashak"])
            wave = demo_wave(versions[0])
            links = demo_invitations(wave)
            demo_responses(wave, links, invited=2, public=3)
            serpin_version = instruments_load(programmes["serpin-2050"], prefix="serpin-")[0]
            # Serpin-2050's survey takes answers only through its invitation-only wave.
            Survey.objects.filter(programme=programmes["serpin-2050"]).update(direct_responses=False)
            serpin_wave = demo_wave(serpin_version, slug="serpin-2026", name="Serpin-2050 graduates 2026", public=False)
            serpin_links = demo_invitations(
                serpin_wave, panel_slug="serpin-alumni", panel_name="Serpin-2050 graduates", members=SERPIN_PANEL
            )
            demo_responses(serpin_wave, serpin_links, invited=1, public=0)
            accounts = demo_accounts()
            graduate = next(user for user, _password, _token in accounts if user.username == "graduate")
            demo_account_invited(wave, user=graduate, name="Erlan Sadykov", language="kk")
            registry = registry_demo()
        for version in versions:
            self.stdout.write(f"Instrument: {version.survey.slug} v{version.number} ({', '.join(version.languages)})")
        self.stdout.write(f"Demo wave: {wave.slug} ({wave.survey.slug} v{wave.version.number}), open")
        self.stdout.write(f"  public link: http://127.0.0.1:8000/s/{wave.slug}/")
        for email, link in links:
            self.stdout.write(f"  invitation for {email}: {link}")
        self.stdout.write("  dashboard: http://127.0.0.1:8000/staff/ (as programme-admin, Bolashak)")
        self.stdout.write(f"Serpin-2050 wave: {serpin_wave.slug}, invitation only (as serpin-admin)")
        self.stdout.write(
            f"Registry: {registry['people']} experts, {registry['requests']} requests, matched once; "
            "http://127.0.0.1:8000/registry/ (the graduate has an offer; institution sees proposals)"
        )
        self.stdout.write("")
        self.stdout.write("Demo accounts (local use only):")
        for user, password, token in accounts:
            role = "superuser" if user.is_superuser else user.role
            self.stdout.write(f"  {role:18} {user.username:16} password {password:24} API token {token}")
        self.stdout.write("")
        self.stdout.write("Admin: http://127.0.0.1:8000/admin/   API docs: http://127.0.0.1:8000/api/docs/")
