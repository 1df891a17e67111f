"""The pure matching engine: hard filters, scores, ranking, the global assignment, the encoder hook.

No database: the engine takes and returns plain rows (diaspora.matching.types).
"""

import zlib

import numpy as np
import pytest

from diaspora.matching import synthetic
from diaspora.matching.embeddings import load_encoder
from diaspora.matching.engine import ExpertIndex, match_batch, rank_for_request, rank_requests
from diaspora.matching.scoring import encode, rank_block, timezone_overlap
from diaspora.matching.text import CharTfidf, sklearn_vectorizer
from diaspora.matching.types import (
    COMPONENTS,
    EMBEDDING_BONUS_CAP,
    STALE_FACTOR,
    ExpertRow,
    FilterStep,
    OfferRow,
    RequestRow,
)

MENTORING = "mentoring"


def offer(offer_id, *, mode=MENTORING, remaining=3, unit="engagements", remote=True, onsite=True):
    return OfferRow(offer_id=offer_id, mode=mode, remaining=remaining, unit=unit, remote=remote, onsite=onsite)


def expert(person_id, *, offers=None, **fields):
    values = {
        "field": "052",
        "occupation": "2",
        "skills": ("hydrology",),
        "tags": (),
        "languages": ("kk", "ru"),
        "country": "DEU",
        "home_region": "",
        "utc_offset": 5.0,
        "text": "",
        "stale": False,
        "institution_ids": (),
    }
    values.update(fields)
    return ExpertRow(person_id=person_id, offers=offers or (offer(person_id * 10),), **values)


def request(request_id=1, **fields):
    values = {
        "institution_id": 900,
        "mode": MENTORING,
        "field": "052",
        "skills": ("hydrology",),
        "languages": ("kk",),
        "region": "KZ-55",
        "utc_offset": 5.0,
        "format": "either",
        "text": "",
        "slots": 1,
        "hours_per_expert": 2,
    }
    values.update(fields)
    return RequestRow(request_id=request_id, **values)


def ranked_ids(experts, req, **build):
    return [c.person_id for c in rank_for_request(ExpertIndex.build(experts, **build), req).candidates]


def trail(experts, req):
    return {step.name: step.remaining for step in rank_for_request(ExpertIndex.build(experts), req).steps}


# --------------------------------------------------------------------------- hard filters


def test_it_filters_out_experts_without_the_mode():
    experts = [expert(1), expert(2, offers=(offer(20, mode="consulting"),))]
    assert ranked_ids(experts, request()) == [1]
    assert trail(experts, request())["mode"] == 1


def test_it_filters_out_experts_that_speak_none_of_the_languages():
    experts = [expert(1, languages=("ru",)), expert(2, languages=("en", "kk"))]
    assert ranked_ids(experts, request(languages=("kk", "de"))) == [2]


def test_it_keeps_every_language_when_the_request_names_none():
    experts = [expert(1, languages=("ru",)), expert(2, languages=("en",))]
    result = rank_for_request(ExpertIndex.build(experts), request(languages=()))
    assert [c.person_id for c in result.candidates] == [1, 2]
    assert all(c.components["language"] == 1.0 for c in result.candidates)


def test_it_filters_out_offers_in_another_format():
    experts = [expert(1, offers=(offer(10, remote=False),)), expert(2, offers=(offer(20, onsite=False),))]
    assert ranked_ids(experts, request(format="remote")) == [2]
    assert ranked_ids(experts, request(format="onsite")) == [1]
    assert ranked_ids(experts, request(format="either")) == [1, 2]


def test_it_filters_out_experts_without_remaining_engagements():
    experts = [expert(1, offers=(offer(10, remaining=0),)), expert(2, offers=(offer(20, remaining=1),))]
    assert ranked_ids(experts, request()) == [2]


def test_it_filters_out_experts_without_enough_remaining_hours():
    experts = [
        expert(1, offers=(offer(10, remaining=3, unit="hours"),)),
        expert(2, offers=(offer(20, remaining=4, unit="hours"),)),
    ]
    assert ranked_ids(experts, request(hours_per_expert=4)) == [2]
    assert ranked_ids(experts, request(hours_per_expert=3)) == [1, 2]


def test_it_filters_out_experts_of_the_requesting_institution():
    experts = [expert(1, institution_ids=(900, 901)), expert(2, institution_ids=(901,))]
    assert ranked_ids(experts, request(institution_id=900)) == [2]


def test_it_filters_out_experts_already_asked():
    experts = [expert(1), expert(2)]
    assert ranked_ids(experts, request(excluded_person_ids=frozenset({1}))) == [2]


def test_the_trail_says_which_filter_emptied_the_list():
    # Two Kazakh speakers, neither with capacity left: "nobody speaks kk with remaining capacity".
    experts = [
        expert(1, languages=("kk",), offers=(offer(10, remaining=0),)),
        expert(2, languages=("kk",), offers=(offer(20, remaining=1, unit="hours"),)),
        expert(3, languages=("en",)),
        expert(4, offers=(offer(40, mode="consulting"),)),
    ]
    result = rank_for_request(ExpertIndex.build(experts), request(languages=("kk",), hours_per_expert=2))
    assert result.candidates == []
    assert result.steps == [
        FilterStep("eligible", 4),
        FilterStep("mode", 3),
        FilterStep("language", 2),
        FilterStep("format", 2),
        FilterStep("capacity", 0),
        FilterStep("conflict", 0),
        FilterStep("already_asked", 0),
    ]


def test_a_request_without_slots_gets_no_candidates_but_the_full_trail():
    result = rank_for_request(ExpertIndex.build([expert(1)]), request(slots=0))
    assert result.candidates == []
    assert [s.remaining for s in result.steps] == [1, 1, 1, 1, 1, 1, 1]


def test_a_mode_nobody_offers_empties_the_list_at_the_mode_step():
    result = rank_for_request(ExpertIndex.build([expert(1)]), request(mode="investment"))
    assert [(s.name, s.remaining) for s in result.steps[:3]] == [("eligible", 1), ("mode", 0), ("language", 0)]


# --------------------------------------------------------------------------- scores


def test_components_are_each_in_0_1_and_the_score_is_their_weighted_mean():
    experts, requests, _ = synthetic.population(400, 30, seed=3)
    index = ExpertIndex.build(experts)
    for req in requests:
        weights = {name: req.weights.get(name, 0) for name in COMPONENTS}
        for c in rank_for_request(index, req, k=10).candidates:
            assert set(c.components) == set(COMPONENTS)
            assert all(0.0 <= value <= 1.0 for value in c.components.values())
            mean = sum(weights[n] * c.components[n] for n in COMPONENTS) / sum(weights.values())
            assert c.score == pytest.approx(mean * (STALE_FACTOR if c.stale else 1), abs=1e-4)


def test_skills_count_the_shared_share_of_the_requested_skills():
    experts = [expert(1, skills=("hydrology", "gis", "ecology"))]
    [c] = rank_for_request(ExpertIndex.build(experts), request(skills=("hydrology", "ecology", "unknown"))).candidates
    assert c.components["skills"] == pytest.approx(2 / 3, abs=1e-4)
    assert c.shared_skills == ("ecology", "hydrology")


def test_field_scores_one_for_the_narrow_field_and_half_for_the_broad_one():
    experts = [expert(1, field="052"), expert(2, field="053"), expert(3, field="061"), expert(4, field="")]
    result = rank_for_request(ExpertIndex.build(experts), request(field="052", skills=()))
    assert {c.person_id: c.components["field"] for c in result.candidates} == {1: 1.0, 2: 0.5, 3: 0.0, 4: 0.0}


def test_region_and_timezone_compare_ties_and_working_hours():
    experts = [expert(1, home_region="KZ-55", utc_offset=5.0), expert(2, home_region="KZ-10", utc_offset=1.0)]
    result = rank_for_request(ExpertIndex.build(experts), request(region="KZ-55", utc_offset=5.0))
    by_person = {c.person_id: c.components for c in result.candidates}
    assert (by_person[1]["region"], by_person[1]["timezone"]) == (1.0, 1.0)
    assert (by_person[2]["region"], by_person[2]["timezone"]) == (0.0, pytest.approx(5 / 9, abs=1e-4))


def test_timezone_overlap_wraps_around_midnight():
    # UTC-8's 09:00-18:00 is 17:00-02:00 UTC; UTC+9's is 00:00-09:00 UTC: two hours in common.
    assert timezone_overlap(-8.0, 9.0) == pytest.approx(2 / 9)
    assert timezone_overlap(5.0, 5.0) == 1.0
    assert timezone_overlap(-5.0, 5.0) == 0.0


def test_weights_change_the_ranking_when_skills_do_not_come_first():
    local = expert(1, skills=("ecology",), home_region="KZ-55")
    skilled = expert(2, skills=("hydrology",), home_region="KZ-10")
    assert ranked_ids([local, skilled], request())[0] == 2
    regional = request(weights={"region": 1.0, "skills": 0.1}, skills_first=False)
    assert ranked_ids([local, skilled], regional)[0] == 1


def test_full_skill_coverage_ranks_first_whatever_the_weights_while_skills_come_first():
    local = expert(1, skills=("ecology",), home_region="KZ-55")
    skilled = expert(2, skills=("hydrology",), home_region="KZ-10")
    regional = request(weights={"region": 1.0, "skills": 0.1})
    candidates = rank_for_request(ExpertIndex.build([local, skilled]), regional).candidates
    assert [c.person_id for c in candidates] == [2, 1]
    assert candidates[0].score < candidates[1].score  # the score shown stays the weighted mean
    assert candidates[0].covers_all_skills and not candidates[1].covers_all_skills


def test_unknown_weight_keys_are_ignored_and_all_zero_weights_fall_back_to_the_defaults():
    experts = [expert(1, skills=("ecology",), home_region="KZ-55"), expert(2)]
    index = ExpertIndex.build(experts)
    default = rank_for_request(index, request()).candidates
    zero = rank_for_request(index, request(weights={"skills": 0, "charisma": 5.0})).candidates
    assert [(c.person_id, c.score) for c in zero] == [(c.person_id, c.score) for c in default]
    only_region = request(weights={"region": 2.0, "charisma": 5.0}, skills_first=False)
    only_region = rank_for_request(index, only_region).candidates
    assert [(c.person_id, c.score) for c in only_region] == [(1, 1.0), (2, 0.0)]


def test_a_stale_profile_ranks_lower():
    experts = [expert(1, stale=True), expert(2)]
    fresh, stale = rank_for_request(ExpertIndex.build(experts), request()).candidates
    assert (fresh.person_id, stale.person_id) == (2, 1)
    assert stale.stale and stale.score == pytest.approx(fresh.score * STALE_FACTOR, abs=1e-4)


def test_ties_are_broken_by_person_id():
    assert ranked_ids([expert(7), expert(3), expert(5)], request()) == [3, 5, 7]


def test_a_kazakh_request_finds_the_kazakh_bio_hydrologist_over_a_russian_bio_lawyer():
    hydrologist = expert(1, skills=(), field="", text="Гидролог, су ресурстары мен өзен ағынын зерттейді. Берлин.")
    lawyer = expert(2, skills=(), field="", text="Юрист, специалист по международному праву и арбитражу. Москва.")
    req = request(skills=(), field="", text="Су ресурстары және гидрология бойынша дәріс")
    result = rank_for_request(ExpertIndex.build([lawyer, hydrologist]), req)
    assert [c.person_id for c in result.candidates] == [1, 2]
    assert result.candidates[0].components["text"] > 0.1 > result.candidates[1].components["text"]


def test_a_russian_request_matches_another_form_of_the_same_words():
    chemist = expert(1, skills=(), field="", text="Химик-технолог: нефтепереработка, катализаторы, нефтехимия.")
    historian = expert(2, skills=(), field="", text="Историк Казахстана, археология Семиречья, музейное дело.")
    req = request(skills=(), field="", text="Нужен консультант по переработке нефти и катализу")
    assert ranked_ids([historian, chemist], req) == [1, 2]


def test_an_english_request_finds_the_english_bio():
    coder = expert(1, skills=(), field="", text="Machine learning engineer, natural language processing for Kazakh.")
    vet = expert(2, skills=(), field="", text="Veterinary surgeon, livestock health and animal nutrition.")
    assert ranked_ids([vet, coder], request(skills=(), field="", text="NLP and machine-learning lecture")) == [1, 2]


def test_the_features_are_those_of_sklearns_char_wb_vectorizer():
    texts = ["Су ресурстары, гидрология", "Водные ресурсы  и ГИДРОЛОГИЯ!", "water resources", "", "a"]
    queries = ["гидрологиялық зерттеу", "unknown zzz", ""]
    reference, ours = sklearn_vectorizer(), CharTfidf()
    expected, got = reference.fit_transform(texts), ours.fit_transform(texts)
    assert ours.vocabulary == reference.vocabulary_
    assert abs(expected - got).max() < 1e-6
    assert abs(reference.transform(queries) - ours.transform(queries)).max() < 1e-6


def test_the_approximate_first_stage_keeps_the_exact_top_five_when_it_keeps_only_ten():
    # Stage 1 ranks on the SVD form of the text; stage 2 rescores exactly. Keeping only 10 of
    # about 450 experts a mode, the final top 5 still matches the all-exact one (measured: 99-100%).
    experts, requests, _ = synthetic.population(2_000, 60, seed=5)
    exact, approximate = ExpertIndex.build(experts, approximate=False), ExpertIndex.build(experts, approximate=True)
    assert approximate.projection is not None and exact.projection is None

    def top_five(index, req):
        ranked = rank_block(index, index.modes[req.mode], encode(index, [req]), np.array([10]))
        return [
            (int(row), float(score)) for row, score in zip(ranked.rows[0], ranked.scores[0], strict=True) if row >= 0
        ][:5]

    same = sum(top_five(exact, req) == top_five(approximate, req) for req in requests)
    assert same >= 0.95 * len(requests)


def test_a_person_with_several_offers_of_the_mode_is_listed_once_with_the_roomiest_offer():
    experts = [expert(1, offers=(offer(10, remaining=1), offer(11, remaining=4), offer(12, remaining=9, remote=False)))]
    [c] = rank_for_request(ExpertIndex.build(experts), request(format="remote")).candidates
    assert (c.offer_id, c.remaining_after, c.unit, c.remote) == (11, 3, "engagements", True)


def test_candidates_carry_what_the_explanation_needs():
    experts = [
        expert(1, languages=("kk", "en"), skills=("hydrology", "gis"), offers=(offer(10, remaining=9, unit="hours"),))
    ]
    req = request(languages=("en", "kk", "ru"), skills=("gis", "hydrology"), hours_per_expert=4)
    [c] = rank_for_request(ExpertIndex.build(experts), req).candidates
    assert (c.request_id, c.person_id, c.offer_id) == (1, 1, 10)
    assert c.shared_skills == ("gis", "hydrology") and c.shared_languages == ("en", "kk")
    assert (c.remaining_after, c.unit, c.remote, c.onsite, c.stale) == (5, "hours", True, True, False)
    assert c.components["language"] == pytest.approx(2 / 3, abs=1e-4)


# --------------------------------------------------------------------------- batch


def test_the_batch_never_exceeds_an_offers_engagements():
    experts = [expert(1, offers=(offer(10, remaining=2),))]
    result = match_batch(ExpertIndex.build(experts), [request(i) for i in range(1, 5)])
    assert len(result.assigned) == 2
    assert result.stats["unfilled_slots"] == 2


def ten_hours_for_three_requests():
    """One expert with 10 hours; requests 1 and 2 need 6 hours each, request 3 needs 4."""
    experts = [expert(1, offers=(offer(10, remaining=10, unit="hours"),))]
    requests = [
        request(1, hours_per_expert=6),
        request(2, hours_per_expert=6),
        request(3, hours_per_expert=4, skills=("ecology",)),
    ]
    return requests, match_batch(ExpertIndex.build(experts), requests)


def test_the_batch_never_exceeds_an_offers_hours():
    # 10 hours: the flow allows 10 // 4 = 2 engagements; the two best requests need 6 hours each.
    requests, result = ten_hours_for_three_requests()
    used = sum(next(r.hours_per_expert for r in requests if r.request_id == c.request_id) for c in result.assigned)
    assert used <= 10
    assert result.stats["dropped_for_hours"] == 1


def test_a_place_dropped_for_hours_is_refilled_from_the_next_candidates():
    # 10 hours: requests 1 and 2 (6 hours each) cannot both have the expert; the 4 hours left
    # go to request 3 instead of staying unused.
    _requests, result = ten_hours_for_three_requests()
    assert sorted(c.request_id for c in result.assigned) == [1, 3]
    assert result.stats["refilled_after_hours"] == 1
    assert result.stats["short"] == [{"request": 2, "missing": 1, "reason": "assignment"}]


def test_a_request_left_short_for_want_of_hours_says_so():
    experts = [expert(1, offers=(offer(10, remaining=10, unit="hours"),))]
    result = match_batch(ExpertIndex.build(experts), [request(1, hours_per_expert=6), request(2, hours_per_expert=6)])
    [assigned] = result.assigned
    other = 3 - assigned.request_id  # the two are equal: either may get the expert
    assert result.stats["short"] == [{"request": other, "missing": 1, "reason": "hours"}]
    assert result.unmatched[other][-1] == FilterStep("hours", 0)


def test_the_batch_respects_every_capacity_on_a_generated_population():
    experts, requests, _ = synthetic.population(1_500, 400, seed=11)
    index = ExpertIndex.build(experts)
    result = match_batch(index, requests)
    offers = {o.offer_id: o for e in experts for o in e.offers}
    hours = {r.request_id: r.hours_per_expert for r in requests}
    load: dict[int, int] = {}
    for c in result.assigned:
        load[c.offer_id] = load.get(c.offer_id, 0) + (hours[c.request_id] if c.unit == "hours" else 1)
    assert all(used <= offers[offer_id].remaining for offer_id, used in load.items())
    pairs = [(c.request_id, c.person_id) for c in result.assigned]
    assert len(pairs) == len(set(pairs))
    slots = {r.request_id: r.slots for r in requests}
    per_request = {}
    for c in result.assigned:
        per_request[c.request_id] = per_request.get(c.request_id, 0) + 1
    assert all(count <= slots[request_id] for request_id, count in per_request.items())


def test_the_batch_never_assigns_one_person_twice_to_one_request():
    experts = [expert(1, offers=(offer(10), offer(11))), expert(2)]
    result = match_batch(ExpertIndex.build(experts), [request(slots=3)])
    assert sorted(c.person_id for c in result.assigned) == [1, 2]
    assert result.unmatched[1][-1] == FilterStep("too_few", 2)  # only two experts pass the filters


def test_a_request_for_three_experts_gets_three_when_possible():
    experts = [expert(i) for i in range(1, 6)]
    result = match_batch(ExpertIndex.build(experts), [request(slots=3)])
    assert [c.person_id for c in result.assigned] == [1, 2, 3]
    assert result.unmatched == {}


def test_the_global_assignment_beats_greedy_when_the_best_expert_is_best_for_two_requests():
    # Expert 1 is the best for both requests but can take one; expert 2 suits only request 1.
    # Greedy (request 2 first, or by score) gives expert 1 to the wrong request and strands one.
    star = expert(1, skills=("hydrology", "ecology"), home_region="KZ-55", offers=(offer(10, remaining=1),))
    second = expert(2, skills=("hydrology",), languages=("ru",))
    requests = [
        request(1, skills=("hydrology", "ecology"), languages=("kk", "ru")),
        request(2, skills=("hydrology", "ecology"), languages=("kk",)),
    ]
    index = ExpertIndex.build([star, second])
    assert [c.person_id for c in rank_for_request(index, requests[0]).candidates] == [1, 2]
    result = match_batch(index, requests)
    assert sorted((c.request_id, c.person_id) for c in result.assigned) == [(1, 2), (2, 1)]
    assert result.unmatched == {}


def test_a_request_left_short_says_how_many_it_got_after_the_filters():
    experts = [expert(1, offers=(offer(10, remaining=1),))]
    result = match_batch(ExpertIndex.build(experts), [request(1), request(2), request(3, languages=("de",))])
    assert len(result.assigned) == 1
    short = [request_id for request_id in (1, 2) if request_id in result.unmatched]
    assert len(short) == 1 and result.unmatched[short[0]][-1] == FilterStep("assignment", 0)
    assert result.unmatched[3][-1] == FilterStep("already_asked", 0)  # the filters emptied it


def test_the_batch_reports_counts_and_stage_times():
    experts = [expert(i) for i in range(1, 4)]
    stats = match_batch(ExpertIndex.build(experts), [request(1, slots=2), request(2, mode="investment")]).stats
    assert (stats["experts"], stats["requests"], stats["candidate_edges"], stats["assigned"]) == (3, 2, 3, 2)
    assert stats["unfilled_slots"] == 1
    assert {"seconds_scoring", "seconds_assignment", "seconds_total"} <= set(stats)


# --------------------------------------------------------------------------- empty inputs


def test_an_empty_index_matches_nobody_without_raising():
    index = ExpertIndex.build([])
    assert len(index) == 0
    result = rank_for_request(index, request())
    assert result.candidates == [] and result.steps[0] == FilterStep("eligible", 0)
    batch = match_batch(index, [request()])
    assert batch.assigned == [] and batch.unmatched[1][1] == FilterStep("mode", 0)


def test_an_empty_batch_returns_an_empty_result():
    result = match_batch(ExpertIndex.build([expert(1)]), [])
    assert (result.assigned, result.unmatched, result.stats["assigned"]) == ([], {}, 0)


def test_requests_and_experts_without_skills_text_or_languages_still_match():
    experts = [expert(1, skills=(), languages=(), field="", text=""), expert(2, skills=(), text="")]
    req = request(skills=(), languages=(), field="", text="", region="")
    result = rank_for_request(ExpertIndex.build(experts), req)
    assert [c.person_id for c in result.candidates] == [1, 2]
    assert result.candidates[0].components["skills"] == 0.0
    assert match_batch(ExpertIndex.build(experts), [req]).assigned[0].person_id == 1


# --------------------------------------------------------------------------- embeddings


class HashingEncoder:
    """A tiny deterministic encoder: bag of words hashed into 64 dimensions."""

    def encode(self, texts):
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                vectors[i, zlib.crc32(word.encode()) % 64] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


class ConstantEncoder:
    def __init__(self, sign=1.0):
        self.sign = sign

    def encode(self, texts):
        return np.tile(np.array([[self.sign, 0.0]], dtype=np.float32), (len(texts), 1))


def test_there_is_no_embedding_bonus_by_default():
    experts = [expert(1, text="water resources"), expert(2, text="arbitration")]
    candidates = rank_for_request(ExpertIndex.build(experts), request(text="water resources")).candidates
    assert [c.embedding_bonus for c in candidates] == [0.0, 0.0]


def test_an_encoder_adds_its_cosine_as_a_capped_bonus():
    experts = [expert(1, text="water resources river basins"), expert(2, text="arbitration energy law")]
    req = request(text="water resources")
    plain = {c.person_id: c.score for c in rank_for_request(ExpertIndex.build(experts), req).candidates}
    encoder = HashingEncoder()
    with_bonus = rank_for_request(ExpertIndex.build(experts, encoder=encoder), req).candidates
    cosine = encoder.encode([req.text]) @ encoder.encode([e.text for e in experts]).T
    for c in with_bonus:
        expected = round(EMBEDDING_BONUS_CAP * max(0.0, float(cosine[0, c.person_id - 1])), 4)
        assert c.embedding_bonus == pytest.approx(expected, abs=1e-4)
        assert c.score == pytest.approx(plain[c.person_id] + c.embedding_bonus, abs=1e-4)
    assert with_bonus[0].embedding_bonus > 0 and with_bonus[1].embedding_bonus == 0


def test_the_embedding_bonus_is_capped_and_never_negative():
    experts = [expert(1, text="anything")]
    same = rank_for_request(ExpertIndex.build(experts, encoder=ConstantEncoder()), request(text="x")).candidates
    assert same[0].embedding_bonus == EMBEDDING_BONUS_CAP

    class Opposite:
        def __init__(self):
            self.calls = 0

        def encode(self, texts):
            self.calls += 1
            return ConstantEncoder(1.0 if self.calls == 1 else -1.0).encode(texts)

    opposite = rank_for_request(ExpertIndex.build(experts, encoder=Opposite()), request(text="x")).candidates
    assert opposite[0].embedding_bonus == 0.0


def test_load_encoder_reads_the_spec():
    assert load_encoder("") is None
    assert isinstance(load_encoder(f"{__name__}:HashingEncoder"), HashingEncoder)
    with pytest.raises(ValueError, match="cannot import"):
        load_encoder(f"{__name__}:NoSuchEncoder")
    with pytest.raises(ValueError, match="expected"):
        load_encoder("no-colon")


def test_load_encoder_explains_a_missing_sentence_transformers_package():
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="sentence-transformers package"):
            load_encoder("sentence-transformers:/models/LaBSE")
    else:
        pytest.skip("sentence-transformers is installed here")


def test_ranking_many_requests_at_once_gives_each_the_ranking_it_gets_alone():
    experts, requests, _ = synthetic.population(600, 60, seed=5)
    index = ExpertIndex.build(experts)
    together = rank_requests(index, requests, k=10)
    for request, result in zip(requests, together, strict=True):
        alone = rank_for_request(index, request, k=10)
        assert [(c.person_id, c.score) for c in result.candidates] == [(c.person_id, c.score) for c in alone.candidates]
        assert result.steps == alone.steps
