from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from surveys.demo import STANDARD_INSTRUMENTS, standard_instrument_path
from surveys.models import Survey, SurveyVersion, Wave
from surveys.translations import LANGUAGES, catalogue_completeness, instrument_completeness, texts_completeness
from surveys.xlsform import import_report


class Command(BaseCommand):
    help = (
        "Report translation completeness per language: the interface catalogues (plural and "
        "context entries included), the shipped instruments, every published survey version, and the "
        "titles of surveys and names of waves. With --strict, fail unless all are complete."
    )

    def add_arguments(self, parser):
        parser.add_argument("--strict", action="store_true", help="exit with an error if anything is incomplete")
        parser.add_argument(
            "--shipped-only", action="store_true", help="skip the database (survey versions, titles, wave names)"
        )

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
        if not shipped_only:
            gaps += self._titles_and_names()
        if gaps and strict:
            raise CommandError("incomplete translations: " + ", ".join(gaps))
        self.stdout.write(self.style.SUCCESS("All complete.") if not gaps else f"Incomplete: {', '.join(gaps)}")

    def _titles_and_names(self) -> list[str]:
        """Survey titles and wave names, each needed in the languages its version is given in
        (letters, staff screens and exports show them in the reader's language)."""
        gaps: list[str] = []
        latest = {}
        for version in SurveyVersion.objects.filter(status=SurveyVersion.Status.PUBLISHED).order_by("number"):
            latest[version.survey_id] = version
        rows = {
            "Survey titles": [
                (survey.titles, tuple(latest[survey.pk].languages), survey.slug)
                for survey in Survey.objects.filter(pk__in=latest)
            ],
            "Wave names": [
                (wave.names, tuple(wave.version.languages), wave.slug)
                for wave in Wave.objects.select_related("version")
            ],
        }
        self.stdout.write("Survey titles and wave names (database)")
        for label, texts in rows.items():
            result = texts_completeness([(values, needed) for values, needed, _ in texts])
            cells = "  ".join(f"{lang}: {r.present}/{r.needed} ({r.percent:.0f}%)" for lang, r in result.items())
            self.stdout.write(f"  {label}: {cells}")
            for values, needed, slug in texts:
                missing = [lang for lang in needed if lang in LANGUAGES and not (values or {}).get(lang)]
                if missing:
                    self.stdout.write(f"    {slug}: no {', '.join(missing)}")
                    gaps.append(f"{label.lower()[:-1]} {slug} {','.join(missing)}")
        return gaps

    @staticmethod
    def _shipped(name: str):
        path = standard_instrument_path(name)
        report = import_report(path.read_bytes(), path.name)
        if not report.ok:
            raise CommandError(f"{path.name} does not import: " + "; ".join(report.lines()))
        return report.instrument
