"""Reads for programme administrators: surveys, versions, panels, waves, responses, exports, dashboards.

Everything is scoped in the queryset: an administrator sees the objects of the
programmes in ``user.programmes``; superusers see everything; objects without a
programme are for superusers only. Pure computations (merging fields across
versions, cumulative rates, question summaries, a response's labelled answers)
take and return plain values and are tested without a database; those on answers
live in ``summaries`` and are re-exported here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.http import Http404

from accounts.audit import audit_list, audit_read
from accounts.models import User
from accounts.scoping import in_programmes

from .models import ExportJob, Invitation, Panel, PanelMember, Response, Survey, SurveyVersion, Wave
from .selectors_summaries import wave_answer_tally, wave_tally_fields, with_response_counts
from .summaries import (  # noqa: F401 (re-exported: other apps read these from here)
    CHOICE_TYPES,
    LATEST_TEXTS,
    NUMERIC_TYPES,
    SKIPPED_TYPES,
    TEXT_TYPES,
    MergedField,
    QuestionSummary,
    merged_fields,
    name_countries,
    summaries_from_tally,
    summarise_answers,
)

STATUS = Invitation.Status

# --------------------------------------------------------------------------- scope


def panels_visible_to(user: User) -> QuerySet[Panel]:
    panels = in_programmes(Panel.objects.select_related("programme"), user, "programme")
    return panels.annotate(member_count=Count("members")).order_by("slug")


def panel_get(user: User, slug: str) -> Panel:
    panel = in_programmes(Panel.objects.all(), user, "programme").filter(slug=slug).first()
    if panel is None:
        raise Http404("No such panel.")
    return panel


def waves_visible_to(user: User) -> QuerySet[Wave]:
    waves = Wave.objects.select_related("survey", "version", "panel", "survey__programme")
    return in_programmes(waves, user, "survey__programme").order_by("-opens_at", "slug")


def waves_overview(user: User) -> QuerySet[Wave]:
    """The user's waves with their numbers of complete and partial responses (one query; the
    counts are the ones the database keeps, not a count of every response)."""
    return with_response_counts(waves_visible_to(user), complete="complete_count", partial="partial_count")


def wave_get_for_admin(user: User, slug: str) -> Wave:
    wave = waves_visible_to(user).filter(slug=slug).first()
    if wave is None:
        raise Http404("No such wave.")
    return wave


def surveys_administered_by(user: User) -> QuerySet[Survey]:
    return in_programmes(Survey.objects.select_related("programme"), user, "programme").order_by("slug")


def survey_get_for_admin(user: User, slug: str) -> Survey:
    survey = surveys_administered_by(user).filter(slug=slug).first()
    if survey is None:
        raise Http404("No such survey.")
    return survey


def survey_versions(survey: Survey) -> QuerySet[SurveyVersion]:
    """Every version of a survey, drafts included, newest first, with the number of waves fielding it."""
    return survey.versions.defer("content", "import_notes").annotate(wave_count=Count("waves")).order_by("-number")


def version_get_for_admin(user: User, slug: str, number: int) -> SurveyVersion:
    """A version of a survey the user administers, published or draft (others: 404)."""
    version = (
        SurveyVersion.objects.select_related("survey")
        .filter(survey__in=surveys_administered_by(user), survey__slug=slug, number=number)
        .first()
    )
    if version is None:
        raise Http404("No such version.")
    return version


def response_get_for_admin(user: User, wave_slug: str, pk: int) -> Response:
    """One response of a wave the user administers, with its version and invitation (others: 404)."""
    wave = wave_get_for_admin(user, wave_slug)
    response = (
        Response.objects.select_related("version", "wave", "invitation__respondent").filter(wave=wave, pk=pk).first()
    )
    if response is None:
        raise Http404("No such response.")
    audit_read(viewer=user, record=response, programme_id=wave.survey.programme_id)
    return response


def exports_visible_to(user: User) -> QuerySet[ExportJob]:
    return in_programmes(ExportJob.objects.select_related("wave"), user, "wave__survey__programme")


def export_get(user: User, pk: int) -> ExportJob:
    job = exports_visible_to(user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such export.")
    return job


# --------------------------------------------------------------------------- fields across versions


def wave_versions(wave: Wave) -> list[SurveyVersion]:
    """The wave's version and every version its responses were given on, newest first."""
    # One EXISTS per version of the survey (a handful), not a DISTINCT over every response.
    answered = Response.objects.filter(wave=wave, version=OuterRef("pk"))
    versions = SurveyVersion.objects.filter(survey_id=wave.survey_id).filter(Q(pk=wave.version_id) | Exists(answered))
    return list(versions.order_by("-number"))


def wave_fields(wave: Wave, language: str) -> list[MergedField]:
    return merged_fields([version.instrument for version in wave_versions(wave)], language)


@dataclass(frozen=True)
class SourceState:
    """Where a wave's responses stand: a hash that changes whenever one is added, changed or removed."""

    hash: str
    last_change: dt.datetime | None


def wave_source_state(wave: Wave) -> SourceState:
    stats = Response.objects.filter(wave=wave).aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    digest = hashlib.sha256(f"{stats['n']}|{stats['last']}|{stats['top']}".encode()).hexdigest()
    return SourceState(digest, stats["last"])


def wave_source_hash(wave: Wave) -> str:
    """Changes whenever a response of the wave is added, changed or removed."""
    return wave_source_state(wave).hash


def export_out_of_date(job: ExportJob, state: SourceState) -> bool:
    """A finished file made from other responses than the wave has now (added, changed or removed since)."""
    return job.status == ExportJob.Status.COMPLETE and job.source_hash != state.hash


def wave_exports(user: User, wave: Wave, *, limit: int = 5) -> list[ExportJob]:
    """The wave's latest exports, each marked `out_of_date` against the wave's responses now."""
    jobs = list(exports_visible_to(user).filter(wave=wave).order_by("-created_at", "-id")[:limit])
    if jobs:
        state = wave_source_state(wave)
        for job in jobs:
            job.out_of_date = export_out_of_date(job, state)
    return jobs


# --------------------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class Rate:
    """A share shown with what it is made of: `numerator` of `denominator`."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        """None when there is nothing to divide by (no 0 % for a wave that sent nothing)."""
        return round(100 * self.numerator / self.denominator, 1) if self.denominator else None


@dataclass(frozen=True)
class Funnel:
    """A wave's invitations by how far they got. Responses through the public link are not here."""

    invited: int  # every invitation, sent or not
    sent: int  # handed to the mail server at least once (bounced and opted out included)
    opened: int  # reached the survey (those who answered included)
    partial: int
    complete: int
    bounced: int
    opted_out: int

    @property
    def started(self) -> int:
        return self.partial + self.complete

    @property
    def sent_rate(self) -> Rate:
        return Rate(self.sent, self.invited)

    @property
    def open_rate(self) -> Rate:
        return Rate(self.opened, self.sent)

    @property
    def response_rate(self) -> Rate:
        """Complete responses of the invitations sent."""
        return Rate(self.complete, self.sent)

    @property
    def completion_rate(self) -> Rate:
        """Of those who opened the survey, how many finished it."""
        return Rate(self.complete, self.opened)

    @property
    def bounce_rate(self) -> Rate:
        return Rate(self.bounced, self.sent)

    @property
    def opt_out_rate(self) -> Rate:
        return Rate(self.opted_out, self.sent)


@dataclass(frozen=True)
class PublicLinkCounts:
    """Responses given without an invitation (through the wave's public link)."""

    partial: int
    complete: int

    @property
    def started(self) -> int:
        return self.partial + self.complete

    @property
    def completion_rate(self) -> Rate:
        return Rate(self.complete, self.started)


def wave_funnel(wave: Wave) -> Funnel:
    """The invitation funnel of a wave, from its invitations only (one query)."""
    # "opened" counts everyone who got as far as the survey, those who finished included.
    counts = Invitation.objects.filter(wave=wave).aggregate(
        invited=Count("id"),
        sent=Count("id", filter=~Q(status=STATUS.PENDING)),
        opened=Count(
            "id", filter=Q(opened_at__isnull=False) | Q(status__in=[STATUS.OPENED, STATUS.PARTIAL, STATUS.COMPLETE])
        ),
        partial=Count("id", filter=Q(status=STATUS.PARTIAL)),
        complete=Count("id", filter=Q(status=STATUS.COMPLETE)),
        bounced=Count("id", filter=Q(status=STATUS.BOUNCED)),
        opted_out=Count("id", filter=Q(status=STATUS.OPTED_OUT)),
    )
    return Funnel(**counts)


def wave_public_counts(wave: Wave) -> PublicLinkCounts:
    """The wave's responses without an invitation, by status (one query)."""
    counts = Response.objects.filter(wave=wave, invitation__isnull=True).aggregate(
        partial=Count("id", filter=Q(status=Response.Status.PARTIAL)),
        complete=Count("id", filter=Q(status=Response.Status.COMPLETE)),
    )
    return PublicLinkCounts(**counts)


@dataclass(frozen=True)
class RatePoint:
    day: dt.date
    invited: int
    complete: int

    @property
    def rate(self) -> float:
        return self.complete / self.invited if self.invited else 0.0


def cumulative_rates(sent: dict[dt.date, int], completed: dict[dt.date, int]) -> list[RatePoint]:
    """Daily cumulative invited and complete counts, for every day from the first to the last event."""
    days = sorted(set(sent) | set(completed))
    if not days:
        return []
    points, invited, complete = [], 0, 0
    day = days[0]
    while day <= days[-1]:
        invited += sent.get(day, 0)
        complete += completed.get(day, 0)
        points.append(RatePoint(day, invited, complete))
        day += dt.timedelta(days=1)
    return points


def _per_day(queryset: QuerySet, field_name: str) -> dict[dt.date, int]:
    rows = (
        queryset.filter(**{f"{field_name}__isnull": False})
        .annotate(day=TruncDate(field_name))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    return {row["day"]: row["n"] for row in rows}


def wave_rate_series(wave: Wave) -> list[RatePoint]:
    invitations = Invitation.objects.filter(wave=wave)
    completed = _per_day(invitations.filter(status=STATUS.COMPLETE), "completed_at")
    return cumulative_rates(_per_day(invitations, "sent_at"), completed)


def panel_attribute_keys(panel: Panel | None) -> list[str]:
    """The attribute names used by a panel's members (the columns of its imports)."""
    if panel is None:
        return []
    table = PanelMember._meta.db_table
    if connection.vendor == "postgresql":
        sql = f"SELECT DISTINCT jsonb_object_keys(attributes) FROM {table} WHERE panel_id = %s"
    else:
        sql = f"SELECT DISTINCT j.key FROM {table}, json_each({table}.attributes) AS j WHERE panel_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [panel.pk])
        return sorted(row[0] for row in cursor.fetchall())


def wave_breakdown(wave: Wave, attribute: str, *, language: str = "en") -> list[dict[str, Any]]:
    """Sent and complete invitations per value of a panel attribute (e.g. country), with the rate.

    Each row's `label` is the value, or the country's name in `language` when every value is a country code.
    """
    if wave.panel_id is None:
        return []
    rows = list(
        Invitation.objects.filter(wave=wave, respondent__memberships__panel_id=wave.panel_id)
        .annotate(value=KeyTextTransform(attribute, "respondent__memberships__attributes"))
        .values("value")
        .annotate(
            sent=Count("id", filter=~Q(status=STATUS.PENDING)),
            complete=Count("id", filter=Q(status=STATUS.COMPLETE)),
        )
        .order_by("-sent", "value")
    )
    names = name_countries((row["value"] for row in rows), language) or {}
    return [
        {**row, "label": names.get(row["value"], row["value"]), "rate": Rate(row["complete"], row["sent"])}
        for row in rows
    ]


# --------------------------------------------------------------------------- responses table


@dataclass
class ResponseFilters:
    status: str = ""
    version: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    attribute: str = ""
    value: str = ""


def wave_responses(wave: Wave, filters: ResponseFilters, *, viewer: User) -> QuerySet[Response]:
    """A wave's responses, newest first, with their version and invited respondent in the same
    query; the viewer's reads of them are audited (the page read, with the filters)."""
    responses = (
        Response.objects.filter(wave=wave)
        .select_related("version", "invitation__respondent")
        # The table shows a version's number: not its form (tens of kilobytes a row).
        .defer("answers", "version__content", "version__import_notes")
        .annotate(at=Coalesce("submitted_at", "created_at"))
        .order_by("-created_at", "-id")
    )
    if filters.status:
        responses = responses.filter(status=filters.status)
    if filters.version:
        responses = responses.filter(version__number=filters.version)
    if filters.date_from:
        responses = responses.filter(at__date__gte=filters.date_from)
    if filters.date_to:
        responses = responses.filter(at__date__lte=filters.date_to)
    if filters.attribute and filters.value and wave.panel_id:
        # Cast: compared as text (a bare key transform would compare against JSON).
        members = PanelMember.objects.filter(panel_id=wave.panel_id).annotate(
            value=Cast(KeyTextTransform(filters.attribute, "attributes"), TextField())
        )
        responses = responses.filter(
            invitation__respondent__in=members.filter(value=filters.value).values("respondent_id")
        )
    query = {"wave": wave.slug, **vars(filters)}
    return audit_list(responses, viewer=viewer, query=query, programme_id=wave.survey.programme_id)


def wave_version_numbers(wave: Wave) -> list[int]:
    return [version.number for version in wave_versions(wave)]


# --------------------------------------------------------------------------- question summaries


def _wave_answered(wave: Wave, status: str) -> QuerySet[Response]:
    responses = Response.objects.filter(wave=wave)
    return responses.filter(status=status) if status else responses


def wave_question_summaries(wave: Wave, *, language: str, status: str = "") -> list[QuestionSummary]:
    """Summaries over the wave's responses of `status` ("" for all), with the latest answers of each
    free-text question, from the tally kept up to date in ``selectors_summaries`` (no answer is read
    when nothing changed since the last view)."""
    kept = wave_answer_tally(wave, status)
    return summaries_from_tally(wave_tally_fields(kept, language), kept.tally)


def wave_text_field(wave: Wave, name: str, language: str) -> MergedField:
    """A free-text question of the wave's versions (others: 404)."""
    item = next((f for f in wave_fields(wave, language) if f.name == name and f.is_text and f.repeat is None), None)
    if item is None:
        raise Http404("No such text question.")
    return item


def wave_text_answers(wave: Wave, name: str, *, status: str = "", viewer: User | None = None) -> QuerySet[Response]:
    """The wave's responses that answered the text question `name`, newest first, with the answer
    as `text`; listed to a `viewer`, their reads are audited (the page read, with the question)."""
    # Only the one value is read (not whole answer documents), compared as text.
    answers = (
        _wave_answered(wave, status)
        .annotate(text=Cast(KeyTextTransform(name, "answers"), TextField()))
        .exclude(text__isnull=True)
        .exclude(text="")
        .only("id", "instance_id", "status", "created_at", "submitted_at", "language")
        .order_by("-id")
    )
    if viewer is None:  # the questions page's latest few texts, read as text only
        return answers
    query = {"wave": wave.slug, "question": name, "status": status}
    return audit_list(answers, viewer=viewer, query=query, programme_id=wave.survey.programme_id)
