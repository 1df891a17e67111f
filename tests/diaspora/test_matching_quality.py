"""Ranking quality on a seeded synthetic registry with one planted best expert per request.

precision@k: the share of requests whose planted expert is ranked first (k=1) or in the top 10.
Measured with `pytest -s` (3,000 experts x 300 requests, seed 0): 0.960 and 1.000, on both the
exact and the approximate (SVD) first stage. The floors sit just below; the full-size figures
(100,000 experts, where more experts tie with the planted one) are in bench/matching.py.
"""

import pytest

from diaspora.matching.engine import ExpertIndex, rank_for_request
from diaspora.matching.synthetic import population

FLOOR_AT_1 = 0.93
FLOOR_AT_10 = 0.98


@pytest.fixture(scope="module")
def registry():
    return population(3_000, 300, seed=0)


@pytest.mark.parametrize("approximate", [False, True], ids=["exact-first-stage", "svd-first-stage"])
def test_the_planted_expert_ranks_first_or_in_the_top_ten(registry, approximate):
    experts, requests, planted = registry
    index = ExpertIndex.build(experts, approximate=approximate)
    at1 = at10 = 0
    for request in requests:
        ranked = [c.person_id for c in rank_for_request(index, request, k=10).candidates]
        at1 += bool(ranked) and ranked[0] == planted[request.request_id]
        at10 += planted[request.request_id] in ranked
    p1, p10 = at1 / len(requests), at10 / len(requests)
    print(f"\nprecision@1 {p1:.3f}, precision@10 {p10:.3f} ({len(requests)} requests, approximate={approximate})")
    assert p1 >= FLOOR_AT_1
    assert p10 >= FLOOR_AT_10


def test_the_planted_expert_is_not_identifiable_by_id_or_text(registry):
    experts, requests, planted = registry
    texts = {e.person_id: e.text for e in experts}
    assert len({planted[r.request_id] - r.request_id for r in requests}) > 0.9 * len(requests)
    assert not any(r.text in texts[planted[r.request_id]] for r in requests)
