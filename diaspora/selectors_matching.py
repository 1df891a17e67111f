"""Reads for matching: the engine's plain rows, remaining capacities, and the metrics."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from . import vocabularies as vocab
from .matching.types import DEFAULT_WEIGHTS, ExpertRow, OfferRow, RequestRow
from .models import ExpertiseRequest, Match, MatchingSettings, Offer, Person, Visibility
from .selectors import people_matchable, stale_before

PENDING = (Match.Status.PROPOSED, Match.Status.OFFERED)
COMMITTED = (Match.Status.ACCEPTED, Match.Status.ACTIVE, Match.Status.COMPLETED)
# Statuses that hold one of a request's places (a declined, expired or withdrawn one frees it).
HOLDING = PENDING + COMMITTED


def quarter_start(now: datetime | None = None) -> datetime:
    """Capacity is per calendar quarter: an engagement uses the quarter it was accepted in."""
    now = timezone.localtime(now or timezone.now())
    return now.replace(month=3 * ((now.month - 1) // 3) + 1, day=1, hour=0, minute=0, second=0, microsecond=0)


def committed_q(since: datetime) -> Q:
    return Q(status__in=COMMITTED, responded_at__gte=since)


def offer_committed_load(offer_id: int, *, exclude_match_id: int | None = None) -> int:
    """Capacity already taken this quarter by accepted engagements (the acceptance check)."""
    matches = Match.objects.filter(committed_q(quarter_start()), offer_id=offer_id)
    if exclude_match_id is not None:
        matches = matches.exclude(pk=exclude_match_id)
    return matches.aggregate(total=Sum("load"))["total"] or 0


# The location visibilities under which region and time zone enter matching: those that let
# every viewer of a ranking see them (a request's institution staff as well as administrators).
LOCATION_FOR_MATCHING = frozenset({Visibility.PUBLIC, Visibility.INSTITUTIONS})


def offers_reserved_load(offer_ids=None) -> dict[int, int]:
    """Capacity taken or promised: accepted this quarter, plus proposals and offers awaiting an answer."""
    matches = Match.objects.filter(committed_q(quarter_start()) | Q(status__in=PENDING), offer__isnull=False)
    if offer_ids is not None:
        matches = matches.filter(offer_id__in=list(offer_ids))
    return dict(matches.values_list("offer_id").annotate(total=Sum("load")).values_list("offer_id", "total"))


def expert_rows(at: datetime | None = None, *, person_ids=None) -> list[ExpertRow]:
    """Every matchable person (or those of `person_ids` who are) as the engine sees them (one
    query per table, no N+1)."""
    at = at or timezone.now()
    matchable = people_matchable().order_by()  # no sort: 100,000 rows sorted by name cost a disk sort
    if person_ids is not None:
        matchable = matchable.filter(pk__in=list(person_ids))
    people = list(
        matchable.values_list(
            "pk", "field_of_study", "occupation", "skills", "tags", "languages", "country",
            "home_region", "timezone", "bio", "last_confirmed_at", "location_visibility",
        )
    )  # fmt: skip
    # Offers and affiliations of the people read above: the rows of every active person (or of
    # `person_ids`), kept when the person is among them (cheaper than the consent and visibility
    # conditions again in a subquery).
    ids = {row[0] for row in people}
    owners = Q(person__status=Person.Status.ACTIVE) if person_ids is None else Q(person_id__in=list(ids))
    offer_rows = list(
        Offer.objects.filter(owners)
        .order_by()
        .values_list("pk", "person_id", "mode", "capacity", "unit", "remote", "onsite")
    )
    # every offer's load in one aggregate; for a few people, theirs only (the query's delta index)
    reserved = offers_reserved_load(None if person_ids is None else [row[0] for row in offer_rows])
    offers: dict[int, list[OfferRow]] = defaultdict(list)
    for offer_id, person_id, mode, capacity, unit, remote, onsite in offer_rows:
        if person_id in ids:
            offers[person_id].append(
                OfferRow(offer_id, mode, capacity - reserved.get(offer_id, 0), unit, remote, onsite)
            )
    affiliations: dict[int, list[int]] = defaultdict(list)
    for person_id, institution_id in (
        Person.affiliations.through.objects.filter(owners).order_by().values_list("person_id", "institution_id")
    ):
        if person_id in ids:
            affiliations[person_id].append(institution_id)
    stale_cutoff = stale_before()
    offsets: dict[str, float] = {}
    rows = []
    for pk, field, occupation, skills, tags, languages, country, region, tz, bio, confirmed, where in people:
        if where not in LOCATION_FOR_MATCHING:
            # A location kept from institutions never enters a score that institution staff see
            # (nor its order): its region and time-zone parts score nothing, for everyone.
            country, region, tz = "", "", ""
        if tz not in offsets:
            offsets[tz] = _offset(tz, at)
        rows.append(
            ExpertRow(
                person_id=pk,
                field=field,
                occupation=occupation,
                skills=tuple(skills),
                tags=tuple(tags),
                languages=tuple(languages),
                country=country,
                home_region=region,
                utc_offset=offsets[tz],
                text=expert_text(bio, tags),
                stale=confirmed < stale_cutoff,
                institution_ids=tuple(affiliations.get(pk, ())),
                offers=tuple(offers.get(pk, ())),
            )
        )
    return rows


def _offset(tz: str, at: datetime) -> float | None:
    if not tz:
        return None  # unknown: no working hours in common with anyone
    try:
        return vocab.utc_offset(tz, at)
    except ValueError:
        return None


def expert_text(bio: str, tags) -> str:
    """What text similarity sees of a person: the bio and the free tags. Skills and field are
    scored as such (the skills and field components); the texts' concepts cross languages
    (diaspora.matching.concepts), so no labels are added in every language any more."""
    return " ".join(p for p in [bio, " ".join(tags)] if p)


def _settings_for(programme_id: int | None) -> MatchingSettings | None:
    row = MatchingSettings.objects.filter(programme_id=programme_id).first() if programme_id else None
    return row or MatchingSettings.objects.filter(programme__isnull=True).first()


def saved_weights(row: MatchingSettings | None) -> dict[str, float]:
    """The weights a settings row stands for: its own (a component it leaves out weighs 0), or
    the defaults when it has none (or there is no row)."""
    if row and row.weights:
        return {k: float(v) for k, v in row.weights.items() if k in DEFAULT_WEIGHTS}
    return dict(DEFAULT_WEIGHTS)


def request_weights(request: ExpertiseRequest) -> dict[str, float]:
    return saved_weights(_settings_for(request.programme_id))


def _skills_first(row: MatchingSettings | None) -> bool:
    return row.skills_first if row else True


def offer_days(request: ExpertiseRequest) -> int:
    row = _settings_for(request.programme_id)
    return row.offer_days if row else 7


def request_row(request: ExpertiseRequest, at: datetime | None = None) -> RequestRow:
    return request_rows([request], at)[0]


def request_rows(requests: list[ExpertiseRequest], at: datetime | None = None) -> list[RequestRow]:
    """Engine rows for many requests in a fixed number of queries (the nightly batch reads
    thousands): places held and people asked come from one pass over their matches."""
    at = at or timezone.now()
    ids = [r.pk for r in requests]
    held: dict[int, int] = defaultdict(int)
    asked: dict[int, set[int]] = defaultdict(set)
    for request_id, person_id, status in (
        Match.objects.filter(request_id__in=ids).values_list("request_id", "person_id", "status").iterator()
    ):
        asked[request_id].add(person_id)
        if status in HOLDING:
            held[request_id] += 1
    settings: dict[int | None, MatchingSettings | None] = {}
    offset = _offset("Asia/Almaty", at)
    rows = []
    for request in requests:
        if request.programme_id not in settings:
            settings[request.programme_id] = _settings_for(request.programme_id)
        row = settings[request.programme_id]
        rows.append(
            RequestRow(
                request_id=request.pk,
                institution_id=request.institution_id,
                mode=request.mode,
                field=request.field_of_study,
                skills=tuple(request.skills),
                languages=tuple(request.languages),
                region=request.region or request.institution.region,
                utc_offset=offset,
                format=request.format,
                text=f"{request.title} {request.topic}",
                slots=max(0, request.experts_needed - held[request.pk]),
                hours_per_expert=request.hours_per_expert,
                excluded_person_ids=frozenset(asked[request.pk]),
                weights=saved_weights(row),
                skills_first=_skills_first(row),
            )
        )
    return rows


def open_requests(*, programme_id: int | None = None) -> list[ExpertiseRequest]:
    """Open requests: of one programme, or (None) of every programme and none, for a platform-wide run."""
    requests = ExpertiseRequest.objects.filter(status=ExpertiseRequest.Status.OPEN)
    if programme_id is not None:
        requests = requests.filter(programme_id=programme_id)
    return list(requests.select_related("institution").order_by("pk"))


# --- metrics -------------------------------------------------------------------------------------


@dataclass
class Metrics:
    offers_answered: int
    acceptance_rate: float | None  # accepted / (accepted + declined + expired)
    median_response_hours: float | None
    requests_considered: int
    coverage_30d: float | None  # requests (older than 30 days or matched) with an acceptance within 30 days
    experts_with_offers: int
    gini_load: float | None  # of engagements per expert, over everyone who offers something
    by_status: dict[str, int]


def matching_metrics(requests=None, *, now: datetime | None = None) -> Metrics:
    now = now or timezone.now()
    requests = requests if requests is not None else ExpertiseRequest.objects.all()
    matches = Match.objects.filter(request__in=requests)
    answered = matches.filter(offered_at__isnull=False, responded_at__isnull=False)
    accepted = matches.filter(status__in=COMMITTED).count()
    refused = matches.filter(status__in=[Match.Status.DECLINED, Match.Status.EXPIRED]).count()
    hours = [
        (responded - offered).total_seconds() / 3600
        for offered, responded in answered.values_list("offered_at", "responded_at")
    ]
    covered, considered = _coverage(requests, now)
    loads = _loads(requests)
    return Metrics(
        offers_answered=len(hours),
        acceptance_rate=accepted / (accepted + refused) if accepted + refused else None,
        median_response_hours=round(statistics.median(hours), 1) if hours else None,
        requests_considered=considered,
        coverage_30d=covered / considered if considered else None,
        experts_with_offers=len(loads),
        gini_load=gini(loads) if loads else None,
        by_status=dict(matches.values_list("status").annotate(n=Count("pk")).values_list("status", "n")),
    )


def _coverage(requests, now: datetime) -> tuple[int, int]:
    """Requests whose 30 days are over, or that already have an acceptance, count; of them,
    those with an acceptance within 30 days of being posted are covered."""
    window = timedelta(days=30)
    rows = requests.values_list("pk", "created_at")
    first_accept = dict(
        Match.objects.filter(request__in=requests, status__in=COMMITTED)
        .values_list("request_id")
        .annotate(first=Min("responded_at"))
        .values_list("request_id", "first")
    )
    considered = covered = 0
    for pk, created in rows:
        accepted_at = first_accept.get(pk)
        if created + window <= now or accepted_at is not None:
            considered += 1
            if accepted_at is not None and accepted_at - created <= window:
                covered += 1
    return covered, considered


def _loads(requests) -> list[int]:
    """Engagements per expert, one entry per person who offers something and is shown beside
    matches (no ordering: Offer's default one made DISTINCT return a person once per offer)."""
    from .selectors import people_matchable_or_engaged

    people = (
        Offer.objects.filter(person__in=people_matchable_or_engaged())
        .order_by()
        .values_list("person_id", flat=True)
        .distinct()
    )
    counts = dict(
        Match.objects.filter(request__in=requests, status__in=COMMITTED)
        .values_list("person_id")
        .annotate(n=Count("pk"))
        .values_list("person_id", "n")
    )
    return [counts.get(pk, 0) for pk in people]


def gini(values: list[int]) -> float:
    """Gini coefficient: 0 when every expert carries the same load, towards 1 when one carries all."""
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * v for i, v in enumerate(ordered))
    return round((2 * weighted) / (n * total) - (n + 1) / n, 4)
