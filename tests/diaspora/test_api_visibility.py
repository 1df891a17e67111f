"""Nobody leaks through the API: every path that shows people, against every way of not being shown.

A profile hidden by its owner ("only me"), one whose registry consent was withdrawn and one
paused must appear in no answer: the directory, a search for its name, its card, a request's
top 20 and a request's matches. Each test also shows a visible expert on the same path, so an
empty answer cannot pass for a hidden one. Field groups shown to administrators only stay out
of what institution staff see, and filtering on them reveals nothing.
"""

import pytest

from accounts.models import Programme, Role
from diaspora.models import Match, MatchRun
from diaspora.services import lifecycle, matching, registry
from tests.diaspora.people import client_for, expert, expertise_request, institution, profile_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/registry"


def _hide(person) -> None:
    """The owner sets their profile to "only me" (an ordinary profile update)."""
    profile_update(person, visibility={"profile": "hidden"})


def _withdraw(person) -> None:
    registry.consent_withdraw(person=person, purpose="registry")


def _pause(person) -> None:
    registry.person_set_status(person=person, status="paused")


STATES = {"hidden": _hide, "consent withdrawn": _withdraw, "paused": _pause}
state = pytest.mark.parametrize("make_unlisted", STATES.values(), ids=STATES.keys())


@pytest.fixture
def pavlodar():
    return institution()


@pytest.fixture
def viewers(pavlodar):
    """Who looks: the requesting institution's staff, and a superuser (who sees the most)."""
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    return {"staff": client_for(pavlodar[1]), "superuser": client_for(superuser)}


viewer = pytest.mark.parametrize("who", ["staff", "superuser"])


@pytest.fixture
def visible():
    return expert("erlan-visible")


@pytest.fixture
def target():
    return expert("gulnar-target")


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.json()
    body = response.json()
    if "candidates" in body:
        return {c["person"]["id"] for c in body["candidates"]}
    return {item.get("person", item)["id"] for item in body["results"]}


# --------------------------------------------------------------------------- people paths


@state
@viewer
def test_it_is_not_in_the_directory(viewers, who, visible, target, make_unlisted):
    make_unlisted(target)
    assert _ids(viewers[who].get(f"{BASE}/people/")) == {visible.pk}


@state
@viewer
def test_it_is_not_found_by_searching_its_name(viewers, who, visible, target, make_unlisted):
    make_unlisted(target)
    assert _ids(viewers[who].get(f"{BASE}/people/?q=Gulnar")) == set()
    assert _ids(viewers[who].get(f"{BASE}/people/?q=Erlan")) == {visible.pk}


@state
@viewer
def test_its_card_is_not_found(viewers, who, visible, target, make_unlisted):
    make_unlisted(target)
    assert viewers[who].get(f"{BASE}/people/{target.pk}/").status_code == 404
    assert viewers[who].get(f"{BASE}/people/{visible.pk}/").status_code == 200


@state
def test_it_cannot_be_written_to(viewers, target, make_unlisted):
    make_unlisted(target)
    body = {"subject": "Hello", "body": "A question"}
    assert viewers["superuser"].post(f"{BASE}/people/{target.pk}/messages/", body, format="json").status_code == 404


# --------------------------------------------------------------------------- matching paths


@state
@viewer
def test_it_is_not_a_top_candidate(viewers, who, pavlodar, visible, target, make_unlisted):
    request = expertise_request(pavlodar[1], pavlodar[0])
    assert _ids(viewers[who].get(f"{BASE}/requests/{request.pk}/top/")) == {visible.pk, target.pk}
    make_unlisted(target)
    assert _ids(viewers[who].get(f"{BASE}/requests/{request.pk}/top/")) == {visible.pk}


@state
@viewer
def test_it_is_not_among_a_requests_proposals(viewers, who, pavlodar, visible, target, make_unlisted):
    request = expertise_request(pavlodar[1], pavlodar[0], experts_needed=2)
    run, _ = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key="manual-visibility")
    matching.matching_run(run=run)
    assert _ids(viewers[who].get(f"{BASE}/requests/{request.pk}/matches/")) == {visible.pk, target.pk}
    make_unlisted(target)
    assert _ids(viewers[who].get(f"{BASE}/requests/{request.pk}/matches/")) == {visible.pk}


@state
def test_an_engaged_expert_leaves_the_requests_matches_too(viewers, pavlodar, visible, target, make_unlisted):
    request = expertise_request(pavlodar[1], pavlodar[0])
    match = Match.objects.create(request=request, person=target, offer=target.offers.get(), score=0.7)
    lifecycle.match_accept(match=lifecycle.match_offer(match=match), user=target.user)
    assert _ids(viewers["staff"].get(f"{BASE}/requests/{request.pk}/matches/")) == {target.pk}
    make_unlisted(target)
    assert _ids(viewers["staff"].get(f"{BASE}/requests/{request.pk}/matches/")) == set()
    assert viewers["staff"].post(f"{BASE}/matches/{match.pk}/activate/").status_code == 404


@state
def test_it_is_not_offered_the_proposals_of_a_run(viewers, pavlodar, visible, target, make_unlisted):
    request = expertise_request(pavlodar[1], pavlodar[0], experts_needed=2)
    run, _ = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key="manual-visibility")
    matching.matching_run(run=run)
    make_unlisted(target)
    viewers["staff"].post(f"{BASE}/requests/{request.pk}/offer-proposals/")
    assert not target.matches.filter(status=Match.Status.OFFERED).exists()
    assert visible.matches.get().status == Match.Status.OFFERED


# --------------------------------------------------------------------------- field groups

LOCATION = {"country", "city", "timezone", "home_region", "departure_year"}


@pytest.fixture
def abroad():
    """Location kept for administrators (the default), expertise open to institutions."""
    return expert("aliya-abroad", country="DEU", departure_year=2015)


def test_staff_do_not_see_location_kept_for_administrators(viewers, abroad):
    staff_card = viewers["staff"].get(f"{BASE}/people/{abroad.pk}/").json()
    assert not LOCATION & set(staff_card)
    assert "skills" in staff_card
    superuser_card = viewers["superuser"].get(f"{BASE}/people/{abroad.pk}/").json()
    assert superuser_card["country"] == "DEU" and superuser_card["departure_year"] == 2015


def test_filtering_by_country_does_not_reveal_a_location_kept_for_administrators(viewers, abroad):
    assert _ids(viewers["staff"].get(f"{BASE}/people/?country=DEU")) == set()
    assert _ids(viewers["superuser"].get(f"{BASE}/people/?country=DEU")) == {abroad.pk}


def test_filtering_and_searching_by_skill_do_not_reveal_expertise_kept_for_administrators(viewers):
    quiet = expert("marat-quiet", visibility={"expertise": "administrators"})
    staff = viewers["staff"]
    assert "skills" not in staff.get(f"{BASE}/people/{quiet.pk}/").json()
    assert _ids(staff.get(f"{BASE}/people/?skill=hydrology")) == set()
    assert _ids(staff.get(f"{BASE}/people/?q=hydrology")) == set()
    assert _ids(viewers["superuser"].get(f"{BASE}/people/?skill=hydrology")) == {quiet.pk}


def test_top_explanations_and_cards_leave_out_a_location_the_viewer_may_not_see(viewers, pavlodar, abroad):
    request = expertise_request(pavlodar[1], pavlodar[0])
    path = f"{BASE}/requests/{request.pk}/top/"
    staff_candidate = viewers["staff"].get(path, HTTP_ACCEPT_LANGUAGE="en").json()["candidates"][0]
    assert not LOCATION & set(staff_candidate["person"])
    assert not any("region" in part or "working hours" in part for part in staff_candidate["explanation"])
    # A location kept from institutions does not enter the ranking at all (institution staff
    # see it), so no viewer is told of it; one shared with institutions does, for every viewer.
    superuser_candidate = viewers["superuser"].get(path, HTTP_ACCEPT_LANGUAGE="en").json()["candidates"][0]
    assert not any("ties to the request's region" in part for part in superuser_candidate["explanation"])
    shared = expert("dana-shared", visibility={"location": "institutions"})
    for who in ("staff", "superuser"):
        candidates = viewers[who].get(path, HTTP_ACCEPT_LANGUAGE="en").json()["candidates"]
        first = candidates[0]
        assert first["person"]["id"] == shared.pk  # the region and time zone lift it above the other
        assert any("ties to the request's region" in part for part in first["explanation"])


def test_a_programme_administrator_sees_location_only_for_their_programmes_people(db):
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    serpin = Programme.objects.create(slug="serpin", name="Serpin-2050")
    person = expert("aliya-abroad", programmes=["bolashak"])
    own_admin = UserFactory(username="bolashak-admin", role=Role.PROGRAMME_ADMIN)
    own_admin.programmes.add(bolashak)
    other_admin = UserFactory(username="serpin-admin", role=Role.PROGRAMME_ADMIN)
    other_admin.programmes.add(serpin)
    assert client_for(own_admin).get(f"{BASE}/people/{person.pk}/").json()["country"] == "DEU"
    assert "country" not in client_for(other_admin).get(f"{BASE}/people/{person.pk}/").json()


def test_a_respondent_sees_only_profiles_open_to_everyone_signed_in(db):
    expert("erlan-institutions")  # profile visibility: institutions (the default)
    public = expert("dana-public", visibility={"profile": "public"})
    respondent = client_for(UserFactory(username="outsider"))
    assert _ids(respondent.get(f"{BASE}/people/")) == {public.pk}


def test_the_owner_still_sees_a_hidden_profile_of_their_own(target):
    _hide(target)
    profile = client_for(target.user).get(f"{BASE}/me/profile/").json()
    assert profile["visibility"]["profile"] == "hidden" and profile["display_name"] == "Gulnar Target"
