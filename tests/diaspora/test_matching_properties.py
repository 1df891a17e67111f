"""Properties of the engine on generated inputs: full skill coverage first under the default
weights, and a batch that fills every place a remaining capacity can take."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.graph.python import max_flow

from diaspora.matching.engine import ExpertIndex, match_batch, rank_for_request
from diaspora.matching.types import ExpertRow, OfferRow, RequestRow

SKILLS = ("hydrology", "gis", "ecology", "soil-science", "statistics", "remote-sensing")
REGIONS = ("KZ-55", "KZ-10", "KZ-75")
FIELDS = ("052", "053", "054")
TEXTS = ("flood forecasting in river basins", "прогноз паводков", "су тасқынын болжау", "")


def expert(person_id, *, skills, field="052", region="", utc=5.0, languages=("kk",), text="", offers=None, stale=False):
    return ExpertRow(
        person_id=person_id, field=field, occupation="2", skills=tuple(skills), tags=(), languages=languages,
        country="DEU", home_region=region, utc_offset=utc, text=text, stale=stale, institution_ids=(),
        offers=offers or (OfferRow(person_id * 10, "mentoring", 3, "engagements", True, True),),
    )  # fmt: skip


def request(request_id=1, *, skills, field="052", region="KZ-55", text="", slots=1, hours=2, languages=("kk",)):
    return RequestRow(
        request_id=request_id, institution_id=900, mode="mentoring", field=field, skills=tuple(skills),
        languages=languages, region=region, utc_offset=5.0, format="either", text=text, slots=slots,
        hours_per_expert=hours,
    )  # fmt: skip


@st.composite
def full_and_partial(draw):
    wanted = draw(st.lists(st.sampled_from(SKILLS), min_size=1, max_size=5, unique=True))
    extra = draw(st.lists(st.sampled_from(SKILLS), max_size=3, unique=True))
    missing = draw(st.lists(st.sampled_from(wanted), min_size=1, max_size=len(wanted), unique=True))
    partial_skills = [s for s in wanted if s not in missing] + draw(st.lists(st.sampled_from(SKILLS), max_size=3))
    partial_skills = [s for s in dict.fromkeys(partial_skills) if s not in missing]
    text = draw(st.sampled_from(TEXTS))
    full = expert(
        draw(st.integers(1, 50)), skills=[*wanted, *extra], field=draw(st.sampled_from(FIELDS)),
        region=draw(st.sampled_from(("", *REGIONS))), utc=draw(st.sampled_from((-8.0, 0.0, 9.0))),
        languages=("kk", "ru")[: draw(st.integers(1, 2))], text=draw(st.sampled_from(TEXTS)),
        stale=draw(st.booleans()),
    )  # fmt: skip
    partial = expert(
        draw(st.integers(51, 100)), skills=partial_skills, field="052", region="KZ-55", utc=5.0,
        languages=("kk", "ru"), text=text, stale=False,
    )  # fmt: skip
    return full, partial, request(skills=wanted, text=text, languages=("kk", "ru"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(full_and_partial())
def test_an_expert_with_every_requested_skill_ranks_above_one_missing_any(case):
    # The partial expert has everything else in its favour: the request's region, time zone,
    # field, both languages, the request's own text and a fresh profile.
    full, partial, req = case
    index = ExpertIndex.build([full, partial])
    ranked = [c.person_id for c in rank_for_request(index, req).candidates]
    assert ranked == [full.person_id, partial.person_id]
    assigned = match_batch(index, [req]).assigned
    assert [c.person_id for c in assigned] == [full.person_id]


@st.composite
def market(draw, *, uniform_hours=False):
    n_experts = draw(st.integers(1, 8))
    experts = []
    for i in range(1, n_experts + 1):
        hourly = draw(st.booleans())
        remaining = draw(st.integers(1, 20)) if hourly else draw(st.integers(1, 3))
        offer = OfferRow(i * 10, "mentoring", remaining, "hours" if hourly else "engagements", True, True)
        experts.append(expert(i, skills=draw(st.lists(st.sampled_from(SKILLS), max_size=3)), offers=(offer,)))
    hours = draw(st.integers(1, 8))
    requests = [
        request(
            100 + j,
            skills=draw(st.lists(st.sampled_from(SKILLS), min_size=1, max_size=3, unique=True)),
            slots=draw(st.integers(1, 3)),
            hours=hours if uniform_hours else draw(st.integers(1, 8)),
            languages=draw(st.sampled_from(((), ("kk",), ("de",)))),
        )  # fmt: skip
        for j in range(draw(st.integers(1, 8)))
    ]
    return experts, requests


def _eligible(index, requests):
    """(request, person, offer, cost) for every pair that passes the hard filters (before any
    assignment): the engine's own top k with k above the registry size."""
    pairs = []
    for r in requests:
        for c in rank_for_request(index, r, k=len(index) + 1).candidates:
            pairs.append((r.request_id, c.person_id, c.offer_id, r.hours_per_expert if c.unit == "hours" else 1))
    return pairs


def _solved(case):
    """The batch's result on a generated market, with its eligible pairs and each offer's capacity."""
    experts, requests = case
    index = ExpertIndex.build(experts)
    capacity = {o.offer_id: o.remaining for e in experts for o in e.offers}
    return match_batch(index, requests), _eligible(index, requests), capacity


def _used(result, pairs):
    cost = {(r, p): c for r, p, _o, c in pairs}
    used: dict[int, int] = {}
    for c in result.assigned:
        used[c.offer_id] = used.get(c.offer_id, 0) + cost[c.request_id, c.person_id]
    return used


@settings(max_examples=200, deadline=None)
@given(market())
def test_the_batch_leaves_no_place_that_a_remaining_capacity_could_take(case):
    _experts, requests = case
    result, pairs, capacity = _solved(case)
    used = _used(result, pairs)
    assert all(used[o] <= capacity[o] for o in used)
    got = {r.request_id: 0 for r in requests}
    taken = {(c.request_id, c.person_id) for c in result.assigned}
    for c in result.assigned:
        got[c.request_id] += 1
    slots = {r.request_id: r.slots for r in requests}
    for request_id, person_id, offer_id, cost in pairs:
        if got[request_id] < slots[request_id] and (request_id, person_id) not in taken:
            assert capacity[offer_id] - used.get(offer_id, 0) < cost, (request_id, person_id)


@settings(max_examples=200, deadline=None)
@given(market(uniform_hours=True))
def test_with_equal_hours_the_batch_fills_as_many_places_as_a_max_flow(case):
    # With one engagement size no hour budget can trim anything: the batch must reach the
    # maximum filling that an independent max-flow over every eligible pair finds.
    experts, requests = case
    result, pairs, capacity = _solved(case)
    request_ids = sorted({r.request_id for r in requests})
    offer_ids = sorted(capacity)
    node = {("r", r): 2 + i for i, r in enumerate(request_ids)}
    node.update({("o", o): 2 + len(request_ids) + i for i, o in enumerate(offer_ids)})
    flow = max_flow.SimpleMaxFlow()
    for r in requests:
        flow.add_arc_with_capacity(0, node["r", r.request_id], r.slots)
    for request_id, _person, offer_id, _cost in pairs:
        flow.add_arc_with_capacity(node["r", request_id], node["o", offer_id], 1)
    hours = requests[0].hours_per_expert
    hourly = {o.offer_id: o.unit == "hours" for e in experts for o in e.offers}
    for offer_id in offer_ids:
        units = capacity[offer_id] // hours if hourly[offer_id] else capacity[offer_id]
        flow.add_arc_with_capacity(node["o", offer_id], 1, units)
    assert flow.solve(0, 1) == flow.OPTIMAL
    assert len(result.assigned) == flow.optimal_flow()
    assert np.isclose(result.stats["unfilled_slots"], sum(r.slots for r in requests) - flow.optimal_flow())
