"""Matching runs and the top 20 against the database: proposals, idempotency, explanations."""

from datetime import date

import pytest

from accounts.models import Programme
from diaspora.explanations import explain
from diaspora.models import Match, MatchingSettings, MatchRun, Visibility
from diaspora.services import lifecycle, matching
from diaspora.services.registry import consent_withdraw
from tests.diaspora.people import expert, expertise_request, institution

pytestmark = pytest.mark.django_db


def test_the_nightly_run_proposes_the_best_expert_with_an_explanation():
    hydrologist = expert("erlan")
    expert("lawyer", skills=["corporate-law"], field="042", bio="Corporate lawyer, M&A and arbitration.")
    inst, staff = institution()
    request = expertise_request(staff, inst)
    run = matching.matching_nightly(day=date(2026, 11, 21))
    assert run.status == MatchRun.Status.COMPLETE
    match = request.matches.get()
    assert match.person == hydrologist and match.status == Match.Status.PROPOSED
    why = explain(match, language="en", show_location=True)
    assert any("Hydrology" in part and "GIS" in part for part in why), why
    assert any("Kazakh" in part for part in why), why
    assert any("co-supervision" in part and "1 engagement left" in part for part in why), why


def test_a_nightly_run_is_done_once_per_day():
    expert("erlan")
    inst, staff = institution()
    expertise_request(staff, inst)
    first = matching.matching_nightly(day=date(2026, 11, 21))
    again = matching.matching_nightly(day=date(2026, 11, 21))
    assert first.pk == again.pk and Match.objects.count() == 1


def test_a_later_run_fills_only_free_places_and_never_asks_twice():
    expert("erlan")
    expert("saule")
    inst, staff = institution()
    request = expertise_request(staff, inst, experts_needed=1)
    matching.matching_nightly(day=date(2026, 11, 21))
    matching.matching_nightly(day=date(2026, 11, 22))
    assert request.matches.count() == 1


def test_the_run_respects_capacity_across_requests():
    expert("erlan", capacity=1)
    inst, staff = institution()
    expertise_request(staff, inst, title="First")
    expertise_request(staff, inst, title="Second")
    matching.matching_nightly(day=date(2026, 11, 21))
    assert Match.objects.count() == 1


def test_nobody_withdrawn_or_hidden_is_ever_proposed():
    withdrawn = expert("erlan")
    expert("saule", visibility={"profile": Visibility.HIDDEN})
    expert("aliya", visibility={"expertise": Visibility.ADMINISTRATORS})
    consent_withdraw(person=withdrawn, purpose="matching")
    inst, staff = institution()
    request = expertise_request(staff, inst)
    matching.matching_nightly(day=date(2026, 11, 21))
    assert not request.matches.exists()
    top = matching.request_top(request=request)
    assert top.candidates == []
    assert matching.why_nobody(top.steps) == (
        "Nobody in the registry can be matched yet (no listed profiles that accept proposals)."
    )


def test_the_top_20_says_why_nobody_matches():
    expert("erlan", languages=["en"])
    inst, staff = institution()
    request = expertise_request(staff, inst, languages=["kk"])
    top = matching.request_top(request=request)
    assert top.candidates == []
    assert "speaks any of the requested languages" in matching.why_nobody(top.steps)


def test_the_top_20_rechecks_capacity_taken_since_the_index_was_built():
    person = expert("erlan", capacity=1)
    inst, staff = institution()
    first = expertise_request(staff, inst, title="First")
    second = expertise_request(staff, inst, title="Second")
    assert matching.request_top(request=second).candidates  # builds the index
    match = Match.objects.create(request=first, person=person, offer=person.offers.get(), score=0.9)
    lifecycle.match_offer(match=match)
    lifecycle.match_accept(match=match, user=person.user)
    assert matching.request_top(request=second).candidates == []


def test_programme_weights_change_the_ranking():
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    skilled = expert("skilled", skills=["hydrology", "gis"], languages=["en"], home_region="KZ-75")
    local = expert(
        "local", skills=["hydrology"], languages=["kk"], home_region="KZ-55", visibility={"location": "institutions"}
    )
    inst, staff = institution()
    inst.programmes.add(bolashak)
    request = expertise_request(staff, inst, languages=[], programme="bolashak")
    assert matching.request_top(request=request).candidates[0].person_id == skilled.pk
    MatchingSettings.objects.create(programme=bolashak, weights={"skills": 0.1, "region": 1.0})
    assert matching.request_top(request=request).candidates[0].person_id == skilled.pk  # skills first
    MatchingSettings.objects.filter(programme=bolashak).update(skills_first=False)
    assert matching.request_top(request=request).candidates[0].person_id == local.pk


def test_a_run_records_its_figures():
    expert("erlan")
    inst, staff = institution()
    expertise_request(staff, inst)
    run = matching.matching_nightly(day=date(2026, 11, 21))
    assert run.stats["requests"] == 1 and run.stats["proposals_created"] == 1
    assert run.finished_at is not None


def test_the_same_institution_is_a_conflict_of_interest():
    person = expert("erlan")
    inst, staff = institution()
    person.affiliations.add(inst)
    request = expertise_request(staff, inst)
    top = matching.request_top(request=request)
    assert top.candidates == []
    assert "affiliated with the requesting institution" in matching.why_nobody(top.steps)
