"""Global capacity-aware assignment: a min-cost max-flow over the candidate edges, in rounds.

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
SECOND_TIER_COST = 2 * COST_SCALE  # above any score difference: full skill coverage goes first


class Assignment:
    """The assignment built up round by round: candidate edges can be added (longer lists for
    requests that ran out) and every addition is solved against what is still free.

    A round solves the flow on the live edges (not chosen, the request still short, the offer
    still able to take that request's engagement), then keeps the chosen edges that fit each
    hour budget (best score first). Places dropped for hours are refilled by the next round from
    the next candidates, until no place is dropped: then the flow has filled every place that a
    remaining capacity can take among the edges (an augmenting path would exist otherwise)."""

    def __init__(self, *, slots: np.ndarray, hours: np.ndarray, remaining: np.ndarray, hourly: np.ndarray) -> None:
        self.slots, self.hours, self.hourly = slots, hours, hourly
        self.need = slots.copy()
        self.remaining = remaining  # per global offer, what is still free (updated in place)
        self.edges: dict[str, np.ndarray] = {}
        self.chosen = np.zeros(0, dtype=bool)
        self.dropped = self.refilled = self.rounds = 0

    @property
    def filled(self) -> np.ndarray:
        return self.slots - self.need

    def add(self, edges: dict[str, np.ndarray]) -> None:
        if self.edges:
            old = _pair_keys(self.edges)
            fresh = ~np.isin(_pair_keys(edges), old)
            edges = {name: np.concatenate([self.edges[name], values[fresh]]) for name, values in edges.items()}
        self.edges = edges
        self.chosen = np.concatenate([self.chosen, np.zeros(len(edges["request"]) - len(self.chosen), dtype=bool)])
        self._solve()

    def _cost(self) -> np.ndarray:
        """What one engagement of each edge takes from its offer: hours, or one engagement."""
        e = self.edges
        return np.where(self.hourly[e["offer"]], self.hours[e["request"]], 1)

    def _live(self) -> np.ndarray:
        e = self.edges
        return ~self.chosen & (self.need[e["request"]] > 0) & (self.remaining[e["offer"]] >= self._cost())

    def _solve(self) -> None:
        after_drop = False
        while True:
            live = np.flatnonzero(self._live())
            if not len(live):
                return
            self.rounds += 1
            picked = live[_flow(self, live)]
            kept, dropped = _fit_hours(picked, self)
            cost = self._cost()[kept]
            self.chosen[kept] = True
            np.subtract.at(self.need, self.edges["request"][kept], 1)
            np.subtract.at(self.remaining, self.edges["offer"][kept], cost)
            if after_drop:
                self.refilled += len(kept)
            self.dropped += dropped
            if not dropped or not len(kept):
                return
            after_drop = True

    def exhausted(self, eligible: np.ndarray) -> np.ndarray:
        """Positions of requests still short with no live edge left, though more experts than
        their edges passed the filters (`eligible`: per request, the last filter's count)."""
        if not self.edges:
            return np.zeros(0, dtype=np.int64)
        e = self.edges
        live = np.bincount(e["request"][self._live()], minlength=len(self.need))
        edges = np.bincount(e["request"], minlength=len(self.need))
        return np.flatnonzero((self.need > 0) & (live == 0) & (eligible > edges))

    def reasons(self, steps: np.ndarray) -> list[str]:
        """Per request left short (with experts past every filter): "too_few" when every one of
        them was assigned to it; "hours" when one of its candidates' offers still has room but
        fewer hours than an engagement; else "assignment" (the capacity went to requests the
        experts fit better)."""
        out = ["assignment"] * len(self.need)
        for position in np.flatnonzero(self.filled >= steps[:, -1]).tolist():
            out[position] = "too_few"
        if not self.edges:
            return out
        e = self.edges
        short_of_hours = (~self.chosen) & (self.remaining[e["offer"]] > 0) & (self.remaining[e["offer"]] < self._cost())
        for position in np.unique(e["request"][short_of_hours & (self.need[e["request"]] > 0)]).tolist():
            if out[position] != "too_few":
                out[position] = "hours"
        return out


def _pair_keys(edges: dict[str, np.ndarray]) -> np.ndarray:
    return edges["request"].astype(np.int64) << 32 | edges["row"].astype(np.int64)


def _flow(state: Assignment, live: np.ndarray) -> np.ndarray:
    """Which of the live edges a min-cost max-flow chooses (bool per live edge)."""
    e = state.edges
    edge_request, edge_offer = e["request"][live], e["offer"][live]
    edge_score, edge_rank, edge_first = e["score"][live], e["rank"][live], e["first"][live]
    hours = state.hours
    requests, request_node = np.unique(edge_request, return_inverse=True)
    offers, offer_node = np.unique(edge_offer, return_inverse=True)
    # An hour-based offer can take remaining // (cheapest engagement among its edges); the exact
    # hour budget is enforced afterwards, as the flow cannot count hours of different sizes.
    cheapest = np.full(len(offers), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(cheapest, offer_node, hours[edge_request])
    remaining = state.remaining[offers]
    capacity = np.where(state.hourly[offers], remaining // cheapest, remaining)

    source, sink, first_request = 0, 1, 2
    first_offer = first_request + len(requests)
    # Among equal scores prefer the better-ranked edge (the lower person id): the rank is a
    # tie-break below one score step, as no filling can add up to `step` of it.
    demand = np.maximum(state.need[requests], 0)
    step = int(demand.sum()) * (int(edge_rank.max()) + 1) + 1
    if step * COST_SCALE * 4 * (first_offer + len(offers)) > 2**62:  # the solver's cost range: no tie-break
        step, edge_rank = 1, np.zeros_like(edge_rank)
    # An expert covering every requested skill (where skills come first) before any other.
    score_cost = np.rint(COST_SCALE * (1 + EMBEDDING_BONUS_CAP - edge_score)).astype(np.int64)
    costs = (score_cost + np.where(edge_first, 0, SECOND_TIER_COST)) * step + edge_rank
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
    return flow.flows(edge_arcs) > 0


def _fit_hours(picked: np.ndarray, state: Assignment) -> tuple[np.ndarray, int]:
    """The picked edges that fit their offers' hour budgets, walking each hour-based offer's
    edges by descending score (first tier first); and how many were dropped."""
    e = state.edges
    offer, score, first = e["offer"][picked], e["score"][picked], e["first"][picked]
    hourly = state.hourly[offer]
    order = np.lexsort((-score, ~first, offer))
    used: dict[int, int] = {}
    keep = np.ones(len(picked), dtype=bool)
    for j in order[hourly[order]].tolist():
        o = int(offer[j])
        after = used.get(o, 0) + int(state.hours[e["request"][picked[j]]])
        if after > state.remaining[o]:
            keep[j] = False
        else:
            used[o] = after
    return picked[keep], int((~keep).sum())
