"""Research requests and their exports: the one path the pages, the API, the admin and the command use.

    research_request_submit(...)   a researcher asks (terms accepted); a dry run is queued for the reviewer
    research_request_review(...)   the survey's programme administrator approves, narrows or refuses
    research_export_request(...)   an export job for an approved request (a finished file on unchanged data is reused)
    research_export_run(job_id)    the job's work (claimed by conditional UPDATE; safe to run twice)
    research_download(...)         the requester's file while the link lasts (410 afterwards)

Every step writes an audit event. The export's parameters and the data's state are hashed;
a finished file with the same hash is reused (a new row pointing at the same file, with a
fresh expiry) instead of being built again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import Role, User
from accounts.scoping import administers
from config.jobs import JobError
from surveys.models import Survey, Wave
from surveys.selectors_admin import wave_source_hash

from ..models import ResearchExport, ResearchRequest, VariableRole
from .research_files import FORMATS, ExportError, ExportSpec, build_export, media_folder, zip_files
from .research_roles import VariableInfo, survey_variables

logger = logging.getLogger(__name__)

LANGUAGES = ("kk", "ru", "en")
PIPELINE_VERSION = "1"  # bump when the files' content changes for the same inputs


class RequestError(ValueError):
    """A request that cannot be accepted as made (the message says why)."""


def k_for(licence: str) -> int:
    if licence == ResearchRequest.Licence.PUBLIC:
        return int(getattr(settings, "RESEARCH_K_PUBLIC", 5))
    return int(getattr(settings, "RESEARCH_K_LICENSED", 3))


def link_days() -> int:
    return int(getattr(settings, "RESEARCH_LINK_DAYS", 7))


def may_request(user: User) -> bool:
    return bool(user.is_authenticated and (user.role == Role.RESEARCHER or user.is_superuser))


# --------------------------------------------------------------------------- submit


def _check(survey: Survey, waves: list[Wave], variables: list[str], formats: list[str], language: str) -> list[str]:
    if not waves:
        raise RequestError(_("Choose at least one wave."))
    if any(wave.survey_id != survey.pk for wave in waves):
        raise RequestError(_("Every wave must belong to the survey."))
    unknown = sorted(set(formats) - set(FORMATS))
    if not formats or unknown:
        raise RequestError(_("Choose formats among %(formats)s.") % {"formats": ", ".join(FORMATS)})
    if language not in LANGUAGES:
        raise RequestError(_("The label language must be kk, ru or en."))
    known = {info.name: info for info in survey_variables(survey)}
    missing = [name for name in variables if name not in known]
    if not variables or missing:
        if missing:
            raise RequestError(_("Unknown variables: %(names)s.") % {"names": ", ".join(missing)})
        raise RequestError(_("Choose at least one variable."))
    return list(dict.fromkeys(variables))


def research_request_submit(
    *,
    user: User,
    survey: Survey,
    waves: list[Wave],
    variables: list[str],
    formats: list[str],
    language: str,
    purpose: str,
    institution: str,
    licence: str,
    terms_accepted: bool,
) -> ResearchRequest:
    """A researcher's request, recorded with its dry run queued for the reviewer."""
    if not may_request(user):
        raise PermissionDenied("Only researchers request research data.")
    if not terms_accepted:
        raise RequestError(_("The data-use terms must be accepted."))
    if not purpose.strip() or not institution.strip():
        raise RequestError(_("Say what the data are for and which institution you work at."))
    if licence not in ResearchRequest.Licence.values:
        raise RequestError(_("Choose a public-use or a licensed file."))
    variables = _check(survey, waves, variables, formats, language)
    with transaction.atomic():
        request = ResearchRequest.objects.create(
            survey=survey, requested_by=user, variables=variables, formats=list(dict.fromkeys(formats)),
            language=language, purpose=purpose.strip()[:5000], institution=institution.strip()[:200],
            licence=licence, terms_accepted_at=timezone.now(), k=k_for(licence),
        )  # fmt: skip
        request.waves.set(waves)
        audit_record(actor=user, action="research.request_submitted", target=request, programme_id=survey.programme_id,
                     detail={"variables": variables, "formats": formats, "licence": licence,
                             "waves": [w.slug for w in waves]})  # fmt: skip
        _job(request, ResearchExport.Kind.DRY_RUN, variables, user=None)
    return request


def research_request_withdraw(*, request: ResearchRequest, user: User) -> None:
    if request.requested_by_id != user.pk:
        raise PermissionDenied("Only the requester withdraws a request.")
    updated = ResearchRequest.objects.filter(pk=request.pk, status=ResearchRequest.Status.SUBMITTED).update(
        status=ResearchRequest.Status.WITHDRAWN
    )
    if not updated:
        raise RequestError(_("Only a request awaiting review can be withdrawn."))
    request.status = ResearchRequest.Status.WITHDRAWN
    audit_record(
        actor=user, action="research.request_withdrawn", target=request, programme_id=request.survey.programme_id
    )


# --------------------------------------------------------------------------- review


def may_review(user: User, request: ResearchRequest) -> bool:
    return administers(user, request.survey.programme_id)


def research_request_review(
    *,
    request: ResearchRequest,
    user: User,
    decision: str,
    reason: str = "",
    variables: list[str] | None = None,
    k: int | None = None,
) -> ResearchRequest:
    """Approve (all or fewer variables, optionally a stricter k) or refuse with a reason."""
    if not may_review(user, request):
        raise PermissionDenied("Only an administrator of the survey's programme reviews this request.")
    if decision not in ("approve", "refuse"):
        raise RequestError(_("Approve or refuse."))
    if decision == "refuse" and not reason.strip():
        raise RequestError(_("Say why the request is refused."))
    approved = list(request.variables) if variables is None else list(dict.fromkeys(variables))
    if decision == "approve":
        if not approved or set(approved) - set(request.variables):
            raise RequestError(_("Approve some of the variables asked for, and only those."))
        if k is not None and not (k_for(request.licence) <= k <= 50):
            raise RequestError(_("k must be between %(low)s and 50.") % {"low": k_for(request.licence)})
    status = ResearchRequest.Status.APPROVED if decision == "approve" else ResearchRequest.Status.REFUSED
    with transaction.atomic():
        # Conditional UPDATE: of two reviewers deciding at once, one decides.
        updated = ResearchRequest.objects.filter(pk=request.pk, status=ResearchRequest.Status.SUBMITTED).update(
            status=status, reviewed_by=user, reviewed_at=timezone.now(), decision_reason=reason.strip()[:5000],
            approved_variables=approved if decision == "approve" else [], k=k or request.k,
        )  # fmt: skip
        if not updated:
            raise RequestError(_("This request has already been decided."))
        request.refresh_from_db()
        narrowed = decision == "approve" and approved != list(request.variables)
        action = "research.request_refused" if decision == "refuse" else (
            "research.request_narrowed" if narrowed else "research.request_approved")  # fmt: skip
        audit_record(actor=user, action=action, target=request, programme_id=request.survey.programme_id,
                     detail={"variables": approved if decision == "approve" else [], "reason": reason.strip(),
                             "k": request.k})  # fmt: skip
        if decision == "approve":
            research_export_request(request=request, user=user)
    return request


# --------------------------------------------------------------------------- jobs


def export_spec(
    *,
    survey: Survey,
    waves: list[Wave],
    variables: list[str],
    formats: list[str],
    language: str,
    k: int,
    l_div: int,
    licence: str,
    reference: str,
) -> ExportSpec:
    """What one export writes: the exportable variables asked for (with the wave as a fixed quasi-identifier
    when there are several waves). Requests and the command build their exports here."""
    known = {info.name: info for info in survey_variables(survey, language)}
    chosen = [known[name] for name in variables if name in known and known[name].exported]
    waves = sorted(waves, key=lambda wave: (wave.opens_at, wave.pk))
    if len(waves) > 1:
        chosen.insert(0, wave_variable(waves, language))
    return ExportSpec(
        waves=waves, variables=chosen, formats=list(formats), language=language, k=k, l_div=l_div, licence=licence,
        title=f"{survey.title_in(language)}: {', '.join(w.name_in(language) for w in waves)}", reference=reference,
    )  # fmt: skip


def _spec(request: ResearchRequest, variables: list[str]) -> ExportSpec:
    return export_spec(
        survey=request.survey, waves=list(request.waves.all()), variables=variables, formats=request.formats,
        language=request.language, k=request.k, l_div=request.l_diversity, licence=request.get_licence_display(),
        reference=f"KELU-R{request.pk}",
    )  # fmt: skip


def wave_variable(waves: list[Wave], language: str) -> VariableInfo:
    """The wave as a quasi-identifier of a several-wave file (never generalised: a group holds one wave's people)."""
    with translation.override(language):
        label = _("Wave")
    return VariableInfo("wave", "select_one", str(label), [(w.slug, w.name_in(language)) for w in waves],
                        role=VariableRole.Role.QUASI, hierarchy="fixed")  # fmt: skip


def params_hash(request: ResearchRequest, kind: str, variables: list[str]) -> str:
    """Everything the file depends on: parameters, variable roles and the state of each wave's data."""
    roles = {i.name: [i.role, i.hierarchy, i.reviewed] for i in survey_variables(request.survey) if i.name in variables}
    waves = {w.slug: wave_source_hash(w) for w in request.waves.order_by("pk")}
    text = json.dumps([PIPELINE_VERSION, kind, request.survey_id, waves, variables, sorted(request.formats),
                       request.language, request.licence, request.k, request.l_diversity, roles], sort_keys=True)  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def _job(request: ResearchRequest, kind: str, variables: list[str], user: User | None) -> ResearchExport:
    digest = params_hash(request, kind, variables)
    if kind == ResearchExport.Kind.EXPORT:
        pending = request.exports.filter(
            kind=kind, status__in=[ResearchExport.Status.QUEUED, ResearchExport.Status.RUNNING]
        )
        if pending.exists():
            return pending.latest("id")  # one build at a time per request (created stays False)
        # A finished file is reused for the same researcher only (its README names their request).
        done = (
            ResearchExport.objects.filter(
                params_hash=digest,
                kind=kind,
                status=ResearchExport.Status.COMPLETE,
                request__requested_by_id=request.requested_by_id,
            )  # fmt: skip
            .exclude(file="")
            .order_by("-finished_at")
            .first()
        )
        if done is not None and done.file.storage.exists(done.file.name):
            now = timezone.now()
            job = ResearchExport.objects.create(
                request=request, kind=kind, params_hash=digest, file=done.file.name, row_count=done.row_count,
                report=done.report, status=ResearchExport.Status.COMPLETE, progress=100, started_at=now,
                finished_at=now, expires_at=now + dt.timedelta(days=link_days()), reused_from=done,
            )  # fmt: skip
            audit_record(actor=user, action="research.export_reused", target=job,
                         programme_id=request.survey.programme_id, detail={"from": done.pk})  # fmt: skip
            return job
    job = ResearchExport.objects.create(request=request, kind=kind, params_hash=digest)
    job.enqueue()
    job.created = True
    return job


def research_export_request(*, request: ResearchRequest, user: User | None) -> ResearchExport:
    """An export of an approved request: a reused file, or a job enqueued on commit."""
    if request.status != ResearchRequest.Status.APPROVED:
        raise RequestError(_("Only an approved request is exported."))
    job = _job(request, ResearchExport.Kind.EXPORT, list(request.approved_variables), user)
    if getattr(job, "created", False):
        audit_record(actor=user, action="research.export_queued", target=job, programme_id=request.survey.programme_id)
    return job


def research_export_run(job_id: int) -> bool:
    """Claim and build one export or dry run (safe to call twice)."""
    return ResearchExport.execute(job_id, _build)


def _build(job: ResearchExport) -> None:
    request = job.request
    dry = job.kind == ResearchExport.Kind.DRY_RUN
    variables = list(request.variables if dry else request.approved_variables)
    spec = _spec(request, variables)
    left_out = [name for name in variables if name not in {v.name for v in spec.variables}]
    folder = media_folder()
    try:
        outcome = build_export(spec, folder, job.progress_to, dry_run=dry)
        report: dict[str, Any] = {**outcome.report, "left_out": left_out, "formats": spec.formats,
                                  "quasi_identifiers": [v.name for v in spec.quasi],
                                  "sensitive": [v.name for v in spec.sensitive]}  # fmt: skip
        if dry:
            job.finish(report=report, row_count=outcome.rows)
        else:
            job.progress_to(95, "packing the zip")
            target = zip_files(outcome.files, folder / f"kelu-research-{request.pk}.zip")
            with target.open("rb") as handle:
                job.file.save(target.name, File(handle), save=False)
            expires = timezone.now() + dt.timedelta(days=link_days())
            job.finish(file=job.file.name, report=report, row_count=outcome.rows, expires_at=expires)
            audit_record(actor=None, action="research.export_completed", target=job,
                         programme_id=request.survey.programme_id,
                         detail={"rows": outcome.rows, "k_achieved": report.get("k_achieved")})  # fmt: skip
    except ExportError as exc:
        audit_record(actor=None, action="research.export_failed", target=job,
                     programme_id=request.survey.programme_id, detail={"error": str(exc)})  # fmt: skip
        raise JobError(str(exc)) from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def research_export_sweep() -> list[int]:
    """Re-enqueue exports whose worker died; remove work folders a killed worker left (raw values inside)."""
    import time

    folder = Path(settings.MEDIA_ROOT) / "research" / "work"
    if folder.is_dir():
        stale = time.time() - 2 * 24 * 3600  # longer than any build could run
        for path in folder.iterdir():
            if path.is_dir() and path.stat().st_mtime < stale:
                shutil.rmtree(path, ignore_errors=True)
    return ResearchExport.sweep()


# --------------------------------------------------------------------------- download


class LinkExpired(Exception):
    pass


def research_download(*, export: ResearchExport, user: User) -> Path | Any:
    """The zip for its requester while the link lasts; audited."""
    if export.request.requested_by_id != user.pk or export.kind != ResearchExport.Kind.EXPORT:
        raise PermissionDenied("This file is for its requester only.")
    if export.status != ResearchExport.Status.COMPLETE or not export.file:
        raise RequestError(_("The file is not ready."))
    if export.expires_at is None or export.expires_at <= timezone.now():
        raise LinkExpired(_("The download link has expired; ask for the export again."))
    ResearchExport.objects.filter(pk=export.pk).update(downloads=export.downloads + 1)
    audit_record(actor=user, action="research.export_downloaded", target=export,
                 programme_id=export.request.survey.programme_id)  # fmt: skip
    return export.file.open("rb")


def research_renew(*, request: ResearchRequest, user: User) -> ResearchExport:
    """A requester whose link expired asks again: the finished file (if the data are unchanged) or a new build."""
    if request.requested_by_id != user.pk:
        raise PermissionDenied("Only the requester asks for the file again.")
    return research_export_request(request=request, user=user)
