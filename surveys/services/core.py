"""Write use cases of the survey engine: importing, publishing, submitting."""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User

from ..answers import validate_answers
from ..instrument import Problem
from ..models import Response, Survey, SurveyVersion, Wave, content_digest
from ..selectors import forget_published_versions
from ..versioning import changes, incompatibilities
from ..xlsform import ImportReport, import_report
from .webhooks import response_event


class PublishRefused(Exception):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class SubmissionInvalid(Exception):
    """The answers or the envelope are not valid; `errors` maps names to messages."""

    def __init__(self, errors: dict[str, Any]):
        self.errors = errors
        super().__init__(str(errors))


class ResponseConflict(Exception):
    """The instance_id is taken by other content (or by another respondent)."""


@dataclass
class ImportResult:
    report: ImportReport
    version: SurveyVersion | None = None
    publish_notes: list[str] | None = None


# --------------------------------------------------------------------------- versions


def survey_import_xlsform(
    *, data: bytes, filename: str, survey_slug: str | None = None, publish: bool = False, user: User | None = None
) -> ImportResult:
    """Import a workbook as a new version; nothing is written when anything is wrong."""
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
            survey, _ = Survey.objects.get_or_create(
                slug=slug, defaults={"title": instrument.title or slug, "created_by": user}
            )
            # Locked survey row: two imports to one survey number their versions in turn.
            survey = Survey.objects.select_for_update().get(pk=survey.pk)
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
        if draft.title and survey.title != draft.title:
            survey.title = draft.title
            survey.save(update_fields=["title"])
    version.status, version.published_at = draft.status, draft.published_at
    return notes


# --------------------------------------------------------------------------- responses


def _clean(
    *, version: SurveyVersion, answers: dict[str, Any], status: str, language: str | None, wave: Wave | None
) -> tuple[dict[str, Any], str]:
    if not version.is_published:
        raise SubmissionInvalid({"version": [f"version {version.number} is not published"]})
    if wave is not None:
        if wave.version_id != version.pk:
            raise SubmissionInvalid({"wave": [f"wave '{wave.slug}' fields version {wave.version.number}"]})
        if not wave.is_open():
            raise SubmissionInvalid({"wave": [f"wave '{wave.slug}' is not open"]})
    instrument = version.instrument
    lang = language if language in instrument.languages else None
    outcome = validate_answers(
        instrument, answers, complete=status == Response.Status.COMPLETE, language=lang, today=timezone.localdate()
    )
    if not outcome.valid:
        raise SubmissionInvalid({"answers": {name: [message] for name, message in outcome.errors.items()}})
    digest = content_digest(
        {"version": version.pk, "wave": wave.pk if wave else None, "status": status, "answers": outcome.answers}
    )
    return outcome.answers, digest


def response_submit(
    *,
    version: SurveyVersion,
    respondent: User,
    instance_id: uuid.UUID,
    status: str,
    answers: dict[str, Any],
    language: str | None = None,
    wave: Wave | None = None,
) -> tuple[Response, bool]:
    """Store a new response; a resend of the same content returns the stored one.

    Returns (response, created). Raises SubmissionInvalid for bad answers and
    ResponseConflict when the instance_id already holds other content.
    """
    cleaned, digest = _clean(version=version, answers=answers, status=status, language=language, wave=wave)
    now = timezone.now()
    # A lone INSERT needs no transaction of its own in autocommit mode (it saves a
    # BEGIN and a COMMIT round trip on the hot path); inside a caller's transaction
    # a savepoint keeps that transaction usable if the INSERT hits the constraint.
    guard = transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()
    try:
        with guard:
            response = Response.objects.create(
                survey=version.survey,
                version=version,
                wave=wave,
                respondent=respondent,
                instance_id=instance_id,
                status=status,
                answers=cleaned,
                content_hash=digest,
                language=language or "",
                submitted_at=now if status == Response.Status.COMPLETE else None,
            )
    except IntegrityError:
        # The unique (survey, instance_id) constraint fired: a concurrent or
        # earlier request stored this instance first. Its row is committed by
        # now (the INSERT waited for it), so it can be read and compared.
        existing = Response.objects.filter(survey_id=version.survey_id, instance_id=instance_id).first()
        if existing is None:
            # Not the duplicate constraint: the version or survey went away after this
            # process cached it (see selectors.version_for_submission).
            forget_published_versions()
            raise SubmissionInvalid({"version": [f"version {version.number} no longer exists"]}) from None
        if existing.respondent_id != respondent.pk or existing.content_hash != digest:
            raise ResponseConflict() from None
        return existing, False
    # --- webhooks: only a stored response is an event (a resend above is not)
    response_event(response=response, event="response.created")
    # --- end webhooks
    return response, True


def response_update(
    *,
    response: Response,
    status: str,
    answers: dict[str, Any],
    language: str | None = None,
) -> tuple[Response, bool]:
    """Save newer answers to a partial response, or complete it.

    A complete response is final: the same content again is accepted (a
    resend), anything else is a ResponseConflict. Returns (response, changed).
    """
    cleaned, digest = _clean(
        version=response.version, answers=answers, status=status, language=language, wave=response.wave
    )
    with transaction.atomic():
        # Row lock: two saves of one response apply one after the other.
        current = Response.objects.select_for_update().get(pk=response.pk)
        if current.content_hash == digest:
            return current, False
        if current.status == Response.Status.COMPLETE:
            raise ResponseConflict()
        current.status = status
        current.answers = cleaned
        current.content_hash = digest
        current.language = language or current.language
        if status == Response.Status.COMPLETE:
            current.submitted_at = timezone.now()
        current.save()
    # --- webhooks: after the commit above, and only when something changed
    response_event(response=current, event="response.updated")
    # --- end webhooks
    return current, True
