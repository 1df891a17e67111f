"""Load the official statistics and country groupings the platform ships (idempotent)."""

from django.core.management.base import BaseCommand

from analytics.official.services import official_seed_load


class Command(BaseCommand):
    help = "Load the shipped official statistics and country groupings; a second run adds nothing."

    def handle(self, *args, **options):
        counts = official_seed_load()
        self.stdout.write(
            f"Official statistics: {counts['observations']} observations added, "
            f"{counts['schemes_changed']} country-group schemes created or updated."
        )
