from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from surveys.demo import STANDARD_INSTRUMENTS, standard_instrument_path
from surveys.models import SurveyVersion
from surveys.translations import LANGUAGES, catalogue_completeness, instrument_completeness
from surveys.xlsform import import_report


class Command(BaseCommand):
    help = (
        "Report translation completeness per language: the interface catalogues, the shipped "
        "instruments and every published survey version. With --strict, fail unless all are complete."
    )

    def add_arguments(self, parser):
        parser.add_argument("--strict", action="store_true", help="exit with an error if anything is incomplete")
        parser.add_argument("--shipped-only", action="store_true", help="skip the database's survey versions")

    def handle(self, *args, strict: bool, shipped_only: bool, **options):
        gaps: list[str] = []
        self.stdout.write("Interface (gettext catalogues; English is the source language)")
        for language in LANGUAGES[:-1]:
            po = Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po"
            result = catalogue_completeness(po)
            self.stdout.write(f"  {language}: {result.present}/{result.needed} ({result.percent:.0f}%)")
            if result.present < result.needed:
                gaps.append(f"interface {language}")
        rows = [(f"{name}.xlsx (shipped)", self._shipped(name)) for name in STANDARD_INSTRUMENTS]
        if not shipped_only:
            for version in SurveyVersion.objects.filter(status=SurveyVersion.Status.PUBLISHED).select_related("survey"):
                rows.append((f"{version.survey.slug} v{version.number}", version.instrument))
        self.stdout.write("Instruments (labels, hints, messages, choices and titles)")
        for name, instrument in rows:
            result = instrument_completeness(instrument)
            cells = "  ".join(f"{lang}: {r.present}/{r.needed} ({r.percent:.0f}%)" for lang, r in result.items())
            self.stdout.write(f"  {name}: {cells}")
            gaps += [f"{name} {lang}" for lang, r in result.items() if r.present < r.needed]
        if gaps and strict:
            raise CommandError("incomplete translations: " + ", ".join(gaps))
        self.stdout.write(self.style.SUCCESS("All complete.") if not gaps else f"Incomplete: {', '.join(gaps)}")

    @staticmethod
    def _shipped(name: str):
        path = standard_instrument_path(name)
        report = import_report(path.read_bytes(), path.name)
        if not report.ok:
            raise CommandError(f"{path.name} does not import: " + "; ".join(report.lines()))
        return report.instrument
