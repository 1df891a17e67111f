"""The matching engine's public API: rank experts for one request, assign a batch globally.

    index = ExpertIndex.build(expert_rows)            # once; reuse while the registry is unchanged
    rank_for_request(index, request_row, k=20)        # top-k with components and the filter trail
    match_batch(index, request_rows)                  # proposals under every offer's capacity

Hard filters, in order (each a FilterStep with the experts left): eligible, mode, language,
format, capacity, conflict, already_asked. Scores are the request-weighted mean of six
components in [0, 1] (types.COMPONENTS), times STALE_FACTOR for stale profiles, plus an optional
embedding bonus, rounded to 4 decimals; equal scores rank by person id (in the assignment too).
An hours_per_expert below 1 counts as 1. Ranking runs in two stages (scoring.py) and the batch
assignment is a min-cost max-flow (assign.py). Pure numpy/scipy/scikit-learn/ortools: no ORM.

The index is read-only once built, so threads may share it. At 100,000 experts it builds in
about 7 s and holds about 4 KB an expert (bench/matching.py).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Sequence

import numpy as np

from .assign import Assignment
from .index import ExpertIndex
from .scoring import STEPS, Ranked, encode, rank_block
from .types import COMPONENTS, BatchResult, Candidate, FilterStep, RankResult, RequestRow

__all__ = [
    "ExpertIndex",
    "rank_for_request",
    "rank_requests",
    "rank_with_changes",
    "merge_rankings",
    "match_batch",
    "STEPS",
]

# Requests x experts pairs scored at once in a batch. It bounds the memory of a block (about
# 12 bytes a pair: ~100 MB) and is large enough for the matrix products to run at full speed
# (measured at 100,000 experts: 2M pairs 5.9 s, 8M 4.1 s, 16M 3.6 s for 4,000 requests).
BLOCK_ELEMENTS = 8_000_000
# Longer candidate lists for a request whose candidates all went elsewhere while more experts
# pass its filters (the second bounds the memory of a block: candidates x components a pair).
WIDER_CANDIDATES = 400
WIDEST_CANDIDATES = 4_000


def rank_for_request(
    index: ExpertIndex, request: RequestRow, *, k: int = 20, hidden: Collection[int] = ()
) -> RankResult:
    """The best k experts for one request (best first), with the trail of the hard filters.
    `hidden`: person ids ranked as if they were not in the index (they are ranked elsewhere)."""
    return rank_requests(index, [request], k=k, hidden=hidden)[0]


def rank_requests(
    index: ExpertIndex, requests: Sequence[RequestRow], *, k: int = 20, hidden: Collection[int] = ()
) -> list[RankResult]:
    """rank_for_request for each of several requests, scored block by block (what a quality
    measure over many requests needs; each result is the one rank_for_request gives)."""
    rows = np.fromiter((index.row_of_person[p] for p in hidden if p in index.row_of_person), dtype=np.int64)
    results: list[RankResult | None] = [None] * len(requests)
    for mode, group in _by_mode(requests).items():
        part = index.modes.get(mode) if len(index) else None
        if part is None:
            for i in group:
                results[i] = RankResult(requests[i].request_id, [], _trail(_no_mode_steps(len(index) - len(rows))))
            continue
        size = max(1, BLOCK_ELEMENTS // max(len(part), len(part.offers)))
        for start in range(0, len(group), size):
            block = group[start : start + size]
            queries = encode(index, [requests[i] for i in block])
            ranked = rank_block(index, part, queries, np.full(len(block), max(4 * k, 200)), hidden=rows)
            for b, i in enumerate(block):
                hits = queries.concept_hits[b]
                found = (
                    _candidate(index, requests[i], hits, ranked, b, j)
                    for j in range(min(max(k, 0), ranked.rows.shape[1]))
                )
                results[i] = RankResult(
                    requests[i].request_id, [c for c in found if c is not None], _trail(ranked.steps[b])
                )
    return results


def merge_rankings(request: RequestRow, results: Sequence[RankResult], *, k: int = 20) -> RankResult:
    """One ranking from rankings of disjoint sets of experts for the same request (an index and
    a small index of the experts changed since): candidates in the engine's order, trails added."""
    tier = bool(request.skills_first and request.skills)
    candidates = sorted(
        (c for result in results for c in result.candidates),
        key=lambda c: (not (tier and c.covers_all_skills), -c.score, c.person_id),
    )
    steps: dict[str, int] = {}
    for result in results:
        for step in result.steps:
            steps[step.name] = steps.get(step.name, 0) + step.remaining
    return RankResult(request.request_id, candidates[:k], [FilterStep(name, n) for name, n in steps.items()])


def rank_with_changes(
    index: ExpertIndex, changes: ExpertIndex, changed: Collection[int], request: RequestRow, *, k: int = 20
) -> RankResult:
    """The best k experts when the people `changed` since `index` was built are ranked from their
    fresh rows in `changes` (built with base=index; a person no longer matchable is in `changed`
    but not in `changes`)."""
    kept = rank_for_request(index, request, k=k, hidden=changed)
    return merge_rankings(request, [kept, rank_for_request(changes, request, k=k)], k=k)


def match_batch(index: ExpertIndex, requests: Sequence[RequestRow], *, candidates_per_request: int = 50) -> BatchResult:
    """A global assignment of experts to requests: as many places filled as capacities allow,
    then the highest total score (experts covering every requested skill first, where the
    request's settings say so).

    Places an hour budget cannot take are refilled from the next candidates (assign.py); a
    request that runs out of candidates while more experts pass its filters gets a longer list
    (WIDER_CANDIDATES, then WIDEST_CANDIDATES). Requests left short are listed in `unmatched`
    with their trail, and in stats["short"] with the places missing and why."""
    started = time.perf_counter()
    steps = np.zeros((len(requests), len(STEPS)), dtype=np.int64)
    edges = _collect(
        index, requests, range(len(requests)), steps, lambda q: np.maximum(candidates_per_request, 5 * q.slots)
    )
    scored = time.perf_counter()
    slots = np.fromiter((max(0, r.slots) for r in requests), dtype=np.int64, count=len(requests))
    hours = np.fromiter((max(1, r.hours_per_expert) for r in requests), dtype=np.int64, count=len(requests))
    state = Assignment(slots=slots, hours=hours, remaining=index.offer_remaining.copy(), hourly=index.offer_hourly)
    state.add(edges)
    for width in (WIDER_CANDIDATES, WIDEST_CANDIDATES):
        exhausted = [i for i in state.exhausted(steps[:, -1]).tolist() if _room_left(index, state, requests[i])]
        if not exhausted:
            break
        state.add(_collect(index, requests, exhausted, None, lambda q, w=width: np.full(len(q), w)))
    assigned_at = time.perf_counter()

    edges = state.edges
    picked = np.flatnonzero(state.chosen)
    picked = picked[np.lexsort((-edges["score"][picked], edges["request"][picked]))]
    hits = _request_hits(index, requests, np.unique(edges["request"][picked]))
    assigned = [_edge_candidate(index, requests, edges, e, hits) for e in picked.tolist()]
    got = state.filled
    unmatched, short = {}, []
    reasons = state.reasons(steps)
    for i, request in enumerate(requests):
        if got[i] < request.slots:
            trail = _trail(steps[i])
            if trail[-1].remaining > 0:
                trail.append(FilterStep(reasons[i], int(got[i])))
            unmatched[request.request_id] = trail
            short.append({"request": request.request_id, "missing": int(request.slots - got[i]), "reason": _why(trail)})
    stats = {
        "experts": len(index),
        "requests": len(requests),
        "candidate_edges": len(edges["request"]),
        "assigned": len(assigned),
        "unfilled_slots": int(np.maximum(slots - got, 0).sum()),
        "dropped_for_hours": state.dropped,
        "refilled_after_hours": state.refilled,
        "assignment_rounds": state.rounds,
        "short": short,
        "seconds_scoring": scored - started,
        "seconds_assignment": assigned_at - scored,
        "seconds_total": time.perf_counter() - started,
    }
    return BatchResult(assigned=assigned, unmatched=unmatched, stats=stats)


def _request_hits(index: ExpertIndex, requests: Sequence[RequestRow], positions: np.ndarray) -> dict:
    """Concepts each assigned request names (for the explanations' shared topics)."""
    chosen = [requests[i] for i in positions.tolist()]
    hits, _ = index.concept_space.transform([r.text for r in chosen])
    return {i: hits[j] for j, i in enumerate(positions.tolist())}


def _why(trail: list[FilterStep]) -> str:
    for step in trail:
        if step.remaining == 0:
            return step.name
    return trail[-1].name


def _room_left(index: ExpertIndex, state: Assignment, request: RequestRow) -> bool:
    """Whether any offer of the request's mode can still take one engagement of it: a longer
    candidate list is worth ranking only then."""
    part = index.modes.get(request.mode) if len(index) else None
    if part is None:
        return False
    remaining = state.remaining[part.offers]
    return bool(np.any(remaining >= np.where(part.hourly, max(1, request.hours_per_expert), 1)))


def _collect(index, requests, positions, steps, keep) -> dict[str, np.ndarray]:
    """Candidate edges of the requests at `positions`, mode by mode and block by block."""
    edges = _Edges()
    positions = list(positions)
    for mode, group in _by_mode([requests[i] for i in positions]).items():
        group = [positions[j] for j in group]
        part = index.modes.get(mode) if len(index) else None
        if part is None:
            if steps is not None:
                steps[group] = _no_mode_steps(len(index))
            continue
        size = max(1, BLOCK_ELEMENTS // max(len(part), len(part.offers)))
        for start in range(0, len(group), size):
            block = group[start : start + size]
            queries = encode(index, [requests[i] for i in block])
            ranked = rank_block(index, part, queries, keep(queries))
            if steps is not None:
                steps[block] = ranked.steps
            edges.add(np.asarray(block), ranked)
    return edges.concatenate()


class _Edges:
    """Candidate edges collected block by block, as flat arrays."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, block: np.ndarray, ranked: Ranked) -> None:
        requests, columns = np.nonzero(ranked.rows >= 0)
        self.parts["request"].append(block[requests])
        self.parts["row"].append(ranked.rows[requests, columns])
        self.parts["offer"].append(ranked.offers[requests, columns])
        self.parts["score"].append(ranked.scores[requests, columns])
        self.parts["components"].append(ranked.components[requests, columns].astype(np.float32))
        self.parts["bonus"].append(ranked.bonus[requests, columns])
        self.parts["rank"].append(columns)
        self.parts["first"].append(ranked.first[requests, columns])

    def concatenate(self) -> dict[str, np.ndarray]:
        empty = {
            "components": np.zeros((0, len(COMPONENTS)), np.float32),
            "score": np.zeros(0),
            "bonus": np.zeros(0),
            "first": np.zeros(0, bool),
        }
        names = ("request", "row", "offer", "score", "components", "bonus", "rank", "first")
        return {
            name: np.concatenate(self.parts[name]) if self.parts[name] else empty.get(name, np.zeros(0, np.int64))
            for name in names
        }


def _by_mode(requests: Sequence[RequestRow]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, request in enumerate(requests):
        groups[request.mode].append(i)
    return groups


def _no_mode_steps(n_experts: int) -> np.ndarray:
    steps = np.zeros(len(STEPS), dtype=np.int64)
    steps[0] = n_experts
    return steps


def _trail(counts: np.ndarray) -> list[FilterStep]:
    return [FilterStep(name, int(count)) for name, count in zip(STEPS, counts, strict=True)]


def _candidate(index: ExpertIndex, request: RequestRow, hits, ranked: Ranked, i: int, j: int) -> Candidate | None:
    row = int(ranked.rows[i, j])
    if row < 0:
        return None
    offer = int(ranked.offers[i, j])
    values = (ranked.scores[i, j], ranked.components[i, j], ranked.bonus[i, j], ranked.first[i, j])
    return _make(index, request, hits, row, offer, *values)


def _edge_candidate(index: ExpertIndex, requests: Sequence[RequestRow], edges: dict, e: int, hits) -> Candidate:
    request = requests[int(edges["request"][e])]
    row, offer = int(edges["row"][e]), int(edges["offer"][e])
    values = (edges["score"][e], edges["components"][e], edges["bonus"][e], edges["first"][e])
    return _make(index, request, hits[int(edges["request"][e])], row, offer, *values)


def _make(index, request, hits, row, offer, score, components, bonus, first) -> Candidate:
    expert = index.experts[row]
    hourly = bool(index.offer_hourly[offer])
    cost = max(1, request.hours_per_expert) if hourly else 1
    shared_skills = set(request.skills) & set(expert.skills)
    return Candidate(
        request_id=request.request_id,
        person_id=expert.person_id,
        offer_id=int(index.offer_id[offer]),
        score=float(score),
        components={name: round(float(value), 4) for name, value in zip(COMPONENTS, components, strict=True)},
        shared_skills=tuple(sorted(shared_skills)),
        shared_languages=tuple(sorted(set(request.languages) & set(expert.languages))),
        remaining_after=int(index.offer_remaining[offer]) - cost,
        unit="hours" if hourly else "engagements",
        remote=bool(index.offer_remote[offer]),
        onsite=bool(index.offer_onsite[offer]),
        stale=expert.stale,
        embedding_bonus=float(bonus),
        shared_topics=tuple(
            key
            for key in index.concept_space.shared(hits, index.concept_hits[row], limit=6)
            if not key.startswith("field:") and key.removeprefix("skill:") not in shared_skills
        )[:3],
        covers_all_skills=bool(request.skills) and set(request.skills) <= set(expert.skills),
    )
