"""Matching runs (the nightly batch and an administrator's run) and the on-demand top 20.

The engine (diaspora.matching) is pure; this module reads its rows, keeps a per-process
expert index for single-request queries, and writes proposals back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Programme, User
from accounts.scoping import administered

from ..matching.embeddings import load_encoder
from ..matching.engine import ExpertIndex, match_batch, rank_for_request, rank_with_changes
from ..matching.types import LOCATION_COMPONENTS, STALE_FACTOR, Candidate, FilterStep, RankResult, RequestRow
from ..models import ExpertiseRequest, Match, MatchRun, Offer, Person
from ..selectors import people_matchable
from ..selectors_matching import expert_rows, offers_reserved_load, open_requests, request_row, request_rows


class MatchingRefused(Exception):
    pass


# --- the per-process index for single-request queries -------------------------------------------
#
# A query never waits for a rebuild (web processes build their first index in the background as
# they start, index_warm; only a query before that build ends waits for it): people changed since the index read its rows (registry.index_changed stamps them) are ranked
# from fresh rows in a small index that shares the big one's text weights, and the two rankings
# are merged; the big index is rebuilt in a background thread, at most every
# MATCHING_INDEX_REFRESH_SECONDS while changes come in, or when older than
# MATCHING_INDEX_MAX_AGE_SECONDS. Consent, visibility and capacity are re-read on every query.

CHANGE_OVERLAP = timedelta(seconds=5)  # a change committed while the rows were read is re-ranked
logger = logging.getLogger(__name__)


@dataclass
class _Snapshot:
    index: ExpertIndex
    since: datetime  # people changed at or after this are ranked from fresh rows
    built_at: float  # time.monotonic()
    erased_upto: int = 0  # the last erasure whose person this index no longer holds


@dataclass
class _Delta:
    key: tuple  # (snapshot, changed ids, latest change): reused while they stay the same
    index: ExpertIndex
    changed: frozenset[int]


class _State:
    lock = threading.Lock()
    snapshot: _Snapshot | None = None
    delta: _Delta | None = None
    building: threading.Thread | None = None


def _build_snapshot() -> _Snapshot:
    since = timezone.now() - CHANGE_OVERLAP
    erased_upto = _last_erasure()  # read first: an erasure committed meanwhile triggers another build
    index = ExpertIndex.build(expert_rows(), encoder=load_encoder(settings.MATCHING_EMBEDDING_BACKEND))
    return _Snapshot(index, since, time.monotonic(), erased_upto)


def _last_erasure() -> int:
    from privacy.models import ErasureRecord

    return ErasureRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _snapshot() -> _Snapshot:
    building = _State.building
    if _State.snapshot is None and building is not None and building.is_alive():
        building.join()  # the process's first build (index_warm) is under way: no second one
    with _State.lock:
        if _State.snapshot is None:
            _State.snapshot, _State.delta = _build_snapshot(), None
        snapshot = _State.snapshot
    if time.monotonic() - snapshot.built_at > settings.MATCHING_INDEX_MAX_AGE_SECONDS or _erased_since(snapshot):
        index_refresh()
    return snapshot


def _erased_since(snapshot: _Snapshot) -> bool:
    """Someone was erased after this index read its rows: it still holds their words, so it is
    rebuilt now (their rows are already gone from every answer: the database decides who is listed)."""
    return _last_erasure() > snapshot.erased_upto


def index_forget_erased() -> None:
    """After an erasure in this process: rebuild its index, if it has one (other processes notice
    the erasure record at their next query)."""
    if _State.snapshot is not None:
        index_refresh()


def index_warm() -> None:
    """Build the process's index in the background as the process starts (gunicorn's
    post_worker_init), so that no query of a web process waits for it once it is up; a query
    that comes sooner waits for this build rather than starting another."""
    if _State.snapshot is None and settings.MATCHING_INDEX_BACKGROUND:
        index_refresh()


def index_refresh() -> None:
    """Rebuild the index in a background thread (one at a time), or here when background
    refreshes are off (tests that run in one uncommitted transaction)."""
    if not settings.MATCHING_INDEX_BACKGROUND:
        snapshot = _build_snapshot()
        with _State.lock:
            _State.snapshot, _State.delta = snapshot, None
        return
    with _State.lock:
        if _State.building is not None and _State.building.is_alive():
            return
        _State.building = threading.Thread(target=_rebuild, name="matching-index", daemon=True)
        _State.building.start()


def _rebuild() -> None:
    try:
        snapshot = _build_snapshot()
        with _State.lock:
            _State.snapshot, _State.delta = snapshot, None
    except Exception:  # the old index keeps serving; the next change or query tries again
        logger.exception("matching index rebuild failed")
    finally:
        connection.close()  # this thread's own connection


def forget_expert_index() -> None:
    if _State.building is not None:
        _State.building.join()
    with _State.lock:
        _State.snapshot, _State.delta, _State.building = None, None, None


def _changed_since(snapshot: _Snapshot) -> tuple[frozenset[int], datetime | None]:
    rows = Person.objects.filter(matching_changed_at__gte=snapshot.since).values_list("pk", "matching_changed_at")
    changed = dict(rows)
    return frozenset(changed), max(changed.values(), default=None)


def _delta_for(snapshot: _Snapshot, changed: frozenset[int], latest) -> _Delta:
    key = (id(snapshot), changed, latest)
    with _State.lock:
        if _State.delta is not None and _State.delta.key == key:
            return _State.delta
    index = ExpertIndex.build(expert_rows(person_ids=changed), base=snapshot.index)
    delta = _Delta(key, index, changed)
    with _State.lock:
        if _State.snapshot is snapshot:
            _State.delta = delta
    return delta


def rank_current(row: RequestRow, *, k: int) -> RankResult:
    """The request's top k from the process's index plus fresh rows of the people changed since."""
    snapshot = _snapshot()
    changed, latest = _changed_since(snapshot)
    if not changed:
        return rank_for_request(snapshot.index, row, k=k)
    if time.monotonic() - snapshot.built_at > settings.MATCHING_INDEX_REFRESH_SECONDS or (
        len(changed) > settings.MATCHING_INDEX_DELTA_LIMIT
    ):
        index_refresh()
    delta = _delta_for(snapshot, changed, latest)
    return rank_with_changes(snapshot.index, delta.index, delta.changed, row, k=k)


def request_top(*, request: ExpertiseRequest, k: int = 20) -> RankResult:
    """The best k experts for one request, with remaining capacities re-checked against the
    database (the index may be a few minutes old; capacity must not be)."""
    if request.status != ExpertiseRequest.Status.OPEN:
        raise MatchingRefused("Only open requests are matched.")
    return _available_top(_with_slots(request_row(request)), k)


def _available_top(row: RequestRow, k: int) -> RankResult:
    """The top k of those still available (a few more are ranked, in case some are not)."""
    result = rank_current(row, k=k + 10)
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
    with transaction.atomic():
        run, _created = matching_run_start(
            kind=MatchRun.Kind.MANUAL, key=f"manual-{uuid.uuid4()}", user=user, programme=programme
        )
        # Enqueued after the commit, so the worker never looks for a row it cannot see yet; a
        # run never sent (the broker was down) is sent by matching_runs_sweep.
        run.enqueue()
    return run


def matching_runs_sweep(*, now: datetime | None = None) -> list[int]:
    """Send again the runs a worker should have taken: never sent (or the message lost with the
    broker), or left running by a worker that died (its lease expired): config.jobs.Job.sweep. A
    second run writes no proposal twice (a person is proposed for a request once: a unique
    constraint). The run ids."""
    return MatchRun.sweep(now=now)


def matching_nightly(*, day: date | None = None) -> MatchRun:
    run, _ = matching_run_start(kind=MatchRun.Kind.NIGHTLY, key=f"nightly-{day or timezone.localdate()}")
    return matching_run(run=run)


@dataclass
class _Written:
    created: int
    skipped: int


def matching_run(*, run: MatchRun) -> MatchRun:
    """Run once: claim the row (config.jobs.Job: a conditional UPDATE and a lease), compute, write
    proposals, report.

    Safe to call twice: a second call finds the row claimed or finished and returns it. The
    proposals themselves are idempotent too: a person is proposed for a request at most once
    (a unique constraint), and only a request's free places are filled."""
    MatchRun.execute(run.pk, _run_reported)
    run.refresh_from_db()
    return run


def _run_reported(run: MatchRun) -> None:
    run.progress_to(5, "reading requests and experts")
    run.finish(stats=_run(run))


def _run(run: MatchRun) -> dict:
    started = time.perf_counter()
    requests = open_requests(programme_id=run.programme_id)
    rows = request_rows(requests)
    rows = [r for r in rows if r.slots > 0]
    load_seconds = time.perf_counter() - started
    experts = expert_rows()
    experts_seconds = time.perf_counter() - started - load_seconds
    index = ExpertIndex.build(experts, encoder=load_encoder(settings.MATCHING_EMBEDDING_BACKEND))
    del experts  # the index keeps what it needs
    index_seconds = time.perf_counter() - started - load_seconds - experts_seconds
    run.progress_to(50, "matching")
    result = match_batch(index, rows)
    by_id = {r.request_id: r for r in rows}
    writing = time.perf_counter()
    run.progress_to(80, "writing proposals")
    written = _write_proposals(run, result.assigned, by_id)
    return {
        "read_experts_seconds": round(experts_seconds, 3),
        "index_seconds": round(index_seconds, 3),
        "write_seconds": round(time.perf_counter() - writing, 3),
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
    # Conflicts ignored: a person already asked about a request (by an earlier run or a
    # cascade racing this one) keeps their first match; the constraint decides, not a check.
    _insert_ignoring_conflicts(matches)
    count = Match.objects.filter(run=run).count()
    return _Written(created=count, skipped=len(matches) - count)


def _insert_ignoring_conflicts(matches: list[Match]) -> None:
    """bulk_create(ignore_conflicts=True), or on PostgreSQL the same rows through COPY into a
    temporary table and one INSERT ... ON CONFLICT DO NOTHING: bulk_create spends 4-5 s of
    Python on 15,000 proposals (the nightly run's share), COPY under 1 s. Every field's value is
    what bulk_create would save (pre_save, then the field's own conversion; JSON as text)."""
    if connection.vendor != "postgresql" or not matches:
        Match.objects.bulk_create(matches, ignore_conflicts=True, batch_size=1000)
        return
    fields = [f for f in Match._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table, scratch = Match._meta.db_table, f"match_copy_{uuid.uuid4().hex}"

    def value(field, match):
        raw = field.pre_save(match, add=True)
        if isinstance(field, JSONField):
            return json.dumps(raw, cls=field.encoder)
        return field.get_db_prep_save(raw, connection)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TEMPORARY TABLE "{scratch}" ON COMMIT DROP AS SELECT {columns} FROM "{table}" WITH NO DATA'
        )
        with cursor.cursor.copy(f'COPY "{scratch}" ({columns}) FROM STDIN') as copy:
            for match in matches:
                copy.write_row([value(field, match) for field in fields])
        cursor.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{scratch}" ON CONFLICT DO NOTHING')
        cursor.execute(f'DROP TABLE "{scratch}"')


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
            "shared_topics": list(candidate.shared_topics),
            "covers_all_skills": candidate.covers_all_skills,
            "skills_first": row.skills_first,
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


# --- what a change of weights does ------------------------------------------------------------


@dataclass
class PreviewRow:
    person_id: int
    name: str  # display name if the viewer may see the person, else "Expert N"
    rank_now: int | None  # under the saved settings (None: not in their top k)
    rank_new: int
    score_new: float  # without the location components where the viewer may not see location
    covers_all_skills: bool
    contributions: dict[str, float | None]  # component -> weight x value (None: hidden from the viewer)


def weights_preview(
    *, viewer: User, request: ExpertiseRequest, weights: dict[str, float], skills_first: bool, k: int = 8
) -> list[PreviewRow]:
    """The request's top k under proposed weights beside its ranking under the saved ones, with
    what each weighted component adds to each score: the weights page shows it before saving.
    Nothing is written. Names only of people the viewer may see; the region and time-zone parts
    only where the viewer may see the person's location (else left out of the score shown)."""
    from dataclasses import replace

    from ..matching.scoring import weights_row
    from ..matching.types import COMPONENTS
    from ..selectors import people_listed_for, visible_groups

    row = _with_slots(request_row(request))
    now = [c.person_id for c in _available_top(row, k + 10).candidates]
    new = _available_top(replace(row, weights=dict(weights), skills_first=skills_first), k).candidates
    listed = people_listed_for(viewer).filter(pk__in=[c.person_id for c in new]).prefetch_related("programmes")
    people = {p.pk: p for p in listed}
    normalised = dict(zip(COMPONENTS, weights_row(weights).tolist(), strict=True))
    rows = []
    for i, c in enumerate(new, start=1):
        person = people.get(c.person_id)
        sees_location = person is not None and "location" in visible_groups(viewer, person)
        contributions = {
            name: None if name in LOCATION_COMPONENTS and not sees_location else round(normalised[name] * value, 3)
            for name, value in c.components.items()
        }
        hidden = sum(normalised[name] * c.components.get(name, 0) for name in LOCATION_COMPONENTS if not sees_location)
        hidden *= STALE_FACTOR if c.stale else 1.0
        rows.append(
            PreviewRow(
                person_id=c.person_id,
                name=person.display_name if person is not None else _("Expert %(n)s") % {"n": i},
                rank_now=now.index(c.person_id) + 1 if c.person_id in now else None,
                rank_new=i,
                score_new=round(c.score - hidden, 3),
                covers_all_skills=c.covers_all_skills,
                contributions=contributions,
            )
        )
    return rows
