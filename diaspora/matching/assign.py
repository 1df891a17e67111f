"""Global capacity-aware assignment: a min-cost max-flow over the candidate edges.

source -> request (capacity: slots) -> offer (capacity 1 per candidate edge) -> sink (capacity:
engagements the offer can still take). solve_max_flow_with_min_cost fills as many slots as
possible first and, among those fillings, maximises the total score, so one expert who is the
best for two requests but can take only one goes where nobody else can serve (a greedy pass
would strand the other request).
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

from .types import EMBEDDING_BONUS_CAP

COST_SCALE = 1000  # integer costs: round(1000 * (best possible score - score))


def assign(
    *,
    slots: np.ndarray,
    hours: np.ndarray,
    edge_request: np.ndarray,
    edge_offer: np.ndarray,
    edge_score: np.ndarray,
    edge_rank: np.ndarray,
    offer_remaining: np.ndarray,
    offer_hourly: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Which edges are chosen (bool per edge) and how many were dropped to respect hour budgets.

    slots, hours: per request; edge_*: per candidate edge (request position, global offer
    position, score, position in its request's ranking); offer_*: per global offer."""
    chosen = np.zeros(len(edge_request), dtype=bool)
    if not len(edge_request):
        return chosen, 0
    requests, request_node = np.unique(edge_request, return_inverse=True)
    offers, offer_node = np.unique(edge_offer, return_inverse=True)
    # An hour-based offer can take remaining // (cheapest engagement among its edges); the exact
    # hour budget is enforced afterwards, as the flow cannot count hours of different sizes.
    cheapest = np.full(len(offers), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(cheapest, offer_node, hours[edge_request])
    remaining = offer_remaining[offers]
    capacity = np.where(offer_hourly[offers], remaining // cheapest, remaining)

    source, sink, first_request = 0, 1, 2
    first_offer = first_request + len(requests)
    # Among equal scores prefer the better-ranked edge (the lower person id): the rank is a
    # tie-break below one score step, as no filling can add up to `step` of it.
    demand = np.maximum(slots[requests], 0)
    step = int(demand.sum()) * (int(edge_rank.max()) + 1) + 1
    if step * COST_SCALE * 2 * (first_offer + len(offers)) > 2**62:  # the solver's cost range: no tie-break
        step, edge_rank = 1, np.zeros_like(edge_rank)
    costs = np.rint(COST_SCALE * (1 + EMBEDDING_BONUS_CAP - edge_score)).astype(np.int64) * step + edge_rank
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.zeros(len(requests), dtype=np.int32),
        first_request + np.arange(len(requests), dtype=np.int32),
        demand,
        np.zeros(len(requests), dtype=np.int64),
    )
    edge_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        (first_request + request_node).astype(np.int32),
        (first_offer + offer_node).astype(np.int32),
        np.ones(len(edge_request), dtype=np.int64),
        costs,
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        first_offer + np.arange(len(offers), dtype=np.int32),
        np.full(len(offers), sink, dtype=np.int32),
        capacity.astype(np.int64),
        np.zeros(len(offers), dtype=np.int64),
    )
    total = int(demand.sum())
    flow.set_nodes_supplies(np.array([source, sink], dtype=np.int32), np.array([total, -total], dtype=np.int64))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    chosen = flow.flows(edge_arcs) > 0
    dropped = _enforce_hours(chosen, hours[edge_request], edge_offer, edge_score, offer_remaining, offer_hourly)
    return chosen, dropped


def _enforce_hours(chosen, edge_hours, edge_offer, edge_score, offer_remaining, offer_hourly) -> int:
    """Walk each hour-based offer's chosen edges by descending score; drop those that no longer fit."""
    picked = np.flatnonzero(chosen & offer_hourly[edge_offer])
    picked = picked[np.lexsort((-edge_score[picked], edge_offer[picked]))]
    used: dict[int, int] = {}
    dropped = 0
    for edge in picked.tolist():
        offer = int(edge_offer[edge])
        after = used.get(offer, 0) + int(edge_hours[edge])
        if after > offer_remaining[offer]:
            chosen[edge] = False
            dropped += 1
        else:
            used[offer] = after
    return dropped
