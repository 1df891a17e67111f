"""Versions of a survey: importing an XLSForm (into the right programme) and publishing."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Programme, User
from accounts.scoping import administered, administers

from ..instrument import Problem
from ..models import Survey, SurveyVersion
from ..versioning import changes, incompatibilities
from ..xlsform import ImportReport, import_report


class PublishRefused(Exception):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class ImportForbidden(Exception):
    """The importer may not add a version to this survey (another programme's, or platform-wide)."""


class ImportNeedsProgramme(Exception):
    """A new survey needs a programme and the importer's cannot be told (`choices`: the ones they administer)."""

    def __init__(self, message: str, choices: list[str]):
        self.choices = choices
        super().__init__(message)


@dataclass
class ImportResult:
    report: ImportReport
    version: SurveyVersion | None = None
    publish_notes: list[str] | None = None


# --------------------------------------------------------------------------- versions


def survey_import_xlsform(
    *,
    data: bytes,
    filename: str,
    survey_slug: str | None = None,
    publish: bool = False,
    user: User | None = None,
    programme: Programme | None = None,
) -> ImportResult:
    """Import a workbook as a new version; nothing is written when anything is wrong.

    A new survey belongs to `programme`, or to the one programme the importer
    administers (ImportNeedsProgramme when they administer several, or none and are
    not a superuser); only superusers (and the command line, `user=None`) create
    platform-wide surveys. A version can be added to an existing survey only by the
    administrators of its programme (ImportForbidden otherwise).
    """
    if user is not None and programme is not None and not administers(user, programme.pk):
        raise ImportForbidden(f"You do not administer the programme '{programme.slug}'.")
    report = import_report(data, filename)
    if not report.ok:
        return ImportResult(report)
    instrument = report.instrument
    assert instrument is not None and report.content is not None
    slug = slugify(survey_slug or instrument.form_id or filename.rsplit(".", 1)[0])[:80]
    if not slug:
        report.errors.append(Problem("settings", 2, "form_id", "the form needs a form_id, or give a survey slug"))
        return ImportResult(report)
    try:
        with transaction.atomic():
            survey = _survey_for_import(slug=slug, title=instrument.title or slug, user=user, programme=programme)
            number = (survey.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            version = SurveyVersion.objects.create(
                survey=survey,
                number=number,
                label=instrument.version_label,
                title=instrument.title or survey.title,
                content=report.content,
                languages=instrument.languages,
                default_language=instrument.default_language,
                source_filename=filename.replace("\x00", "").encode("utf-8", "replace").decode()[:255],
                import_notes=[p.as_dict() for p in report.notes],
                created_by=user,
            )
            notes = version_publish(version=version) if publish else None
    except PublishRefused as exc:
        report.errors += [Problem("survey", None, None, f"cannot publish: {reason}") for reason in exc.reasons]
        return ImportResult(report)
    return ImportResult(report, version, notes)


def _survey_for_import(*, slug: str, title: str, user: User | None, programme: Programme | None) -> Survey:
    """The survey a version is imported into, locked; created in the importer's programme when new."""
    # Locked survey row: two imports to one survey number their versions in turn.
    survey = Survey.objects.select_for_update().filter(slug=slug).first()
    if survey is not None:
        if user is not None and not administers(user, survey.programme_id):
            raise ImportForbidden(
                f"The survey '{slug}' belongs to a programme you do not administer; "
                "import under another survey slug to start a survey of your own."
            )
        if programme is not None and survey.programme_id != programme.pk:
            raise ImportForbidden(f"The survey '{slug}' belongs to another programme; an import cannot move it.")
        return survey
    if programme is None and user is not None and not user.is_superuser:
        mine = list(administered(user).order_by("slug"))
        if len(mine) != 1:
            choices = [p.slug for p in mine]
            message = (
                "Choose the programme the new survey belongs to: " + ", ".join(choices) + "."
                if choices
                else "You administer no programme, so you cannot create a survey."
            )
            raise ImportNeedsProgramme(message, choices)
        programme = mine[0]
    survey = Survey.objects.create(slug=slug, title=title, created_by=user, programme=programme)
    return Survey.objects.select_for_update().get(pk=survey.pk)


def version_publish(*, version: SurveyVersion) -> list[str]:
    """Publish a draft after checking it against the current published version.

    Returns what changed since that version; raises PublishRefused with every
    reason when a field would change type in a way earlier answers cannot follow.
    """
    with transaction.atomic():
        # Survey row lock: concurrent publishes of one survey are checked in turn.
        survey = Survey.objects.select_for_update().get(pk=version.survey_id)
        draft = SurveyVersion.objects.get(pk=version.pk)
        if draft.is_published:
            raise PublishRefused([f"version {draft.number} is already published"])
        published = list(survey.versions.filter(status=SurveyVersion.Status.PUBLISHED).order_by("number"))
        notes: list[str] = []
        if published:
            previous = published[-1]
            if previous.number > draft.number:
                raise PublishRefused([f"version {previous.number} is newer and already published"])
            # Every earlier version, not only the last: a name dropped in one version
            # and brought back later must still hold answers of a compatible type.
            reasons = list(
                dict.fromkeys(
                    f"against version {old.number}: {reason}"
                    for old in published
                    for reason in incompatibilities(old.instrument, draft.instrument)
                )
            )
            if reasons:
                raise PublishRefused(reasons)
            notes = changes(previous.instrument, draft.instrument)
        draft.status = SurveyVersion.Status.PUBLISHED
        draft.published_at = timezone.now()
        draft.save(update_fields=["status", "published_at", "content_hash"])
        titles = draft.instrument.titles
        if (draft.title and survey.title != draft.title) or (titles and survey.titles != titles):
            # The titles per language travel with the survey, for lists, letters and exports.
            survey.title = draft.title or survey.title
            survey.titles = titles or survey.titles
            survey.save(update_fields=["title", "titles"])
    version.status, version.published_at = draft.status, draft.published_at
    return notes
