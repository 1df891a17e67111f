from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Programme
from surveys import services


class Command(BaseCommand):
    help = "Import an XLSForm workbook as a new version of a survey (refused whole if anything is wrong)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="XLSForm file: .xlsx, .xls, .csv or .md")
        parser.add_argument("--survey", help="survey slug (default: the form's form_id)")
        parser.add_argument("--programme", help="slug of the programme a new survey belongs to (default: none)")
        parser.add_argument("--publish", action="store_true", help="publish the new version at once")

    def handle(self, *args, file: Path, survey: str | None, programme: str | None, publish: bool, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        owner = None
        if programme:
            owner = Programme.objects.filter(slug=programme).first()
            if owner is None:
                raise CommandError(f"no programme '{programme}'")
        try:
            result = services.survey_import_xlsform(
                data=file.read_bytes(), filename=file.name, survey_slug=survey, publish=publish, programme=owner
            )
        except services.ImportForbidden as exc:
            raise CommandError(str(exc)) from None
        for line in result.report.lines():
            self.stderr.write(line) if line.startswith("error") else self.stdout.write(line)
        if result.version is None:
            raise CommandError(f"{file}: not imported ({len(result.report.errors)} problem(s) above)")
        state = "published" if result.version.is_published else "draft"
        self.stdout.write(self.style.SUCCESS(f"Imported {result.version} ({state})"))
        for note in result.publish_notes or []:
            self.stdout.write(f"change: {note}")
