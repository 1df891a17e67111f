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
from collections.abc import Sequence

import numpy as np

from .assign import assign
from .index import ExpertIndex
from .scoring import STEPS, Ranked, encode, rank_block
from .types import COMPONENTS, BatchResult, Candidate, FilterStep, RankResult, RequestRow

__all__ = ["ExpertIndex", "rank_for_request", "match_batch", "STEPS"]

# Requests x experts pairs scored at once in a batch. It bounds the memory of a block (about
# 12 bytes a pair: ~100 MB) and is large enough for the matrix products to run at full speed
# (measured at 100,000 experts: 2M pairs 5.9 s, 8M 4.1 s, 16M 3.6 s for 4,000 requests).
BLOCK_ELEMENTS = 8_000_000


def rank_for_request(index: ExpertIndex, request: RequestRow, *, k: int = 20) -> RankResult:
    """The best k experts for one request (best first), with the trail of the hard filters."""
    part = index.modes.get(request.mode) if len(index) else None
    if part is None:
        return RankResult(request.request_id, [], _trail(_no_mode_steps(len(index))))
    ranked = rank_block(index, part, encode(index, [request]), np.array([max(4 * k, 200)]))
    candidates = [_candidate(index, request, ranked, 0, j) for j in range(min(max(k, 0), ranked.rows.shape[1]))]
    return RankResult(request.request_id, [c for c in candidates if c is not None], _trail(ranked.steps[0]))


def match_batch(index: ExpertIndex, requests: Sequence[RequestRow], *, candidates_per_request: int = 50) -> BatchResult:
    """A global assignment of experts to requests: as many slots filled as capacities allow, then
    the highest total score. Requests left short are listed in `unmatched` with their trail."""
    started = time.perf_counter()
    steps = np.zeros((len(requests), len(STEPS)), dtype=np.int64)
    edges = _Edges()
    for mode, positions in _by_mode(requests).items():
        part = index.modes.get(mode) if len(index) else None
        if part is None:
            steps[positions] = _no_mode_steps(len(index))
            continue
        size = max(1, BLOCK_ELEMENTS // max(len(part), len(part.offers)))
        for start in range(0, len(positions), size):
            block = positions[start : start + size]
            queries = encode(index, [requests[i] for i in block])
            ranked = rank_block(index, part, queries, np.maximum(candidates_per_request, 5 * queries.slots))
            steps[block] = ranked.steps
            edges.add(np.asarray(block), ranked)
    scored = time.perf_counter()

    edges = edges.concatenate()
    slots = np.fromiter((r.slots for r in requests), dtype=np.int64, count=len(requests))
    hours = np.fromiter((max(1, r.hours_per_expert) for r in requests), dtype=np.int64, count=len(requests))
    chosen, dropped = assign(
        slots=slots,
        hours=hours,
        edge_request=edges["request"],
        edge_offer=edges["offer"],
        edge_score=edges["score"],
        edge_rank=edges["rank"],
        offer_remaining=index.offer_remaining,
        offer_hourly=index.offer_hourly,
    )
    assigned_at = time.perf_counter()

    picked = np.flatnonzero(chosen)
    picked = picked[np.lexsort((-edges["score"][picked], edges["request"][picked]))]
    assigned = [_edge_candidate(index, requests, edges, e) for e in picked.tolist()]
    got = np.bincount(edges["request"][picked], minlength=len(requests))
    unmatched = {}
    for i, request in enumerate(requests):
        if got[i] < request.slots:
            trail = _trail(steps[i])
            if trail[-1].remaining > 0:
                trail.append(FilterStep("assignment", int(got[i])))
            unmatched[request.request_id] = trail
    stats = {
        "experts": len(index),
        "requests": len(requests),
        "candidate_edges": len(edges["request"]),
        "assigned": len(assigned),
        "unfilled_slots": int(np.maximum(slots - got, 0).sum()),
        "dropped_for_hours": dropped,
        "seconds_scoring": scored - started,
        "seconds_assignment": assigned_at - scored,
        "seconds_total": time.perf_counter() - started,
    }
    return BatchResult(assigned=assigned, unmatched=unmatched, stats=stats)


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

    def concatenate(self) -> dict[str, np.ndarray]:
        empty = {"components": np.zeros((0, len(COMPONENTS)), np.float32), "score": np.zeros(0), "bonus": np.zeros(0)}
        names = ("request", "row", "offer", "score", "components", "bonus", "rank")
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


def _candidate(index: ExpertIndex, request: RequestRow, ranked: Ranked, i: int, j: int) -> Candidate | None:
    row = int(ranked.rows[i, j])
    if row < 0:
        return None
    offer = int(ranked.offers[i, j])
    return _make(index, request, row, offer, ranked.scores[i, j], ranked.components[i, j], ranked.bonus[i, j])


def _edge_candidate(index: ExpertIndex, requests: Sequence[RequestRow], edges: dict, e: int) -> Candidate:
    request = requests[int(edges["request"][e])]
    row, offer = int(edges["row"][e]), int(edges["offer"][e])
    return _make(index, request, row, offer, edges["score"][e], edges["components"][e], edges["bonus"][e])


def _make(index, request, row, offer, score, components, bonus) -> Candidate:
    expert = index.experts[row]
    hourly = bool(index.offer_hourly[offer])
    cost = max(1, request.hours_per_expert) if hourly else 1
    return Candidate(
        request_id=request.request_id,
        person_id=expert.person_id,
        offer_id=int(index.offer_id[offer]),
        score=float(score),
        components={name: round(float(value), 4) for name, value in zip(COMPONENTS, components, strict=True)},
        shared_skills=tuple(sorted(set(request.skills) & set(expert.skills))),
        shared_languages=tuple(sorted(set(request.languages) & set(expert.languages))),
        remaining_after=int(index.offer_remaining[offer]) - cost,
        unit="hours" if hourly else "engagements",
        remote=bool(index.offer_remote[offer]),
        onsite=bool(index.offer_onsite[offer]),
        stale=expert.stale,
        embedding_bonus=float(bonus),
    )
