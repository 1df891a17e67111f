"""Matching runs (the nightly batch and an administrator's run) and the on-demand top 20.

The engine (diaspora.matching) is pure; this module reads its rows, keeps a per-process
expert index for single-request queries, and writes proposals back.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Programme, User
from accounts.scoping import administered

from ..matching.embeddings import load_encoder
from ..matching.engine import ExpertIndex, match_batch, rank_for_request
from ..matching.types import Candidate, FilterStep, RankResult
from ..models import ExpertiseRequest, Match, MatchRun, Offer
from ..selectors import people_matchable
from ..selectors_matching import expert_rows, offers_reserved_load, open_requests, request_row, request_rows
from .registry import INDEX_VERSION_KEY


class MatchingRefused(Exception):
    pass


# --- the per-process index for single-request queries -------------------------------------------

_index_lock = threading.Lock()
_index: dict[str, object] = {}


def expert_index(*, fresh: bool = False) -> ExpertIndex:
    """The index of matchable experts, rebuilt when a profile, offer or consent changed
    (services bump a version in the shared cache) or when it is older than the limit."""
    version = cache.get(INDEX_VERSION_KEY, 0)
    with _index_lock:
        built = _index.get("built_at", 0.0)
        too_old = time.monotonic() - built > settings.MATCHING_INDEX_MAX_AGE_SECONDS
        if fresh or too_old or _index.get("version") != version or "index" not in _index:
            _index["index"] = ExpertIndex.build(
                expert_rows(), encoder=load_encoder(settings.MATCHING_EMBEDDING_BACKEND)
            )
            _index["version"], _index["built_at"] = version, time.monotonic()
        return _index["index"]  # type: ignore[return-value]


def forget_expert_index() -> None:
    with _index_lock:
        _index.clear()


def request_top(*, request: ExpertiseRequest, k: int = 20) -> RankResult:
    """The best k experts for one request, with remaining capacities re-checked against the
    database (the index may be a few minutes old; capacity must not be)."""
    if request.status != ExpertiseRequest.Status.OPEN:
        raise MatchingRefused("Only open requests are matched.")
    row = request_row(request)
    result = rank_for_request(expert_index(), _with_slots(row), k=k + 10)
    result.candidates = still_available(result.candidates, row.hours_per_expert)[:k]
    return result


def still_available(candidates: list[Candidate], hours_per_expert: int) -> list[Candidate]:
    """Candidates from a possibly older index, kept only if they are still matchable (consent,
    visibility, status) and their offer still has room: the database decides, not the index."""
    if not candidates:
        return []
    matchable = set(people_matchable().filter(pk__in=[c.person_id for c in candidates]).values_list("pk", flat=True))
    fresh = _fresh_remaining([c.offer_id for c in candidates])
    return [
        c for c in candidates if c.person_id in matchable and fresh.get(c.offer_id, 0) >= _demand(c, hours_per_expert)
    ]


def _with_slots(row):
    # Ranking for a person's view of a request lists candidates even when its places are
    # all held: the top 20 is for looking, not for proposing.
    from dataclasses import replace

    return replace(row, slots=max(row.slots, 1))


def _demand(candidate: Candidate, hours: int) -> int:
    return hours if candidate.unit == Offer.Unit.HOURS else 1


def _fresh_remaining(offer_ids: list[int]) -> dict[int, int]:
    reserved = offers_reserved_load(offer_ids)
    return {
        pk: cap - reserved.get(pk, 0)
        for pk, cap in Offer.objects.filter(pk__in=offer_ids).values_list("pk", "capacity")
    }


# --- batch runs --------------------------------------------------------------------------------


def matching_run_start(
    *, kind: str, key: str, user: User | None = None, programme: Programme | None = None
) -> tuple[MatchRun, bool]:
    """The run row for this key (created once: the key is unique) and whether it is new."""
    try:
        with transaction.atomic():
            return MatchRun.objects.create(kind=kind, key=key, requested_by=user, programme=programme), True
    except IntegrityError:
        return MatchRun.objects.get(key=key), False


def matching_run_request(*, user: User, programme_slug: str = "") -> MatchRun:
    """An administrator's run, queued after the commit: over the open requests of one programme.

    The programme is the one asked for, or the only one the user administers; a superuser
    may leave it empty for a platform-wide run over every open request. Raises
    MatchingRefused naming the choices otherwise."""
    mine = administered(user).order_by("slug")
    if programme_slug:
        programme = mine.filter(slug=programme_slug).first()
        if programme is None:
            raise MatchingRefused(_("You do not administer a programme %(slug)r.") % {"slug": programme_slug})
    elif user.is_superuser:
        programme = None
    elif len(mine) == 1:
        programme = mine[0]
    else:
        choices = ", ".join(p.slug for p in mine)
        raise MatchingRefused(
            _("Choose the programme to match: %(choices)s.") % {"choices": choices}
            if choices
            else _("You administer no programme.")
        )
    from ..tasks import matching_run as matching_run_task  # tasks import this module

    with transaction.atomic():
        run, _created = matching_run_start(
            kind=MatchRun.Kind.MANUAL, key=f"manual-{uuid.uuid4()}", user=user, programme=programme
        )
        # Enqueued after the commit, so the worker never looks for a row it cannot see yet.
        transaction.on_commit(lambda: matching_run_task.delay(run.pk))
    return run


def matching_nightly(*, day: date | None = None) -> MatchRun:
    run, _ = matching_run_start(kind=MatchRun.Kind.NIGHTLY, key=f"nightly-{day or timezone.localdate()}")
    return matching_run(run=run)


@dataclass
class _Written:
    created: int
    skipped: int


def matching_run(*, run: MatchRun) -> MatchRun:
    """Run once: claim the row (a conditional UPDATE), compute, write proposals, report.

    Safe to call twice: a second call finds the row claimed or finished and returns it. The
    proposals themselves are idempotent too: a person is proposed for a request at most once
    (a unique constraint), and only a request's free places are filled."""
    now = timezone.now()
    if not MatchRun.objects.filter(pk=run.pk, status=MatchRun.Status.CREATED).update(
        status=MatchRun.Status.RUNNING, started_at=now
    ):
        run.refresh_from_db()
        return run
    try:
        stats = _run(run)
    except Exception as exc:
        MatchRun.objects.filter(pk=run.pk).update(
            status=MatchRun.Status.ERROR, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        raise
    MatchRun.objects.filter(pk=run.pk).update(status=MatchRun.Status.COMPLETE, stats=stats, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def _run(run: MatchRun) -> dict:
    started = time.perf_counter()
    requests = open_requests(programme_id=run.programme_id)
    rows = request_rows(requests)
    rows = [r for r in rows if r.slots > 0]
    load_seconds = time.perf_counter() - started
    index = ExpertIndex.build(expert_rows(), encoder=load_encoder(settings.MATCHING_EMBEDDING_BACKEND))
    result = match_batch(index, rows)
    by_id = {r.request_id: r for r in rows}
    written = _write_proposals(run, result.assigned, by_id)
    return {
        **{k: v for k, v in result.stats.items()},
        "requests": len(rows),
        "experts": len(index),
        "proposals_created": written.created,
        "proposals_skipped": written.skipped,
        "unmatched": {str(k): [step.__dict__ for step in v] for k, v in result.unmatched.items()},
        "load_seconds": round(load_seconds, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }


def _write_proposals(run: MatchRun, assigned: list[Candidate], rows: dict) -> _Written:
    ranks: dict[int, int] = {}
    matches = []
    for candidate in sorted(assigned, key=lambda c: (c.request_id, -c.score, c.person_id)):
        ranks[candidate.request_id] = ranks.get(candidate.request_id, 0) + 1
        matches.append(
            match_from_candidate(candidate, rows[candidate.request_id], run=run, rank=ranks[candidate.request_id])
        )
    # ignore_conflicts: a person already asked about a request (by an earlier run or a
    # cascade racing this one) keeps their first match; the constraint decides, not a check.
    Match.objects.bulk_create(matches, ignore_conflicts=True, batch_size=1000)
    count = Match.objects.filter(run=run).count()
    return _Written(created=count, skipped=len(matches) - count)


def match_from_candidate(
    candidate: Candidate, row, *, run: MatchRun | None, rank: int, status=Match.Status.PROPOSED
) -> Match:
    return Match(
        request_id=candidate.request_id,
        person_id=candidate.person_id,
        offer_id=candidate.offer_id,
        run=run,
        status=status,
        score=candidate.score,
        rank=rank,
        components=candidate.components,
        weights=row.weights,
        details={
            "mode": row.mode,
            "shared_skills": list(candidate.shared_skills),
            "shared_languages": list(candidate.shared_languages),
            "remaining_after": candidate.remaining_after,
            "unit": candidate.unit,
            "remote": candidate.remote,
            "onsite": candidate.onsite,
            "stale": candidate.stale,
            "embedding_bonus": candidate.embedding_bonus,
        },
        load=_demand(candidate, row.hours_per_expert),
    )


def why_nobody(steps: list[FilterStep]) -> str:
    """The first hard filter that left nobody, in words (for a request without candidates)."""
    from ..explanations import filter_message

    return filter_message(steps)
