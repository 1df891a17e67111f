"""Build an anonymised research export from the command line, through the same pipeline as an approved request.

    manage.py research_export --wave grad-2025 --variables country_residence,return_intention \\
        --format csv,sav --licence public --output ./export [--language ru] [--k 5] [--dry-run]

Writes the zip (data files, codebook, disclosure report) into the output folder and prints
the disclosure-control summary. Nothing is stored in the database but an audit event.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.audit import audit_record
from analytics.models import ResearchRequest
from analytics.services.research import LANGUAGES, export_spec, k_for
from analytics.services.research_files import FORMATS, ExportError, build_export, media_folder, zip_files
from analytics.services.research_roles import survey_variables
from surveys.models import Wave


class Command(BaseCommand):
    help = "Export a wave's responses anonymised (k-anonymity, l-diversity) with a codebook and a disclosure report."

    def add_arguments(self, parser):
        parser.add_argument("--wave", action="append", required=True, help="Wave slug (repeat for several waves).")
        parser.add_argument(
            "--variables", default="", help="Comma-separated field names (default: every exportable one)."
        )
        parser.add_argument("--format", default="csv", help=f"Comma-separated formats among {', '.join(FORMATS)}.")
        parser.add_argument("--licence", default="licensed", choices=ResearchRequest.Licence.values)
        parser.add_argument("--language", default="en", choices=LANGUAGES)
        parser.add_argument("--k", type=int, default=None, help="k (default: 5 for public use, 3 for licensed).")
        parser.add_argument(
            "--l", type=int, default=2, dest="l_div", help="Distinct l-diversity of sensitive variables."
        )
        parser.add_argument("--output", default=".", help="Folder to write the zip into.")
        parser.add_argument("--dry-run", action="store_true", help="Only report what disclosure control would do.")

    def handle(self, *args, **options):
        waves = list(Wave.objects.filter(slug__in=options["wave"]).select_related("survey"))
        if len(waves) != len(set(options["wave"])):
            raise CommandError(f"Unknown wave among: {', '.join(options['wave'])}.")
        if len({wave.survey_id for wave in waves}) != 1:
            raise CommandError("The waves must belong to one survey.")
        survey = waves[0].survey
        formats = [f.strip() for f in options["format"].split(",") if f.strip()]
        if not formats or set(formats) - set(FORMATS):
            raise CommandError(f"Formats must be among {', '.join(FORMATS)}.")
        known = {info.name: info for info in survey_variables(survey, options["language"])}
        names = [n.strip() for n in options["variables"].split(",") if n.strip()] or list(known)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CommandError(f"Unknown variables: {', '.join(unknown)}.")
        k = options["k"] or k_for(options["licence"])
        if k < k_for(options["licence"]) or options["l_div"] < 2:
            raise CommandError(f"k must be at least {k_for(options['licence'])} for this licence, and l at least 2.")
        left_out = [name for name in names if not known[name].exported]
        spec = export_spec(survey=survey, waves=waves, variables=names, formats=formats, language=options["language"],
                           k=k, l_div=options["l_div"], licence=options["licence"],
                           reference=f"KELU-CLI-{'-'.join(w.slug for w in waves)}")  # fmt: skip
        output = Path(options["output"])
        output.mkdir(parents=True, exist_ok=True)
        folder = media_folder()
        try:
            outcome = build_export(spec, folder, lambda percent, step: None, dry_run=options["dry_run"])
            if not options["dry_run"]:
                target = zip_files(outcome.files, output / f"kelu-research-{waves[0].slug}.zip")
                self.stdout.write(f"Wrote {target} ({outcome.rows} records)")
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        audit_record(actor=None, action="research.export_command", target=survey, programme_id=survey.programme_id,
                     detail={"waves": [w.slug for w in waves], "variables": names, "formats": formats, "k": k,
                             "dry_run": options["dry_run"]})  # fmt: skip
        if left_out:
            self.stdout.write(f"Left out (direct identifiers or unreviewed free text): {', '.join(left_out)}")
        summary = {key: outcome.report.get(key) for key in ("k", "l", "k_achieved", "l_achieved", "records",
                   "records_published", "records_removed", "cells_suppressed", "information_loss")}  # fmt: skip
        self.stdout.write(json.dumps(summary))
