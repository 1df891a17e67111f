"""Demo data for analytics: official statistics, two waves of synthetic responses, computed figures.

Run after `load_demo` (`make run` runs both); safe to rerun: nothing is added twice and
an unchanged wave's figures are not rewritten.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.demo import synthetic_waves
from analytics.models import AggregationJob
from analytics.official.services import official_seed_load
from analytics.research_demo import research_demo_load
from analytics.services.aggregation import aggregation_request
from surveys.models import Response, Survey, Wave


class Command(BaseCommand):
    help = "Load official statistics, synthetic demo waves and their computed figures (safe to rerun)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="load even when DEBUG is off")
        parser.add_argument("--per-wave", type=int, default=1500, help="synthetic responses per demo wave")

    def handle(self, *args, force: bool = False, per_wave: int = 1500, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data loads only with DEBUG on, or with --force.")
        counts = official_seed_load()
        self.stdout.write(f"Official statistics: {counts['observations']} observations added")
        survey = Survey.objects.filter(slug="graduate-return").first()
        version = survey.current_version() if survey else None
        if version is None:
            raise CommandError("Run load_demo first: the graduate survey is not there.")
        waves = synthetic_waves(version, per_wave=per_wave)
        for wave in waves:
            self.stdout.write(f"Synthetic wave: {wave.slug} ({per_wave} responses, marked synthetic)")
        answered = Wave.objects.filter(responses__status=Response.Status.COMPLETE).distinct()
        for wave in answered:
            job = aggregation_request(wave)
            job.refresh_from_db()
            if job.status == AggregationJob.Status.ERROR:
                self.stderr.write(f"  figures of {wave.slug} failed: {job.error}")
            else:
                self.stdout.write(f"  figures of {wave.slug}: {job.get_status_display()}")
        for request in research_demo_load():
            self.stdout.write(f"Research request #{request.pk}: {request.get_status_display()}")
        self.stdout.write("Analytics: http://127.0.0.1:8000/analytics/ (as programme-admin or researcher)")
