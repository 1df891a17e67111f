"""Work obligations: the one path that records episodes, pauses and reviews, and recomputes standing.

Pages, the API, the admin, imports, the survey hook and the nightly task all call these
functions. Each change to a participation's episodes or pauses, and each change of a rule,
recomputes the participations concerned; the nightly run recomputes every one (statuses move
with the calendar). A recompute writes only what changed, and a history row only when the
status changes, so a rerun on the same day writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Programme, User
from accounts.scoping import is_programme_admin

from .. import obligation_time as ot
from ..models.obligations import (
    Episode,
    ObligationPause,
    ObligationRecompute,
    ObligationRule,
    Participation,
    StatusChange,
    tier_of,
)
from ..vocabularies.geography import region_code
from .registry import _country

logger = logging.getLogger(__name__)

DERIVED = (
    "status", "status_reason", "months_served", "months_owed", "window_end", "deadline", "returned_on",
    "fulfilled_on", "basis_tier", "last_verified_on", "at_risk", "risks", "explanation", "computed_on",
)  # fmt: skip


class ObligationError(ValueError):
    """Bad input to an obligation service: the message says what and why."""


def today() -> dt.date:
    return timezone.localdate()


def unverified_months() -> int:
    return int(getattr(settings, "OBLIGATION_UNVERIFIED_MONTHS", 12))


# --------------------------------------------------------------------------- rules


def rule_problems(rule: ObligationRule) -> dict[str, str]:
    """What is wrong with a rule, by field ({} when nothing)."""
    problems: dict[str, str] = {}
    countries = rule.countries if isinstance(rule.countries, list) else None
    if not countries:
        problems["countries"] = "Name at least one country, as ISO 3166-1 alpha-3 codes (for example KAZ)."
    else:
        for code in countries:
            try:
                _country(str(code))
            except ValueError as error:
                problems["countries"] = str(error)
                break
    regions = rule.regions if isinstance(rule.regions, list) else None
    if regions is None:
        problems["regions"] = "Regions are a list of ISO 3166-2:KZ codes (or empty)."
    else:
        for code in regions:
            try:
                region_code(str(code))
            except ValueError as error:
                problems["regions"] = str(error)
                break
        if regions and "KAZ" not in (countries or []):
            problems["regions"] = "Regions are Kazakhstan's: KAZ must be among the countries."
    if rule.months_required is not None and rule.window_months is not None:
        if rule.months_required < 1:
            problems["months_required"] = "At least one month is owed."
        if rule.window_months < rule.months_required:
            problems["window_months"] = (
                f"The window ({rule.window_months} months) is shorter than the months owed ({rule.months_required})."
            )
    if rule.cohorts_to is not None and rule.cohorts_from is not None and rule.cohorts_to < rule.cohorts_from:
        problems["cohorts_to"] = "The last cohort comes before the first."
    return problems


def arithmetic_rule(rule: ObligationRule) -> ot.Rule:
    return ot.Rule(
        months_required=rule.months_required,
        window_months=rule.window_months,
        grace_months=rule.grace_months,
        countries=frozenset(rule.countries),
        regions=ot.rule_territory(rule.regions, rule.adopted_on),
        specialty_required=rule.specialty_required,
    )


def rule_for(programme: Programme, cohort: int) -> ObligationRule | None:
    """The newest rule version of `programme` covering `cohort`."""
    return (
        ObligationRule.objects.filter(programme=programme, cohorts_from__lte=cohort)
        .filter(Q(cohorts_to__isnull=True) | Q(cohorts_to__gte=cohort))
        .order_by("-version")
        .first()
    )


def rule_save(rule: ObligationRule) -> ObligationRule:
    """Save a rule (checked) and recompute the participations that follow it."""
    problems = rule_problems(rule)
    if problems:
        raise ObligationError("; ".join(f"{field}: {text}" for field, text in problems.items()))
    rule.save()
    obligations_recompute(Participation.objects.filter(rule=rule))
    return rule


# --------------------------------------------------------------------------- recomputing


@dataclass
class RecomputeResult:
    seen: int = 0
    changed: int = 0
    history: int = 0


def _spans(rows: Iterable[dict[str, Any]]) -> list[ot.Span]:
    return [
        ot.Span(
            kind=row["kind"],
            start=row["start"],
            end=row["end"],
            country=row["country"],
            region=row["region"],
            specialty_related=row["specialty_related"],
            tier=tier_of(row["source"], row["review"]),
            key=row["id"],
        )  # fmt: skip
        for row in rows
    ]


def standing_of(
    participation: Participation,
    rule: ot.Rule,
    episodes: list[dict[str, Any]],
    pauses: list[dict[str, Any]],
    on: dt.date,
) -> ot.Standing:
    spans = _spans(episodes)
    return ot.standing(
        rule,
        participation.obligation_start,
        spans,
        [ot.Pause(p["kind"], p["start"], p["end"]) for p in pauses],
        today=on,
        unverified_months=unverified_months(),
    )


EPISODE_VALUES = ("id", "participation_id", "kind", "start", "end", "country", "region", "specialty_related",
                  "source", "review")  # fmt: skip
PAUSE_VALUES = ("participation_id", "kind", "start", "end")


def _derived(standing: ot.Standing, spans: list[ot.Span], on: dt.date) -> dict[str, Any]:
    verified = [s for s in spans if s.tier >= ot.VERIFIED]
    return {
        "status": standing.status,
        "status_reason": str(standing.reason)[:300],
        "months_served": Decimal(f"{standing.months_served:.2f}"),
        "months_owed": Decimal(f"{standing.months_owed:.2f}"),
        "window_end": standing.window_end,
        "deadline": standing.deadline,
        "returned_on": standing.returned_on,
        "fulfilled_on": standing.fulfilled_on,
        "basis_tier": standing.basis_tier,
        "last_verified_on": max((min(s.end or on, on) for s in verified), default=None),
        "at_risk": standing.at_risk,
        "risks": [str(risk) for risk in standing.risks],
        "explanation": {"reason": standing.reason.pair(), "risks": [risk.pair() for risk in standing.risks]},
        "computed_on": on,
    }


def obligations_recompute(
    participations: QuerySet[Participation] | None = None,
    *,
    on: dt.date | None = None,
    chunk: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> RecomputeResult:
    """Recompute the standing of `participations` (all of them by default) as of `on` (today).

    Reads episodes and pauses as plain values, a chunk of participations at a time; writes the
    participations whose derived fields differ and one history row per status change.
    `progress(done, total)` is called after each chunk (a job renews its lease there).
    """
    on = on or today()
    queryset = participations if participations is not None else Participation.objects.all()
    rules = {rule.pk: arithmetic_rule(rule) for rule in ObligationRule.objects.all()}
    result = RecomputeResult()
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    for offset in range(0, len(ids), chunk):
        block = ids[offset : offset + chunk]
        rows = list(Participation.objects.filter(pk__in=block).order_by("pk"))
        episodes: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in Episode.objects.filter(participation_id__in=block).order_by().values(*EPISODE_VALUES):
            episodes[row["participation_id"]].append(row)
        pauses: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in ObligationPause.objects.filter(participation_id__in=block).order_by().values(*PAUSE_VALUES):
            pauses[row["participation_id"]].append(row)
        changed, history = [], []
        for participation in rows:
            result.seen += 1
            mine = episodes.get(participation.pk, [])
            standing = standing_of(
                participation, rules[participation.rule_id], mine, pauses.get(participation.pk, []), on
            )
            values = _derived(standing, _spans(mine), on)
            before = {name: getattr(participation, name) for name in DERIVED}
            comparable = {k: v for k, v in values.items() if k != "computed_on"}
            if all(before[k] == v for k, v in comparable.items()) and participation.computed_on is not None:
                continue
            if before["status"] != values["status"] or participation.computed_on is None:
                history.append(
                    StatusChange(
                        participation=participation,
                        old_status=before["status"] if participation.computed_on is not None else "",
                        new_status=values["status"],
                        reason=values["status_reason"],
                        explanation=values["explanation"]["reason"],
                        months_served=values["months_served"],
                        changed_on=on,
                    )
                )
            for name, value in values.items():
                setattr(participation, name, value)
            participation.computed_hash = _hash(values)
            changed.append(participation)
        with transaction.atomic():
            if changed:
                _write_derived(changed)
            if history:
                StatusChange.objects.bulk_create(history, batch_size=1000)
        result.changed += len(changed)
        result.history += len(history)
        if progress is not None:
            progress(offset + len(block), len(ids))
    return result


# --------------------------------------------------------------------------- the recompute job


def obligations_recompute_request(*, key: str | None = None, on: dt.date | None = None) -> ObligationRecompute:
    """The recompute job of this key (the night's by default), created and sent on commit the
    first time; asking again the same night returns the same job (the beat may fire twice)."""
    on = on or today()
    with transaction.atomic():
        job, created = ObligationRecompute.objects.get_or_create(key=key or f"nightly-{on.isoformat()}",
                                                                 defaults={"on": on})  # fmt: skip
        if created:
            job.enqueue()
    return job


def obligations_recompute_run(job_id: int) -> bool:
    """Claim and run one recompute (a second call finds it taken or finished)."""
    return ObligationRecompute.execute(job_id, _recompute)


def _recompute(job: ObligationRecompute) -> None:
    def progress(done: int, total: int) -> None:
        job.progress_to(int(100 * done / max(total, 1)), f"{done} of {total} participations")

    result = obligations_recompute(on=job.on, progress=progress)
    job.finish(result=asdict(result))


def obligations_recompute_sweep() -> list[int]:
    return ObligationRecompute.sweep()


def _write_derived(rows: list[Participation]) -> None:
    """One UPDATE per participation, sent together (psycopg pipelines executemany): Django's
    bulk_update builds a CASE per field and row, which PostgreSQL parses slowly at this size."""
    from django.db import connection

    fields = [Participation._meta.get_field(name) for name in (*DERIVED, "computed_hash")]
    table = connection.ops.quote_name(Participation._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    statement = f"UPDATE {table} SET {assignments} WHERE {connection.ops.quote_name('id')} = %s"
    params = [[f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(statement, params)


def _hash(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def participation_recompute(participation: Participation, *, on: dt.date | None = None) -> Participation:
    obligations_recompute(Participation.objects.filter(pk=participation.pk), on=on)
    participation.refresh_from_db()
    return participation


# --------------------------------------------------------------------------- episodes and pauses


def parse_date(value: Any, name: str) -> dt.date | None:
    """A date from a form, the API or a file cell: a date, ISO YYYY-MM-DD or DD.MM.YYYY (empty: None)."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ObligationError(f"{name}: {value!r} is not a date (YYYY-MM-DD or DD.MM.YYYY).")


def _kind_and_dates(data: dict[str, Any], kinds: list[str]) -> tuple[str, dt.date, dt.date | None]:
    """The checked kind, start and (optional) end of an episode or a pause."""
    kind = str(data.get("kind") or "").strip().lower()
    if kind not in kinds:
        raise ObligationError(f"kind: {kind!r} is not one of {', '.join(kinds)}.")
    start = parse_date(data.get("start"), "start")
    if start is None:
        raise ObligationError("start: a start date is required.")
    end = parse_date(data.get("end"), "end")
    if end is not None and end < start:
        raise ObligationError(f"end: {end.isoformat()} is before the start ({start.isoformat()}).")
    return kind, start, end


def episode_values(data: dict[str, Any]) -> dict[str, Any]:
    """Checked episode fields from loose input (forms, the API, import rows): ObligationError if bad."""
    kind, start, end = _kind_and_dates(data, Episode.Kind.values)
    if start > today() + dt.timedelta(days=366):
        raise ObligationError(f"start: {start.isoformat()} is more than a year ahead.")
    if start.year < 1950:
        raise ObligationError(f"start: {start.isoformat()} is before 1950.")
    try:
        country = _country(str(data.get("country") or ""))
    except ValueError as error:
        raise ObligationError(f"country: {error}") from None
    if not country:
        raise ObligationError("country: a country is required (ISO 3166-1 alpha-3, for example KAZ).")
    region = str(data.get("region") or "").strip()
    if region:
        if country != "KAZ":
            raise ObligationError(f"region: {region!r} is a Kazakhstan region but the country is {country}.")
        try:
            region = region_code(region)
        except ValueError as error:
            raise ObligationError(f"region: {error}") from None
    related = data.get("specialty_related")
    if isinstance(related, str):
        lowered = related.strip().lower()
        if lowered in ("", "unknown"):
            related = None
        elif lowered in ("yes", "true", "1", "y"):
            related = True
        elif lowered in ("no", "false", "0", "n"):
            related = False
        else:
            raise ObligationError(f"specialty_related: {related!r} is not yes, no or empty.")
    occupation = str(data.get("occupation") or "").strip()
    if occupation and (len(occupation) != 1 or not occupation.isdigit()):
        raise ObligationError(f"occupation: {occupation!r} is not an ISCO-08 major group (one digit, 0-9).")
    return {
        "kind": kind, "start": start, "end": end, "country": country, "region": region,
        "employer": str(data.get("employer") or "").strip()[:200], "occupation": occupation,
        "specialty_related": related,
    }  # fmt: skip


def episode_record(
    participation: Participation,
    data: dict[str, Any],
    *,
    source: str,
    user: User | None = None,
    document=None,
    response=None,
    episode: Episode | None = None,
) -> Episode:
    """Create (or, given `episode`, correct) an episode, then recompute the participation."""
    values = episode_values(data)
    if source not in Episode.Source.values:
        raise ObligationError(f"source: {source!r} is not one of {', '.join(Episode.Source.values)}.")
    with transaction.atomic():
        if episode is None:
            episode = Episode(participation=participation, created_by=user)
        for name, value in values.items():
            setattr(episode, name, value)
        episode.source = source
        if response is not None:
            episode.response = response
        if document is not None:
            episode.document = document
            episode.review = Episode.Review.PENDING
        episode.save()
    participation_recompute(participation)
    return episode


def document_review(episode: Episode, *, accepted: bool, user: User) -> Episode:
    """An administrator accepts or rejects a participant's document (the tier follows)."""
    if not episode.document:
        raise ObligationError("This episode has no document to review.")
    episode.review = Episode.Review.ACCEPTED if accepted else Episode.Review.REJECTED
    episode.reviewed_by = user
    episode.save(update_fields=["review", "reviewed_by", "updated_at"])
    participation_recompute(episode.participation)
    return episode


def pause_record(participation: Participation, data: dict[str, Any], *, user: User, evidence=None) -> ObligationPause:
    """A deferral, exemption or waiver with its reason (and evidence), then a recompute."""
    kind, start, end = _kind_and_dates(data, ObligationPause.Kind.values)
    if kind == ObligationPause.Kind.DEFERRAL and end is None:
        raise ObligationError("end: a deferral ends (the window is lengthened by its days).")
    reason = str(data.get("reason") or "").strip()
    if not reason:
        raise ObligationError("reason: say why (it is shown with the participant's status).")
    pause = ObligationPause.objects.create(
        participation=participation, kind=kind, start=start, end=end, reason=reason[:300],
        evidence=evidence or "", granted_by=user,
    )  # fmt: skip
    participation_recompute(participation)
    return pause


# --------------------------------------------------------------------------- weekly digest


@dataclass
class DigestResult:
    programmes: int = 0
    sent: int = 0


def obligations_digest(*, on: dt.date | None = None) -> DigestResult:
    """Mail each programme's administrators what changed in the past week (once per programme and week)."""
    from django.core.mail import send_mail
    from django.db import IntegrityError

    from accounts.models import Role

    from ..models.obligations import ObligationDigest

    on = on or today()
    week_of = on - dt.timedelta(days=on.weekday())
    since = week_of - dt.timedelta(days=7)
    result = DigestResult()
    for programme in Programme.objects.filter(participations__isnull=False).distinct():
        result.programmes += 1
        admins = list(
            User.objects.filter(role=Role.PROGRAMME_ADMIN, programmes=programme, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        changes = list(
            StatusChange.objects.filter(
                participation__programme=programme, changed_on__gte=since, changed_on__lt=week_of
            )
            .exclude(old_status="")
            .select_related("participation")
            .order_by("participation__cohort", "participation__full_name")
        )
        at_risk = Participation.objects.filter(programme=programme, at_risk=True).count()
        try:
            with transaction.atomic():
                claim = ObligationDigest.objects.create(
                    programme=programme, week_of=week_of, sent_to=admins, changes=len(changes)
                )
        except IntegrityError:
            continue  # already sent this week
        if not admins:
            continue
        lines = [
            f"{programme.name}: work obligations, {since.isoformat()} to {(week_of - dt.timedelta(days=1)).isoformat()}",
            "",
            f"Status changes: {len(changes)}. At risk now: {at_risk}.",
            "",
        ]
        labels = dict(Participation._meta.get_field("status").choices)
        for change in changes[:200]:
            p = change.participation
            lines.append(
                f"- {p.full_name} ({p.external_id}, cohort {p.cohort}): {labels.get(change.old_status, change.old_status)}"
                f" -> {labels.get(change.new_status, change.new_status)} on {change.changed_on.isoformat()}: {change.reason}"
            )
        if len(changes) > 200:
            lines.append(f"... and {len(changes) - 200} more on the participants page.")
        try:
            send_mail(f"[Kelu] {programme.name}: obligations this week", "\n".join(lines),
                      settings.DEFAULT_FROM_EMAIL, admins)  # fmt: skip
        except OSError:
            claim.delete()  # the next run tries again
            raise
        result.sent += 1
    return result


def participation_link_choose(participation: Participation, *, kind: str, pk: int) -> Participation:
    """Link the participation to one of its listed candidates (a registry person or a respondent)."""
    from surveys.models import Respondent

    from ..models import Person

    candidates = list(participation.link_candidates or [])
    if not any(c.get("kind") == kind and c.get("id") == pk for c in candidates):
        raise ObligationError("That is not one of this participant's candidates.")
    if kind == "person":
        participation.person = Person.objects.get(pk=pk)
    else:
        participation.respondent = Respondent.objects.get(pk=pk)
    participation.link_candidates = [c for c in candidates if c.get("kind") != kind]
    participation.save(update_fields=["person", "respondent", "link_candidates"])
    survey_episodes_sync(participation)
    return participation_recompute(participation)


# --------------------------------------------------------------------------- employer confirmation


class LinkRefused(ObligationError):
    """The employer's link is unknown, expired or already used."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def employer_link_request(episode: Episode, *, email: str, user: User, base_url: str) -> str:
    """Send an employer a link to confirm or correct `episode`; returns the link."""
    import secrets

    from django.core.exceptions import ValidationError
    from django.core.mail import send_mail
    from django.core.validators import validate_email
    from django.urls import reverse

    from ..models.obligations import EmployerConfirmation

    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ObligationError(f"email: {email!r} is not an e-mail address.") from None
    if episode.kind != Episode.Kind.EMPLOYMENT:
        raise ObligationError("Only work can be confirmed by an employer.")
    participation = episode.participation
    own = {
        address.lower()
        for address in (
            participation.email,
            user.email if user is not None and not is_programme_admin(user) else "",
            participation.person.user.email if participation.person_id else "",
            participation.respondent.email if participation.respondent_id else "",
        )
        if address
    }
    if email.lower() in own:
        raise ObligationError("email: that is the participant's own address; ask the employer's.")
    token = secrets.token_urlsafe(32)
    days = int(getattr(settings, "OBLIGATION_EMPLOYER_LINK_DAYS", 30))
    EmployerConfirmation.objects.create(
        episode=episode, email=email, token_hash=_token_hash(token), requested_by=user,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )  # fmt: skip
    link = base_url.rstrip("/") + reverse("diaspora-employer-confirm", args=[token])
    send_mail(
        f"[Kelu] Please confirm the employment of {participation.full_name}",
        (
            f"{participation.full_name} asks you to confirm that they worked at {episode.employer or 'your organisation'}"
            f" from {episode.start.isoformat()} to {episode.end.isoformat() if episode.end else 'now'}"
            f" ({participation.programme.name} work obligation).\n\nConfirm or correct it here (no account needed;"
            f" the link works once and expires in {days} days):\n{link}\n"
        ),
        settings.DEFAULT_FROM_EMAIL,
        [email],
    )
    return link


def employer_link_open(token: str):
    """The confirmation request behind `token` (LinkRefused if unknown, expired or used)."""
    from ..models.obligations import EmployerConfirmation

    confirmation = (
        EmployerConfirmation.objects.select_related("episode", "episode__participation__programme")
        .filter(token_hash=_token_hash(token or ""))
        .first()
    )
    if confirmation is None:
        raise LinkRefused("This link is not valid.")
    if confirmation.used_at is not None:
        raise LinkRefused("This link has already been used.")
    if confirmation.expires_at <= timezone.now():
        raise LinkRefused("This link has expired; the participant can send a new one.")
    return confirmation


def employer_link_answer(token: str, *, corrections: dict[str, Any] | None = None):
    """Confirm the episode as it stands, or with `corrections` (start, end, employer, specialty):
    the episode becomes an employer confirmation. The link is used up in the same transaction."""
    from ..models.obligations import EmployerConfirmation

    confirmation = employer_link_open(token)
    episode = confirmation.episode
    data = {
        "kind": episode.kind, "start": episode.start, "end": episode.end, "country": episode.country,
        "region": episode.region, "employer": episode.employer, "occupation": episode.occupation,
        "specialty_related": episode.specialty_related,
    }  # fmt: skip
    changed = {}
    for name, value in (corrections or {}).items():
        if name not in ("start", "end", "employer", "specialty_related"):
            continue
        if str("" if value is None else value) != str("" if data[name] is None else data[name]):
            changed[name] = None if value in (None, "") else str(value)
            data[name] = value
    values = episode_values(data)  # checked before the link is used up
    with transaction.atomic():
        claimed = EmployerConfirmation.objects.filter(
            pk=confirmation.pk, used_at__isnull=True, expires_at__gt=timezone.now()
        ).update(
            used_at=timezone.now(),
            outcome=EmployerConfirmation.Outcome.CORRECTED if changed else EmployerConfirmation.Outcome.CONFIRMED,
            corrections=changed,
        )
        if not claimed:
            raise LinkRefused("This link has already been used.")
        for name, value in values.items():
            setattr(episode, name, value)
        episode.source = Episode.Source.EMPLOYER
        episode.save()
    participation_recompute(episode.participation)
    confirmation.refresh_from_db()
    return confirmation


# --------------------------------------------------------------------------- from survey answers

# The graduate instrument's questions about where and how respondents live and work.
SURVEY_FIELDS = {
    "country": "country_residence",
    "employment": "employment_status",
    "intention": "return_intention",
    "return_year": "return_year",
}
WORKING = {"job_related": True, "job_not_related": False}


def episodes_from_recent_responses(*, days: int = 2) -> int:
    """Bring the survey episodes of every participant who completed or changed a response in the last
    `days` days in line with their answers (the beat runs it every few minutes, off the submission
    path; a rerun writes nothing). Returns how many participations changed."""
    from django.db.models import Exists, OuterRef

    from surveys.models import Response

    since = timezone.now() - dt.timedelta(days=days)
    answered = Response.objects.filter(status=Response.Status.COMPLETE, updated_at__gte=since).filter(
        Q(respondent_id=OuterRef("person__user_id")) | Q(respondent_id=OuterRef("respondent__user_id"))
    )
    changed = 0
    for participation in Participation.objects.filter(Exists(answered)).order_by("pk").iterator(chunk_size=500):
        try:
            changed += bool(survey_episodes_sync(participation))
        except ObligationError:
            logger.exception("survey episodes of participation %s: an answer could not be read", participation.pk)
    return changed


def _said(response) -> dict[str, Any] | None:
    """What one complete response says: the day, the country, since when at home, whether working."""
    answers = response.answers or {}
    country = str(answers.get(SURVEY_FIELDS["country"]) or "").upper()
    try:
        if not country or _country(country) != country:
            return None
    except ValueError:
        return None  # an answer that names no known country says nothing about where they are
    said_on = timezone.localtime(response.submitted_at or response.updated_at).date()
    home_since = said_on
    year = answers.get(SURVEY_FIELDS["return_year"])
    if (
        answers.get(SURVEY_FIELDS["intention"]) == "already_returned"
        and isinstance(year, int)
        and 1990 < year <= said_on.year
    ):
        home_since = dt.date(year, 1, 1)
    return {
        "on": said_on, "country": country, "home_since": home_since if country == "KAZ" else said_on,
        "working": WORKING.get(str(answers.get(SURVEY_FIELDS["employment"]) or "")),
    }  # fmt: skip


def survey_episodes_sync(participation: Participation) -> int:
    """The participant's self-reported episodes, worked out again from all their complete responses.

    Each response says where they live and whether they work (in their field or not) on the day
    they answered: a residence episode and, when working, an employment episode, from that day
    (from January of the return year for someone back in a qualifying country) until the day
    before their next response, or open. Episodes entered by hand, by employers or by imports
    are left alone. Returns the number of episodes written or removed (0: nothing changed).
    """
    from surveys.models import Response

    users = [u for u in (participation.person.user_id if participation.person_id else None,
                         participation.respondent.user_id if participation.respondent_id else None) if u]  # fmt: skip
    # Only answers to the programme's own surveys: another programme's responses are not its business.
    responses = list(
        Response.objects.filter(
            respondent_id__in=users, status=Response.Status.COMPLETE, survey__programme_id=participation.programme_id
        ).order_by("submitted_at", "pk")
    )
    said = [(r, _said(r)) for r in responses]
    said = [(r, s) for r, s in said if s is not None]
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for index, (response, info) in enumerate(said):
        following = said[index + 1][1]["on"] if index + 1 < len(said) else None
        spans = {Episode.Kind.RESIDENCE: (info["home_since"], None)}
        if info["working"] is not None:
            spans[Episode.Kind.EMPLOYMENT] = (info["on"], info["working"])
        for kind, (start, related) in spans.items():
            end = following - dt.timedelta(days=1) if following else None
            if end is not None and end < start:
                continue  # another answer the same day says otherwise
            wanted[(response.pk, kind)] = {"kind": kind, "start": start, "end": end, "country": info["country"],
                                           "specialty_related": related}  # fmt: skip
    linked = participation.episodes.filter(response__isnull=False)
    # An answer an employer or administrator has since confirmed or corrected is theirs now: left alone.
    taken = {(e.response_id, e.kind) for e in linked.exclude(source=Episode.Source.SURVEY)}
    wanted = {key: values for key, values in wanted.items() if key not in taken}
    existing = {(e.response_id, e.kind): e for e in linked.filter(source=Episode.Source.SURVEY)}
    writes = 0
    with transaction.atomic():
        for key, episode in existing.items():
            if key not in wanted:
                episode.delete()
                writes += 1
        for (response_id, kind), values in wanted.items():
            episode = existing.get((response_id, kind))
            if episode is not None and all(getattr(episode, k) == v for k, v in values.items()):
                continue
            episode = episode or Episode(participation=participation, response_id=response_id)
            for name, value in episode_values(values).items():
                if name in ("employer", "occupation", "region") and episode.pk:
                    continue  # what an administrator added to a self-reported episode stays
                setattr(episode, name, value)
            episode.source = Episode.Source.SURVEY
            episode.save()
            writes += 1
    if writes:
        participation_recompute(participation)
    return writes
