"""Proposals from offer to feedback: transitions, capacity at acceptance, expiry and cascade."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from diaspora.models import ExpertiseRequest, Match, Offer
from diaspora.services import lifecycle
from diaspora.services.lifecycle import TransitionRefused
from tests.diaspora.people import expert, expertise_request, institution

pytestmark = pytest.mark.django_db


def _offered(person, request, **fields):
    match = Match.objects.create(
        request=request, person=person, offer=person.offers.get(), score=0.7, status=Match.Status.PROPOSED, **fields
    )
    return lifecycle.match_offer(match=match)


def test_an_offer_tells_the_expert_why_they_were_chosen():
    person = expert("erlan")
    inst, staff = institution()
    match = _offered(person, expertise_request(staff, inst))
    notice = person.user.received_messages.get()
    assert match.expires_at > timezone.now()
    assert "Toraighyrov" in notice.body


def test_accepting_within_capacity_fills_the_request():
    person = expert("erlan", capacity=1)
    inst, staff = institution()
    request = expertise_request(staff, inst)
    match = lifecycle.match_accept(match=_offered(person, request), user=person.user)
    assert match.status == Match.Status.ACCEPTED
    request.refresh_from_db()
    assert request.status == ExpertiseRequest.Status.FILLED


def test_accepting_beyond_capacity_is_refused_with_the_reason():
    person = expert("erlan", capacity=1)
    inst, staff = institution()
    first = _offered(person, expertise_request(staff, inst))
    second = _offered(person, expertise_request(staff, inst, title="Second"))
    lifecycle.match_accept(match=first, user=person.user)
    with pytest.raises(TransitionRefused, match="limit for this quarter is used up"):
        lifecycle.match_accept(match=second, user=person.user)
    second.refresh_from_db()
    assert second.status == Match.Status.OFFERED


def test_hour_based_capacity_counts_the_hours_of_each_engagement():
    person = expert("erlan", capacity=10, unit=Offer.Unit.HOURS)
    inst, staff = institution()
    first = _offered(person, expertise_request(staff, inst, hours_per_expert=6), load=6)
    second = _offered(person, expertise_request(staff, inst, title="Second", hours_per_expert=6), load=6)
    lifecycle.match_accept(match=first, user=person.user)
    with pytest.raises(TransitionRefused):
        lifecycle.match_accept(match=second, user=person.user)


def test_only_the_expert_asked_can_accept():
    person = expert("erlan")
    other = expert("saule")
    inst, staff = institution()
    match = _offered(person, expertise_request(staff, inst))
    with pytest.raises(TransitionRefused):
        lifecycle.match_accept(match=match, user=other.user)


def test_an_expired_offer_cannot_be_accepted():
    person = expert("erlan")
    inst, staff = institution()
    match = _offered(person, expertise_request(staff, inst))
    Match.objects.filter(pk=match.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    match.refresh_from_db()
    with pytest.raises(TransitionRefused, match="expired"):
        lifecycle.match_accept(match=match, user=person.user)


def test_a_decline_cascades_to_the_next_candidate():
    first = expert("erlan")
    second = expert("saule")
    inst, staff = institution()
    request = expertise_request(staff, inst)
    match = _offered(first, request)
    lifecycle.match_decline(match=match, user=first.user, reason="Busy this term")
    nxt = request.matches.exclude(pk=match.pk).get()
    assert nxt.person == second and nxt.status == Match.Status.OFFERED
    assert nxt.components and nxt.details["shared_skills"] == ["gis", "hydrology"]


def test_expiry_marks_offers_expired_and_cascades_once():
    first = expert("erlan")
    expert("saule")
    inst, staff = institution()
    request = expertise_request(staff, inst)
    match = _offered(first, request)
    Match.objects.filter(pk=match.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    result = lifecycle.matches_expire_due()
    assert (result.expired, result.cascaded) == (1, 1)
    assert lifecycle.matches_expire_due().expired == 0  # idempotent: the cascaded offer is still open
    match.refresh_from_db()
    assert match.status == Match.Status.EXPIRED


def test_a_cascade_with_nobody_left_offers_nothing():
    first = expert("erlan")
    inst, staff = institution()
    request = expertise_request(staff, inst)
    lifecycle.match_decline(match=_offered(first, request), user=first.user)
    assert request.matches.count() == 1


def test_the_engagement_goes_active_then_completed_with_feedback():
    person = expert("erlan")
    inst, staff = institution()
    match = lifecycle.match_accept(match=_offered(person, expertise_request(staff, inst)), user=person.user)
    lifecycle.match_activate(match=match, user=staff)
    lifecycle.match_complete(match=match, user=staff, rating=5, feedback="Excellent supervision")
    lifecycle.match_expert_feedback(match=match, user=person.user, rating=4, feedback="Good students")
    match.refresh_from_db()
    assert (match.status, match.institution_rating, match.expert_rating) == (Match.Status.COMPLETED, 5, 4)


def test_a_rating_outside_one_to_five_is_refused():
    person = expert("erlan")
    inst, staff = institution()
    match = lifecycle.match_accept(match=_offered(person, expertise_request(staff, inst)), user=person.user)
    lifecycle.match_activate(match=match, user=staff)
    with pytest.raises(TransitionRefused, match="1 to 5"):
        lifecycle.match_complete(match=match, user=staff, rating=9)


def test_staff_of_another_institution_cannot_move_a_match():
    person = expert("erlan")
    inst, staff = institution()
    _, outsider = institution(name="Almaty University", region="KZ-75", staff_username="almaty-staff")
    match = lifecycle.match_accept(match=_offered(person, expertise_request(staff, inst)), user=person.user)
    with pytest.raises(TransitionRefused):
        lifecycle.match_activate(match=match, user=outsider)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_acceptances_never_exceed_capacity():
    person = expert("erlan", capacity=2)
    inst, staff = institution()
    matches = [_offered(person, expertise_request(staff, inst, title=f"Request {i}")) for i in range(8)]
    barrier = threading.Barrier(len(matches))
    outcomes: list[str] = []

    def accept(match):
        try:
            barrier.wait()
            lifecycle.match_accept(match=Match.objects.select_related("person").get(pk=match.pk), user=person.user)
            outcomes.append("accepted")
        except TransitionRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(m,)) for m in matches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("accepted") == 2 and outcomes.count("refused") == 6
    assert Match.objects.filter(person=person, status=Match.Status.ACCEPTED).count() == 2
