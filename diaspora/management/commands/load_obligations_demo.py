from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from diaspora.obligations_demo import obligations_demo


class Command(BaseCommand):
    help = "Synthetic Bolashak and Serpin-2050 participants with episodes, after load_demo (safe to rerun)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="load even when DEBUG is off")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data loads only with DEBUG on, or with --force.")
        counts = obligations_demo()
        for programme, statuses in counts.items():
            total = sum(statuses.values())
            parts = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items(), key=lambda kv: -kv[1]))
            self.stdout.write(f"Work obligations, {programme} (synthetic): {total} participants: {parts}")
        self.stdout.write("  returns: http://127.0.0.1:8000/registry/returns/ (as programme-admin or serpin-admin)")
