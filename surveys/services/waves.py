"""Fieldwork run by programme administrators: a wave's settings, its letters, sending its invitations.

One path for every interface: the staff pages, the administration API and the admin
call `wave_create` / `wave_update`, which check everything a wave needs (a published
version of a survey the user administers, a panel of the same programme, dates,
reminder days, prefill fields of the version, quotas on its questions, letters whose
placeholders the sender knows) and write nothing when anything is wrong: a
`WaveInvalid` carries every problem, keyed by the input it is about.

Sending is a job row (`InvitationSendJob`): `wave_invitations_send` creates it (or
returns the one still queued or running) and enqueues it on commit; its run calls
`wave_invite`, which creates the invitations and schedules their letters, then wakes
the sender so the first letters leave at once instead of at the next beat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.scoping import administers
from config.enqueue import send_on_commit
from config.jobs import JobError

from ..emails import KINDS, LANGUAGES, Letter, letter_render, letter_survey_title, wave_letter
from ..instrument import Instrument
from ..models import (
    Invitation,
    InvitationSendJob,
    OutgoingEmail,
    Panel,
    PanelMember,
    Quota,
    Response,
    SurveyVersion,
    Wave,
    default_reminder_days,
)
from ..tokens import invitation_token, new_nonce
from .invitations import STOPPED, email_resend, wave_invite

# The names the sender replaces in a letter (surveys/emails.py); anything else in braces is a mistake.
PLACEHOLDERS = ("greeting", "name", "survey", "link", "optout_link", "closes", "closes_line")
# The parts of one language's letters in Wave.email_templates, by kind.
LETTER_PARTS = {"invitation": ("subject", "body"), "reminder": ("reminder_subject", "reminder_body")}
MAX_REMINDERS = 10
MAX_REMINDER_DAY = 365
SUBJECT_MAX = 200
BODY_MAX = 10_000
# Questions a quota may count: one answer each, compared as it is stored.
QUOTA_TYPES = {"select_one", "country", "text", "integer"}
# Slugs the staff pages use as paths under /staff/waves/.
RESERVED_SLUGS = {"new"}
_BRACES = re.compile(r"\{([^{}\s]*)\}")
_SAMPLE_NAMES = {"kk": "Айгерім Сәрсенова", "ru": "Айгерим Сарсенова", "en": "Aigerim Sarsenova"}


class WaveInvalid(Exception):
    """The wave cannot be saved as given; `errors` maps each input to what is wrong with it."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {' '.join(messages)}" for key, messages in errors.items()))


class SendRefused(Exception):
    """Invitations cannot be sent for this wave now (the message says why)."""


@dataclass
class QuotaSpec:
    name: str
    cap: int
    conditions: dict[str, Any]


@dataclass
class WaveSpec:
    """Everything an administrator sets on a wave. `quotas=None` leaves the wave's quotas as they are."""

    name: str
    version: SurveyVersion | None
    slug: str = ""
    names: dict[str, str] = field(default_factory=dict)  # the name per language; `name` where one is missing
    panel: Panel | None = None
    is_public: bool = False
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    reminder_days: list[int] = field(default_factory=default_reminder_days)
    send_rate_per_minute: int = 600
    prefill_fields: list[str] = field(default_factory=list)
    email_templates: dict[str, dict[str, str]] = field(default_factory=dict)
    quotas: list[QuotaSpec] | None = None


def wave_spec_of(wave: Wave) -> WaveSpec:
    """The spec a wave has now (an update changes only what it is given)."""
    return WaveSpec(
        name=wave.name,
        version=wave.version,
        slug=wave.slug,
        names=dict(wave.names or {}),
        panel=wave.panel,
        is_public=wave.is_public,
        opens_at=wave.opens_at,
        closes_at=wave.closes_at,
        reminder_days=list(wave.reminder_days or []),
        send_rate_per_minute=wave.send_rate_per_minute,
        prefill_fields=list(wave.prefill_fields or []),
        email_templates=letters_clean(wave.email_templates),
        quotas=None,
    )


# --------------------------------------------------------------------------- text inputs


def reminder_days_from_text(text: str) -> list[int]:
    """ "3, 7, 14" (commas, spaces or semicolons) -> [3, 7, 14]; ValidationError naming what is not a day."""
    days = []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        if not token.isdigit():
            raise ValidationError(
                _("“%(value)s” is not a number of days. Write whole numbers separated by commas, e.g. 3, 7, 14.")
                % {"value": token}
            )
        days.append(int(token))
    return days


def reminder_days_text(days: list[int]) -> str:
    return ", ".join(str(day) for day in days or [])


def quota_conditions_from_text(text: str) -> dict[str, str]:
    """One "question = answer" per line (or separated by semicolons) -> {question: answer}."""
    conditions: dict[str, str] = {}
    for line in re.split(r"[\n;]+", text):
        if not line.strip():
            continue
        name, sign, value = line.partition("=")
        if not sign or not name.strip() or not value.strip():
            raise ValidationError(
                _("“%(line)s”: write each condition as question = answer, e.g. country_residence = DEU.")
                % {"line": line.strip()}
            )
        if name.strip() in conditions:
            raise ValidationError(_("The question %(name)s is named twice.") % {"name": name.strip()})
        conditions[name.strip()] = value.strip()
    return conditions


def quota_conditions_text(conditions: dict[str, Any]) -> str:
    return "\n".join(f"{name} = {value}" for name, value in (conditions or {}).items())


def letters_clean(templates: Any) -> dict[str, dict[str, str]]:
    """A wave's letters with only known languages and parts, as text (empty parts dropped)."""
    parts = [part for pair in LETTER_PARTS.values() for part in pair]
    cleaned: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        own = templates.get(language) if isinstance(templates, dict) else None
        if isinstance(own, dict):
            texts = {part: str(own.get(part) or "").strip() for part in parts}
            if any(texts.values()):
                cleaned[language] = {part: text for part, text in texts.items() if text}
    return cleaned


# --------------------------------------------------------------------------- checks


def _instrument_fields(version: SurveyVersion) -> dict[str, Any]:
    instrument: Instrument = version.instrument
    # answered once per response: what quotas and prefill can name (not the entries of a repeat)
    return {name: item for name, item in instrument.fields.items() if item.takes_answer and item.repeat is None}


def _check_version(user: User, spec: WaveSpec, wave: Wave | None, errors: dict[str, list[str]]) -> None:
    version = spec.version
    if version is None:
        errors.setdefault("version", []).append(_("Choose the published version to field."))
        return
    if not administers(user, version.survey.programme_id):
        errors.setdefault("version", []).append(_("You do not administer this survey's programme."))
    elif not version.is_published:
        errors.setdefault("version", []).append(_("Only a published version can be fielded."))
    if wave is None or version.pk == wave.version_id:
        return
    if version.survey_id != wave.survey_id:
        errors.setdefault("version", []).append(_("A wave keeps its survey; choose a version of the same survey."))
    elif Response.objects.filter(wave=wave).exists():
        errors.setdefault("version", []).append(
            _("The wave has responses already: it keeps its version. Start a new wave for the new version.")
        )


def _check_panel(user: User, spec: WaveSpec, wave: Wave | None, errors: dict[str, list[str]]) -> None:
    panel, version = spec.panel, spec.version
    if panel is None and not spec.is_public:
        errors.setdefault("panel", []).append(_("Choose a panel to invite, make the wave public, or both."))
    if panel is None:
        if wave is not None and wave.panel_id and Invitation.objects.filter(wave=wave).exists():
            errors.setdefault("panel", []).append(_("Invitations were sent to this wave's panel: it keeps its panel."))
        return
    if not administers(user, panel.programme_id):
        errors.setdefault("panel", []).append(_("You do not administer this panel's programme."))
    elif version is not None and panel.programme_id != version.survey.programme_id:
        errors.setdefault("panel", []).append(_("The panel belongs to another programme than the survey."))
    if wave is not None and wave.panel_id not in (None, panel.pk) and Invitation.objects.filter(wave=wave).exists():
        errors.setdefault("panel", []).append(_("Invitations were sent to this wave's panel: it keeps its panel."))


def _check_dates(spec: WaveSpec, wave: Wave | None, errors: dict[str, list[str]]) -> None:
    opens, closes = spec.opens_at, spec.closes_at
    if opens is None:
        errors.setdefault("opens_at", []).append(_("Give the date and time the wave opens."))
        return
    if closes is not None and closes <= opens:
        errors.setdefault("closes_at", []).append(_("The wave must close after it opens."))
    elif closes is not None and closes <= timezone.now() and (wave is None or wave.closes_at != closes):
        errors.setdefault("closes_at", []).append(_("This closing time has passed already."))


def _check_reminders(spec: WaveSpec, errors: dict[str, list[str]]) -> None:
    days = spec.reminder_days
    problems = []
    if any(not isinstance(day, int) or isinstance(day, bool) for day in days):
        problems.append(_("Reminder days are whole numbers of days, e.g. 3, 7, 14."))
    elif any(day < 1 or day > MAX_REMINDER_DAY for day in days):
        problems.append(_("Each reminder day is between 1 and %(max)s.") % {"max": MAX_REMINDER_DAY})
    elif len(set(days)) != len(days):
        problems.append(_("A day is listed twice."))
    elif len(days) > MAX_REMINDERS:
        problems.append(_("At most %(max)s reminders.") % {"max": MAX_REMINDERS})
    if problems:
        errors["reminder_days"] = problems


def _check_prefill(spec: WaveSpec, fields: dict[str, Any], errors: dict[str, list[str]]) -> None:
    unknown = [name for name in spec.prefill_fields if name not in fields]
    if unknown:
        errors["prefill_fields"] = [
            _("Not questions of this version: %(names)s.") % {"names": ", ".join(unknown)},
        ]


def letter_problems(text: str) -> list[str]:
    """Placeholders the sender would not replace, as messages (an empty list when the text is fine)."""
    unknown = sorted({name for name in _BRACES.findall(text) if name not in PLACEHOLDERS})
    if not unknown:
        return []
    known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    return [
        _("Unknown placeholder %(names)s. The placeholders are %(known)s.")
        % {"names": ", ".join(f"{{{name}}}" for name in unknown), "known": known}
    ]


def letters_errors(templates: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """What is wrong with letters per language ({"kk": {"subject": ..., "body": ...}}), keyed letter_<language>_<part>."""
    errors: dict[str, list[str]] = {}
    for language, texts in templates.items():
        if language not in LANGUAGES:
            errors.setdefault("email_templates", []).append(
                _("Letters are written in kk, ru or en, not “%(language)s”.") % {"language": language}
            )
            continue
        if not isinstance(texts, dict) or not all(isinstance(text, str) for text in texts.values()):
            errors.setdefault("email_templates", []).append(_("Each language's letters are texts."))
            continue
        for subject_part, body_part in LETTER_PARTS.values():
            subject, body = texts.get(subject_part, ""), texts.get(body_part, "")
            if bool(subject) != bool(body):
                missing = body_part if subject else subject_part
                errors.setdefault(f"letter_{language}_{missing}", []).append(
                    _("Write both the subject and the text, or leave both empty for the platform's letter.")
                )
            if "\n" in subject.strip() or len(subject) > SUBJECT_MAX:
                errors.setdefault(f"letter_{language}_{subject_part}", []).append(
                    _("A subject is one line of at most %(max)s characters.") % {"max": SUBJECT_MAX}
                )
            if len(body) > BODY_MAX:
                errors.setdefault(f"letter_{language}_{body_part}", []).append(
                    _("A letter has at most %(max)s characters.") % {"max": BODY_MAX}
                )
            for part, text in ((subject_part, subject), (body_part, body)):
                problems = letter_problems(text)
                if problems:
                    errors.setdefault(f"letter_{language}_{part}", []).extend(problems)
    return errors


def _quota_value(item: Any, instrument: Instrument, value: Any) -> tuple[Any, str]:
    """The value as answers store it, or an error message."""
    if item.type == "integer":
        try:
            return int(str(value).strip()), ""
        except ValueError:
            return None, _("%(name)s takes a whole number.") % {"name": item.name}
    value = str(value).strip()
    codes = [choice.name for choice in instrument.choices_for(item)]
    if codes and value not in codes:
        shown = ", ".join(codes[:12]) + (" …" if len(codes) > 12 else "")
        return None, _("“%(value)s” is not an answer code of %(name)s (codes: %(codes)s).") % {
            "value": value,
            "name": item.name,
            "codes": shown,
        }
    return value, ""


def _check_quotas(spec: WaveSpec, fields: dict[str, Any], errors: dict[str, list[str]]) -> list[QuotaSpec]:
    """The quotas with values typed as answers store them; problems go to errors["quotas"]."""
    if spec.quotas is None or spec.version is None:
        return []
    instrument, problems, typed, names = spec.version.instrument, [], [], set()
    for number, quota in enumerate(spec.quotas, start=1):
        label = quota.name or _("Quota %(number)s") % {"number": number}
        if not quota.name.strip():
            problems.append(_("%(quota)s: give it a name.") % {"quota": label})
        elif quota.name in names:
            problems.append(_("%(quota)s: two quotas have this name.") % {"quota": label})
        names.add(quota.name)
        if not isinstance(quota.cap, int) or quota.cap < 1:
            problems.append(_("%(quota)s: the cap is a whole number of at least 1.") % {"quota": label})
        if not quota.conditions:
            problems.append(_("%(quota)s: give at least one condition (question = answer).") % {"quota": label})
        conditions = {}
        for name, value in quota.conditions.items():
            item = fields.get(name)
            if item is None or item.type not in QUOTA_TYPES:
                problems.append(
                    _("%(quota)s: %(name)s is not a single-answer question of this version.")
                    % {"quota": label, "name": name}
                )
                continue
            conditions[name], message = _quota_value(item, instrument, value)
            if message:
                problems.append(f"{label}: {message}")
        typed.append(QuotaSpec(name=quota.name.strip(), cap=quota.cap, conditions=conditions))
    if problems:
        errors["quotas"] = problems
    return typed


def _check_name(spec: WaveSpec, wave: Wave | None, errors: dict[str, list[str]]) -> str:
    """The slug to use (made from the name when none is given)."""
    if not spec.name.strip():
        errors.setdefault("name", []).append(_("Give the wave a name."))
    elif len(spec.name) > 200:
        errors.setdefault("name", []).append(_("A name has at most 200 characters."))
    for language, name in (spec.names or {}).items():
        if language not in LANGUAGES or not isinstance(name, str):
            errors.setdefault("names", []).append(_("Names are texts in kk, ru or en."))
        elif len(name) > 200:
            errors.setdefault(f"name_{language}", []).append(_("A name has at most 200 characters."))
    if wave is not None:
        return wave.slug  # the public link and bookmarks keep working
    slug = spec.slug.strip()
    if slug and slugify(slug) != slug:
        errors.setdefault("slug", []).append(
            _("Use only lowercase Latin letters, digits and hyphens, e.g. graduates-2026.")
        )
        return slug
    if slug:
        if slug in RESERVED_SLUGS or Wave.objects.filter(slug=slug).exists():
            errors.setdefault("slug", []).append(_("Another wave has this short name; choose another."))
        return slug[:80]
    return _free_slug(slugify(spec.name)[:70] or "wave")


def _free_slug(base: str) -> str:
    taken = set(Wave.objects.filter(slug__startswith=base).values_list("slug", flat=True)) | RESERVED_SLUGS
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


def wave_check(*, user: User, spec: WaveSpec, wave: Wave | None = None) -> tuple[str, list[QuotaSpec]]:
    """The slug and typed quotas of a valid spec; raises WaveInvalid with every problem."""
    errors: dict[str, list[str]] = {}
    slug = _check_name(spec, wave, errors)
    _check_version(user, spec, wave, errors)
    _check_panel(user, spec, wave, errors)
    _check_dates(spec, wave, errors)
    _check_reminders(spec, errors)
    if not 1 <= spec.send_rate_per_minute <= 100_000:
        errors["send_rate_per_minute"] = [_("Between 1 and 100000 letters a minute.")]
    fields = _instrument_fields(spec.version) if spec.version is not None and "version" not in errors else {}
    if fields:
        _check_prefill(spec, fields, errors)
    errors.update(letters_errors(spec.email_templates))
    quotas = _check_quotas(spec, fields, errors) if fields else []
    if errors:
        raise WaveInvalid(errors)
    return slug, quotas


# --------------------------------------------------------------------------- writes


def _apply(wave: Wave, spec: WaveSpec) -> None:
    wave.name = spec.name.strip()
    wave.names = {
        language: spec.names[language].strip() for language in LANGUAGES if (spec.names.get(language) or "").strip()
    }
    wave.version = spec.version
    wave.survey = spec.version.survey
    wave.panel = spec.panel
    wave.is_public = spec.is_public
    wave.opens_at = spec.opens_at
    wave.closes_at = spec.closes_at
    wave.reminder_days = sorted(spec.reminder_days)
    wave.send_rate_per_minute = spec.send_rate_per_minute
    wave.prefill_fields = list(dict.fromkeys(spec.prefill_fields))
    wave.email_templates = letters_clean(spec.email_templates)


def _quotas_sync(wave: Wave, quotas: list[QuotaSpec]) -> None:
    """The wave's quotas become `quotas` (matched by name); a changed cap or condition reopens a closed cell."""
    existing = {quota.name: quota for quota in Quota.objects.select_for_update().filter(wave=wave)}
    for spec in quotas:
        quota = existing.pop(spec.name, None)
        if quota is None:
            Quota.objects.create(wave=wave, name=spec.name, cap=spec.cap, conditions=spec.conditions)
        elif quota.cap != spec.cap or quota.conditions != spec.conditions:
            # closed_at only short-cuts the count: quota_admits counts again and closes it when full.
            Quota.objects.filter(pk=quota.pk).update(cap=spec.cap, conditions=spec.conditions, closed_at=None)
    Quota.objects.filter(pk__in=[quota.pk for quota in existing.values()]).delete()


def wave_create(*, user: User, spec: WaveSpec) -> Wave:
    """A new wave of a published version; WaveInvalid (nothing written) when anything is wrong."""
    slug, quotas = wave_check(user=user, spec=spec)
    wave = Wave(slug=slug, created_by=user if user.is_authenticated else None)
    _apply(wave, spec)
    try:
        with transaction.atomic():
            wave.save()
            _quotas_sync(wave, quotas)
    except IntegrityError:  # another wave took the slug between the check and the insert
        raise WaveInvalid({"slug": [_("Another wave has this short name; choose another.")]}) from None
    return wave


def wave_update(*, user: User, wave: Wave, spec: WaveSpec) -> Wave:
    """Change a wave's settings; WaveInvalid (nothing written) when anything is wrong."""
    with transaction.atomic():
        # Wave row lock: a "send invitations" run holds it while it reads the panel, so a
        # panel change and an invitation run never interleave (the checks below see its invitations).
        locked = (
            Wave.objects.select_for_update(of=("self",)).select_related("survey", "version", "panel").get(pk=wave.pk)
        )
        _slug, quotas = wave_check(user=user, spec=spec, wave=locked)
        _apply(locked, spec)
        locked.save()
        if spec.quotas is not None:
            _quotas_sync(locked, quotas)
    return locked


# --------------------------------------------------------------------------- letters as sent


@dataclass(frozen=True)
class LetterPreview:
    language: str
    kind: str
    recipient: str
    email: str
    subject: str
    body: str
    own: bool  # the wave's own text (else the platform's)


def sample_recipient(panel: Panel | None, language: str) -> tuple[str, str]:
    """(name, email) of the panel's first member who reads this language, else its first member, else a sample."""
    if panel is not None:
        members = PanelMember.objects.filter(panel=panel).select_related("respondent").order_by("id")
        member = members.filter(language=language).first() or members.first()
        if member is not None:
            return member.name, member.respondent.email
    return _SAMPLE_NAMES[language], "respondent@example.org"


def letter_previews(
    *, version: SurveyVersion, panel: Panel | None, templates: dict, closes_at: datetime | None
) -> list[LetterPreview]:
    """Every letter of a wave (invitation and reminder, in kk, ru and en) as the sender renders it.

    The same two calls the sender makes (surveys.services.invitations._row_send): the
    wave's text or the platform's, then the placeholders filled. The link carries a
    freshly made token, so it looks exactly like a real one and opens nothing.
    """
    previews = []
    for language in LANGUAGES:
        name, email = sample_recipient(panel, language)
        token = invitation_token(new_nonce())
        for kind in KINDS:
            letter: Letter = wave_letter(templates=templates, kind=kind, language=language)
            rendered = letter_render(
                letter=letter,
                language=language,
                name=name,
                survey=letter_survey_title(version, language),
                token=token,
                closes_at=closes_at,
            )
            own = bool((templates.get(language) or {}).get(LETTER_PARTS[kind][0]))
            previews.append(LetterPreview(language, kind, name, email, rendered.subject, rendered.body, own))
    return previews


# --------------------------------------------------------------------------- sending


def wave_invitations_send(*, wave: Wave, user: User | None) -> tuple[InvitationSendJob, bool]:
    """Queue the invitation of the wave's panel; the job still queued or running when there is one.

    Returns (job, created). SendRefused when the wave has no panel or is closed.
    """
    if wave.panel_id is None:
        raise SendRefused(_("This wave has no panel to invite: choose one in the wave's settings."))
    if wave.closes_at is not None and wave.closes_at <= timezone.now():
        raise SendRefused(_("This wave is closed: move its closing date to send invitations."))
    with transaction.atomic():
        # Wave row lock: two clicks at once take turns, and the second finds the first's job.
        Wave.objects.select_for_update().filter(pk=wave.pk).first()
        pending = (
            InvitationSendJob.objects.filter(
                wave=wave, status__in=[InvitationSendJob.Status.QUEUED, InvitationSendJob.Status.RUNNING]
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if pending is not None:
            return pending, False
        job = InvitationSendJob.objects.create(
            wave=wave, requested_by=user if user is not None and user.is_authenticated else None
        )
        job.enqueue()
    return job, True


def invitation_send_run(job_id: int) -> bool:
    """Claim and run one job (a second call finds it taken or finished and does nothing)."""
    return InvitationSendJob.execute(job_id, _send)


def invitation_send_sweep() -> list[int]:
    """Jobs whose worker died (lease expired) or whose enqueue was lost, enqueued again."""
    return InvitationSendJob.sweep()


def _send(job: InvitationSendJob) -> None:
    wave = Wave.objects.select_related("survey").get(pk=job.wave_id)
    if wave.panel_id is None:
        raise JobError("The wave has no panel any more.")
    members = PanelMember.objects.filter(panel_id=wave.panel_id).count()
    job.progress_to(10, "creating invitations")
    counts = wave_invite(wave=wave)
    job.finish(
        members=members,
        invited=counts.invited,
        already_invited=counts.already_invited,
        opted_out=counts.opted_out,
        emails=counts.emails,
    )
    if counts.emails:
        sender_wake()


def sender_wake() -> None:
    """Send due letters now (on commit) rather than at the sender's next beat; the sender is idempotent."""
    from .. import tasks  # tasks import the services: imported here, when first needed

    send_on_commit(tasks.emails_send_due)  # else the sender's next beat (60 s)


def letter_resend(*, email: OutgoingEmail) -> bool:
    """Send a held (failed) letter again, now: an administrator's decision (see invitations' module rule).

    False when the letter is not held any more, or its invitation gets no more mail
    (complete, bounced, opted out).
    """
    if email.invitation.status in STOPPED:
        return False
    resent = email_resend(email=email)
    if resent:
        sender_wake()
    return resent
