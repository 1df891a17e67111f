"""Carry out an erasure asked for outside the platform (a letter, an e-mail to the programme)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from privacy.services import ErasureRefused, erase


class Command(BaseCommand):
    help = "Erase a person (by username) from every store; prints the erasure record's number."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--by", required=True, help="The superuser carrying it out (username).")
        parser.add_argument("--reason", required=True, help="How the request arrived, e.g. 'letter of 2026-11-30'.")

    def handle(self, *args, username: str, by: str, reason: str, **options) -> None:
        actor = User.objects.filter(username=by, is_superuser=True, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active superuser named {by!r}.")
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account named {username!r}.")
        try:
            record = erase(user=user, actor=actor, reason=reason)
        except ErasureRefused as refused:
            raise CommandError(str(refused)) from refused
        self.stdout.write(
            f"Erasure record #{record.pk}: removed {record.removed}; kept {len(record.retained)} record(s)."
        )
