"""Reads for programme administrators: panels, waves, exports, dashboards, summaries.

Everything is scoped in the queryset: an administrator sees the objects of the
programmes in ``user.programmes``; superusers see everything; objects without a
programme are for superusers only. Pure computations (merging fields across
versions, cumulative rates, question summaries) take and return plain values and
are tested without a database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.http import Http404

from accounts.models import User
from accounts.scoping import in_programmes

from .instrument import Instrument
from .models import ExportJob, Invitation, Panel, PanelMember, Response, SurveyVersion, Wave

NUMERIC_TYPES = {"integer", "decimal", "range"}
CHOICE_TYPES = {"select_one", "select_multiple", "country", "rank"}
SKIPPED_TYPES = {"note"}
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
    """The user's waves with their numbers of complete and partial responses (one query)."""
    return waves_visible_to(user).annotate(
        complete_count=Count("responses", filter=Q(responses__status=Response.Status.COMPLETE)),
        partial_count=Count("responses", filter=Q(responses__status=Response.Status.PARTIAL)),
    )


def wave_get_for_admin(user: User, slug: str) -> Wave:
    wave = waves_visible_to(user).filter(slug=slug).first()
    if wave is None:
        raise Http404("No such wave.")
    return wave


def exports_visible_to(user: User) -> QuerySet[ExportJob]:
    return in_programmes(ExportJob.objects.select_related("wave"), user, "wave__survey__programme")


def export_get(user: User, pk: int) -> ExportJob:
    job = exports_visible_to(user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such export.")
    return job


# --------------------------------------------------------------------------- fields across versions


@dataclass
class MergedField:
    """One answer column across every version of a wave, labelled from the newest version that has it."""

    name: str
    type: str
    label: str
    choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def has_choices(self) -> bool:
        return self.type in CHOICE_TYPES


def _merged_type(types: list[str]) -> str:
    # A field may change type only toward text, so text wins; otherwise the newest type.
    return "text" if "text" in types else types[0]


def merged_fields(instruments: list[Instrument], language: str) -> list[MergedField]:
    """Fields of all `instruments` (newest first) keyed by name: the newest's order, then older-only ones."""
    merged: dict[str, MergedField] = {}
    types: dict[str, list[str]] = {}
    for instrument in instruments:
        for item in instrument.fields.values():
            if item.type in SKIPPED_TYPES:
                continue
            types.setdefault(item.name, []).append(item.type)
            current = merged.get(item.name)
            if current is None:
                label = instrument.text(item.labels, language) or item.name
                current = merged[item.name] = MergedField(item.name, item.type, label)
            known = {name for name, _ in current.choices}
            for choice in instrument.choices_for(item):
                if choice.name not in known:
                    current.choices.append((choice.name, instrument.text(choice.labels, language) or choice.name))
    for name, item in merged.items():
        item.type = _merged_type(types[name])
        if not item.has_choices:
            item.choices = []
    return list(merged.values())


def wave_versions(wave: Wave) -> list[SurveyVersion]:
    """The wave's version and every version its responses were given on, newest first."""
    # One EXISTS per version of the survey (a handful), not a DISTINCT over every response.
    answered = Response.objects.filter(wave=wave, version=OuterRef("pk"))
    versions = SurveyVersion.objects.filter(survey_id=wave.survey_id).filter(Q(pk=wave.version_id) | Exists(answered))
    return list(versions.order_by("-number"))


def wave_fields(wave: Wave, language: str) -> list[MergedField]:
    return merged_fields([version.instrument for version in wave_versions(wave)], language)


def wave_source_hash(wave: Wave) -> str:
    """Changes whenever a response of the wave is added, changed or removed."""
    stats = Response.objects.filter(wave=wave).aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    return hashlib.sha256(f"{stats['n']}|{stats['last']}|{stats['top']}".encode()).hexdigest()


# --------------------------------------------------------------------------- dashboard


def wave_counts(wave: Wave) -> dict[str, int]:
    """Invitation funnel of a wave, plus responses given through the public link."""
    # "opened" counts everyone who got as far as the survey, those who finished included.
    invited = Invitation.objects.filter(wave=wave).aggregate(
        invitations=Count("id"),
        invited=Count("id", filter=~Q(status=STATUS.PENDING)),
        opened=Count(
            "id", filter=Q(opened_at__isnull=False) | Q(status__in=[STATUS.OPENED, STATUS.PARTIAL, STATUS.COMPLETE])
        ),
        partial=Count("id", filter=Q(status=STATUS.PARTIAL)),
        complete=Count("id", filter=Q(status=STATUS.COMPLETE)),
        bounced=Count("id", filter=Q(status=STATUS.BOUNCED)),
        opted_out=Count("id", filter=Q(status=STATUS.OPTED_OUT)),
    )
    public = Response.objects.filter(wave=wave, invitation__isnull=True).aggregate(
        public_partial=Count("id", filter=Q(status=Response.Status.PARTIAL)),
        public_complete=Count("id", filter=Q(status=Response.Status.COMPLETE)),
    )
    counts = {**invited, **public}
    counts["partial_total"] = counts["partial"] + counts["public_partial"]
    counts["complete_total"] = counts["complete"] + counts["public_complete"]
    counts["response_rate"] = round(100 * counts["complete"] / counts["invited"], 1) if counts["invited"] else 0.0
    return counts


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


def wave_breakdown(wave: Wave, attribute: str) -> list[dict[str, Any]]:
    """Invited, complete and the response rate per value of a panel attribute (e.g. country)."""
    if wave.panel_id is None:
        return []
    rows = (
        Invitation.objects.filter(wave=wave, respondent__memberships__panel_id=wave.panel_id)
        .annotate(value=KeyTextTransform(attribute, "respondent__memberships__attributes"))
        .values("value")
        .annotate(
            invited=Count("id", filter=~Q(status=STATUS.PENDING)),
            complete=Count("id", filter=Q(status=STATUS.COMPLETE)),
        )
        .order_by("-invited", "value")
    )
    return [
        {**row, "rate": round(100 * row["complete"] / row["invited"], 1) if row["invited"] else 0.0} for row in rows
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


def wave_responses(wave: Wave, filters: ResponseFilters) -> QuerySet[Response]:
    """A wave's responses, newest first, with their version and invited respondent in the same query."""
    responses = (
        Response.objects.filter(wave=wave)
        .select_related("version", "invitation__respondent")
        .defer("answers")
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
    return responses


def wave_version_numbers(wave: Wave) -> list[int]:
    return [version.number for version in wave_versions(wave)]


# --------------------------------------------------------------------------- question summaries


@dataclass
class QuestionSummary:
    name: str
    label: str
    type: str
    answered: int = 0
    choices: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, float] | None = None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _selected(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value).split()


MANY_CHOICES = 20  # longer lists (countries) show only the choices that were given


def summarise_answers(fields: list[MergedField], answers: Iterable[dict[str, Any]]) -> list[QuestionSummary]:
    """Per-question counts and shares of choices, or n/mean/median/min/max of numbers."""
    counters = {f.name: Counter() for f in fields if f.has_choices}
    numbers: dict[str, list[float]] = {f.name: [] for f in fields if f.is_numeric}
    answered: Counter = Counter()
    for document in answers:
        for item in fields:
            value = document.get(item.name)
            if value is None or value == "" or value == []:
                continue
            answered[item.name] += 1
            if item.name in counters:
                counters[item.name].update(_selected(value) if item.type in {"select_multiple", "rank"} else [value])
            elif item.name in numbers and (number := _number(value)) is not None:
                numbers[item.name].append(number)
    summaries = []
    for item in fields:
        summary = QuestionSummary(item.name, item.label, item.type, answered[item.name])
        if item.name in counters:
            summary.choices = _choice_rows(item, counters[item.name], summary.answered)
        elif item.name in numbers and numbers[item.name]:
            values = numbers[item.name]
            summary.stats = {
                "n": len(values),
                "mean": round(statistics.fmean(values), 2),
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
        summaries.append(summary)
    return summaries


def _choice_rows(item: MergedField, counts: Counter, answered: int) -> list[dict[str, Any]]:
    labels = dict(item.choices)
    names = [name for name, _ in item.choices] + sorted(set(counts) - set(labels))
    if len(names) > MANY_CHOICES:
        names = [name for name, _ in counts.most_common()]
    return [
        {
            "name": name,
            "label": labels.get(name, name),
            "count": counts.get(name, 0),
            "share": round(100 * counts.get(name, 0) / answered, 1) if answered else 0.0,
        }
        for name in names
    ]


def wave_question_summaries(wave: Wave, *, language: str, status: str = "") -> list[QuestionSummary]:
    """Summaries over the wave's responses, read in one streamed query of their answers."""
    responses = Response.objects.filter(wave=wave)
    if status:
        responses = responses.filter(status=status)
    answers = responses.order_by().values_list("answers", flat=True).iterator(chunk_size=2000)
    return summarise_answers(wave_fields(wave, language), answers)
