"""The registry API: joining and editing a profile, the directory, requests, top 20, offers, roles.

Three actors: the owner (a diaspora expert), the staff of the requesting institution, and
an outsider (a respondent, or the staff of another institution). People and requests are
made through the real services (tests/diaspora/people.py).
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Programme, Role
from diaspora.models import Consent, ExpertiseRequest, Match, MatchRun, Message, Person
from diaspora.services import lifecycle, matching
from tests.diaspora.people import client_for, expert, expertise_request, institution
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/registry"


def profile_body(**overrides) -> dict:
    body = {
        "display_name": "Aigerim Sadykova",
        "bio": "Hydrologist modelling river basins.",
        "field_of_study": "053",
        "skills": ["hydrology", "gis"],
        "languages": ["kk", "en"],
        "country": "DEU",
        "home_region": "KZ-55",
        "offers": [{"mode": "co_supervision", "capacity": 2, "remote": True}],
        "visibility": {"location": "institutions"},
        "consents": ["registry", "matching", "messages"],
    }
    return {**body, **overrides}


def request_body(institution_id: int, **overrides) -> dict:
    body = {
        "institution": institution_id,
        "title": "Hydrology co-supervisor",
        "topic": "A co-supervisor for a PhD on river basin hydrology and GIS mapping of the Irtysh basin.",
        "mode": "co_supervision",
        "skills": ["hydrology"],
        "languages": ["kk"],
    }
    return {**body, **overrides}


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def owner_api(owner):
    return client_for(owner)


@pytest.fixture
def pavlodar():
    """The requesting institution and its staff member."""
    return institution()


@pytest.fixture
def staff_api(pavlodar):
    return client_for(pavlodar[1])


@pytest.fixture
def outsider_api(db):
    return client_for(UserFactory(username="outsider"))


def _offered(person, request):
    match = Match.objects.create(request=request, person=person, offer=person.offers.get(), score=0.7)
    return lifecycle.match_offer(match=match)


# --------------------------------------------------------------------------- joining with bad input


def test_it_refuses_an_unknown_skill_and_suggests_the_closest(owner_api):
    response = owner_api.post(f"{BASE}/me/profile/", profile_body(skills=["hydrolgy"]), format="json")
    assert response.status_code == 400
    assert "did you mean 'hydrology'" in response.json()["skills"][0]
    assert not Person.objects.exists()


def test_it_refuses_a_country_that_is_not_an_alpha3_code(owner_api):
    response = owner_api.post(f"{BASE}/me/profile/", profile_body(country="GER"), format="json")
    assert response.status_code == 400
    assert "'GER' is not an ISO 3166-1 alpha-3 country code" in response.json()["country"][0]


def test_it_refuses_an_offer_without_a_format(owner_api):
    offers = [{"mode": "mentoring", "capacity": 2, "remote": False, "onsite": False}]
    response = owner_api.post(f"{BASE}/me/profile/", profile_body(offers=offers), format="json")
    assert response.status_code == 400
    assert "remotely, on site or both" in response.json()["offers"][0]


def test_it_refuses_an_unknown_kind_of_engagement_naming_the_allowed_ones(owner_api):
    offers = [{"mode": "teaching", "capacity": 2}]
    response = owner_api.post(f"{BASE}/me/profile/", profile_body(offers=offers), format="json")
    assert response.status_code == 400
    message = response.json()["offers"]["0"]["mode"][0]
    assert '"teaching" is not a kind of engagement' in message and "guest_lecture" in message


def test_it_refuses_to_join_without_the_registry_consent(owner_api):
    response = owner_api.post(f"{BASE}/me/profile/", profile_body(consents=["matching"]), format="json")
    assert response.status_code == 400
    assert "consent to be listed" in response.json()["consents"][0]


def test_it_names_every_bad_field_at_once(owner_api):
    body = profile_body(skills=["hydrolgy"], country="GER", field_of_study="0533", languages=["kz"])
    response = owner_api.post(f"{BASE}/me/profile/", body, format="json")
    assert response.status_code == 400
    assert {"skills", "country", "field_of_study", "languages"} <= set(response.json())


def test_it_refuses_a_value_of_the_wrong_json_type(owner_api):
    body = profile_body(city=0, departure_year="2015", offers=[{"mode": "mentoring", "capacity": 1, "remote": "yes"}])
    response = owner_api.post(f"{BASE}/me/profile/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert errors["city"] == ["Not a valid string."]
    assert errors["departure_year"] == ["A valid integer is required."]
    assert "remote" in errors["offers"]["0"]


def test_it_takes_json_bodies_only(owner_api):
    response = owner_api.post(f"{BASE}/me/profile/", {"display_name": "A", "consents": "registry"})
    assert response.status_code == 415


# --------------------------------------------------------------------------- join, update, confirm


def test_it_joins_the_registry_with_offers_visibility_and_consents(owner_api, owner):
    response = owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    assert response.status_code == 201, response.json()
    profile = response.json()
    assert profile["display_name"] == "Aigerim Sadykova"
    assert profile["offers"][0]["mode"] == "co_supervision"
    assert profile["visibility"]["location"] == "institutions"
    assert profile["consents"] == ["matching", "messages", "registry"]
    assert profile["timezone"] == "Europe/Berlin"
    assert Person.objects.get().user == owner


def test_it_tells_someone_outside_the_registry_how_to_join(owner_api):
    response = owner_api.get(f"{BASE}/me/profile/")
    assert response.status_code == 404
    assert "POST" in response.json()["detail"]


def test_it_refuses_a_second_profile_for_the_same_account(owner_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    response = owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    assert response.status_code == 400
    assert "already has a registry profile" in response.json()["user"][0]


def test_it_updates_the_profile_and_its_offers(owner_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    offers = [{"mode": "guest_lecture", "capacity": 10, "unit": "hours", "remote": True, "onsite": True}]
    body = profile_body(bio="Now in Almaty.", country="KAZ", offers=offers)
    del body["consents"]
    response = owner_api.put(f"{BASE}/me/profile/", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["bio"] == "Now in Almaty."
    assert [o["mode"] for o in response.json()["offers"]] == ["guest_lecture"]
    assert Person.objects.get().country == "KAZ"


def test_an_update_with_a_bad_field_changes_nothing(owner_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    response = owner_api.put(f"{BASE}/me/profile/", profile_body(country="XXX", bio="Changed"), format="json")
    assert response.status_code == 400
    assert Person.objects.get().bio == "Hydrologist modelling river basins."


def test_confirming_makes_a_stale_profile_fresh_again(owner_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    long_ago = timezone.now() - timedelta(days=400)
    Person.objects.update(last_confirmed_at=long_ago, stale_warned_at=long_ago)
    response = owner_api.post(f"{BASE}/me/confirm/")
    assert response.status_code == 200
    assert response.json()["stale"] is False and response.json()["stale_warned_at"] is None


def test_pausing_through_the_api_takes_the_profile_out_of_the_directory(owner_api, staff_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    response = owner_api.post(f"{BASE}/me/status/", {"status": "paused"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "paused"
    assert staff_api.get(f"{BASE}/people/").json()["count"] == 0


def test_an_unknown_status_is_a_400_naming_the_allowed_ones(owner_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    response = owner_api.post(f"{BASE}/me/status/", {"status": "gone"}, format="json")
    assert response.status_code == 400
    assert "active, paused, closed" in response.json()["status"][0]


def test_a_consent_can_be_withdrawn_while_the_profile_is_paused(owner_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    owner_api.post(f"{BASE}/me/status/", {"status": "paused"}, format="json")
    response = owner_api.delete(f"{BASE}/me/consents/messages/")
    assert response.status_code == 204
    assert not Consent.objects.filter(purpose="messages", withdrawn_at__isnull=True).exists()


def test_withdrawing_a_consent_that_is_not_live_is_a_404(owner_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(consents=["registry"]), format="json")
    assert owner_api.delete(f"{BASE}/me/consents/messages/").status_code == 404


def test_a_consent_is_given_and_listed_with_its_wording_version(owner_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(consents=["registry"]), format="json")
    response = owner_api.post(f"{BASE}/me/consents/", {"purpose": "messages"}, format="json")
    assert response.status_code == 201
    listed = owner_api.get(f"{BASE}/me/consents/").json()
    assert {c["purpose"] for c in listed} == {"registry", "messages"}
    assert all(c["text_version"] for c in listed)


# --------------------------------------------------------------------------- the directory


@pytest.fixture
def two_experts():
    hydrologist = expert("erlan", visibility={"location": "institutions"})
    lawyer = expert(
        "dana",
        skills=["corporate-law"],
        field="042",
        languages=["ru"],
        bio="Corporate lawyer.",
        mode="consulting",
        country="USA",
        visibility={"location": "institutions"},
    )
    return hydrologist, lawyer


def _names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [card["display_name"] for card in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("skill=hydrology", ["Erlan"]),
        ("field=04", ["Dana"]),
        ("field=053", ["Erlan"]),
        ("language=ru", ["Dana"]),
        ("mode=consulting", ["Dana"]),
        ("country=usa", ["Dana"]),
        ("q=lawyer", ["Dana"]),
        ("", ["Dana", "Erlan"]),
    ],
)
def test_the_directory_filters(staff_api, two_experts, query, expected):
    assert _names(staff_api.get(f"{BASE}/people/?{query}")) == expected


def test_an_unknown_skill_filter_is_a_400_with_a_suggestion(staff_api, two_experts):
    response = staff_api.get(f"{BASE}/people/?skill=hydrolgy")
    assert response.status_code == 400
    assert "did you mean 'hydrology'" in response.json()["skill"][0]


@pytest.mark.parametrize("query", ["country=XX", "language=xx", "field=999", "mode=teaching"])
def test_an_unknown_code_in_a_filter_is_a_400_naming_the_parameter(staff_api, query):
    response = staff_api.get(f"{BASE}/people/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [query.split("=")[0]]


def test_an_unknown_mode_filter_lists_the_allowed_modes(staff_api):
    message = staff_api.get(f"{BASE}/people/?mode=teaching").json()["mode"][0]
    assert "mentoring" in message and "short_visit" in message


def test_the_directory_is_paginated(staff_api, two_experts):
    page = staff_api.get(f"{BASE}/people/?limit=1&offset=1").json()
    assert page["count"] == 2 and [c["display_name"] for c in page["results"]] == ["Erlan"]


def test_a_card_never_shows_an_address(staff_api, two_experts):
    response = staff_api.get(f"{BASE}/people/{two_experts[0].pk}/")
    assert response.status_code == 200
    assert "@" not in response.content.decode()
    assert "email" not in response.json()


# --------------------------------------------------------------------------- messages


def test_it_relays_a_message_to_a_person_who_accepts_them(staff_api, pavlodar):
    person = expert("erlan", visibility={"contact": "institutions"})
    response = staff_api.post(
        f"{BASE}/people/{person.pk}/messages/", {"subject": "A seminar", "body": "Would you speak?"}, format="json"
    )
    assert response.status_code == 201
    inbox = client_for(person.user).get(f"{BASE}/me/messages/").json()["results"]
    assert inbox[0]["subject"] == "A seminar"
    assert inbox[0]["sender"] == f"Institution staff ({pavlodar[0].name})"  # never the login name


def test_a_message_to_someone_who_accepts_them_only_from_administrators_is_refused(staff_api):
    person = expert("erlan")  # contact visibility: administrators, by default
    response = staff_api.post(f"{BASE}/people/{person.pk}/messages/", {"subject": "Hi", "body": "Hi"}, format="json")
    assert response.status_code == 403
    assert "only from programme administrators" in response.json()["detail"]


def test_the_expert_replies_through_the_platform(staff_api, pavlodar):
    person = expert("erlan", visibility={"contact": "institutions"})
    staff_api.post(f"{BASE}/people/{person.pk}/messages/", {"subject": "A seminar", "body": "?"}, format="json")
    message = Message.objects.get(recipient=person.user)
    response = client_for(person.user).post(f"{BASE}/me/messages/{message.pk}/reply/", {"body": "Yes"}, format="json")
    assert response.status_code == 201
    assert Message.objects.get(recipient=pavlodar[1]).subject == "Re: A seminar"


# --------------------------------------------------------------------------- requests and top 20


def test_staff_post_a_request_for_their_institution(staff_api, pavlodar):
    response = staff_api.post(f"{BASE}/requests/", request_body(pavlodar[0].pk), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["region"] == "KZ-55" and response.json()["status"] == "open"


def test_a_request_with_bad_fields_is_a_400_naming_them(staff_api, pavlodar):
    body = request_body(pavlodar[0].pk, topic="Too short", skills=["hydrolgy"], region="KZ-99")
    response = staff_api.post(f"{BASE}/requests/", body, format="json")
    assert response.status_code == 400
    assert {"topic", "skills", "region"} <= set(response.json())


def test_a_respondent_cannot_post_requests(outsider_api, pavlodar):
    response = outsider_api.post(f"{BASE}/requests/", request_body(pavlodar[0].pk), format="json")
    assert response.status_code == 403
    assert "staff and programme administrators" in response.json()["detail"]
    assert not ExpertiseRequest.objects.exists()


def test_staff_cannot_post_for_an_institution_they_do_not_belong_to(pavlodar):
    other, other_staff = institution(name="Astana IT University", region="KZ-71", staff_username="astana-staff")
    response = client_for(other_staff).post(f"{BASE}/requests/", request_body(pavlodar[0].pk), format="json")
    assert response.status_code == 400
    assert "institution" in response.json()


@pytest.mark.parametrize("path", ["", "top/", "matches/"])
def test_staff_of_another_institution_cannot_see_a_request(pavlodar, path):
    request = expertise_request(pavlodar[1], pavlodar[0])
    _, other_staff = institution(name="Astana IT University", region="KZ-71", staff_username="astana-staff")
    response = client_for(other_staff).get(f"{BASE}/requests/{request.pk}/{path}")
    assert response.status_code == 404


def test_staff_of_another_institution_do_not_find_it_in_the_list(pavlodar):
    expertise_request(pavlodar[1], pavlodar[0])
    _, other_staff = institution(name="Astana IT University", region="KZ-71", staff_username="astana-staff")
    assert client_for(other_staff).get(f"{BASE}/requests/").json()["count"] == 0


def test_staff_update_and_close_their_request(staff_api, pavlodar):
    request = expertise_request(pavlodar[1], pavlodar[0])
    body = request_body(pavlodar[0].pk, title="Two co-supervisors", experts_needed=2)
    assert staff_api.put(f"{BASE}/requests/{request.pk}/", body, format="json").json()["experts_needed"] == 2
    assert staff_api.post(f"{BASE}/requests/{request.pk}/close/").json()["status"] == "closed"


def test_top_lists_the_best_experts_with_why(staff_api, pavlodar):
    hydrologist = expert("erlan")
    expert("dana", skills=["corporate-law"], field="042", bio="Corporate lawyer.", mode="consulting")
    request = expertise_request(pavlodar[1], pavlodar[0])
    response = staff_api.get(f"{BASE}/requests/{request.pk}/top/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [c["person"]["id"] for c in body["candidates"]] == [hydrologist.pk]
    candidate = body["candidates"][0]
    assert any("Hydrology" in part for part in candidate["explanation"])
    assert candidate["offer"] == {
        "mode": "co_supervision",
        "unit": "engagements",
        "remaining_after": 1,
        "remote": True,
        "onsite": False,
    }
    assert body["why_nobody"] is None


def test_top_says_why_nobody_matches(staff_api, pavlodar):
    expert("erlan")  # offers co-supervision, not investment
    request = expertise_request(pavlodar[1], pavlodar[0], mode="investment")
    response = staff_api.get(f"{BASE}/requests/{request.pk}/top/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    assert body["candidates"] == []
    assert body["why_nobody"] == "Nobody offers this kind of engagement."
    assert [(s["step"], s["remaining"]) for s in body["filter_trail"]][:2] == [("eligible", 1), ("mode", 0)]


def test_top_of_a_closed_request_is_a_conflict(staff_api, pavlodar):
    request = expertise_request(pavlodar[1], pavlodar[0])
    staff_api.post(f"{BASE}/requests/{request.pk}/close/")
    response = staff_api.get(f"{BASE}/requests/{request.pk}/top/")
    assert response.status_code == 409
    assert "open requests" in response.json()["detail"]


# --------------------------------------------------------------------------- offers: accept, decline, engage


def test_staff_send_the_proposals_of_a_run_and_the_expert_sees_why(staff_api, pavlodar):
    person = expert("erlan", visibility={"location": "institutions"})  # region used in matching
    request = expertise_request(pavlodar[1], pavlodar[0])
    run, _ = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key="manual-test")
    matching.matching_run(run=run)
    assert staff_api.post(f"{BASE}/requests/{request.pk}/offer-proposals/").json() == {"offered": 1}
    mine = client_for(person.user).get(f"{BASE}/me/matches/", HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    assert mine[0]["status"] == "offered" and mine[0]["request"]["institution"] == "Toraighyrov University"
    assert any("ties to the request's region" in part for part in mine[0]["explanation"])


def test_the_expert_accepts_an_offer(pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    response = client_for(person.user).post(f"{BASE}/me/matches/{match.pk}/accept/")
    assert response.status_code == 200
    assert response.json() == {"id": match.pk, "status": "accepted"}


def test_accepting_an_answered_offer_is_a_conflict_with_the_reason(pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    api = client_for(person.user)
    api.post(f"{BASE}/me/matches/{match.pk}/decline/", {"reason": "Busy"}, format="json")
    response = api.post(f"{BASE}/me/matches/{match.pk}/accept/")
    assert response.status_code == 409
    assert "can no longer be accepted" in response.json()["detail"]


def test_the_expert_declines_with_a_reason(pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    response = client_for(person.user).post(
        f"{BASE}/me/matches/{match.pk}/decline/", {"reason": "On leave"}, format="json"
    )
    assert response.json()["status"] == "declined"
    match.refresh_from_db()
    assert match.decline_reason == "On leave"


def test_someone_elses_offer_is_not_found(pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    intruder = expert("dana")
    assert client_for(intruder.user).post(f"{BASE}/me/matches/{match.pk}/accept/").status_code == 404


def test_an_engagement_is_started_completed_and_rated_on_both_sides(staff_api, pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    expert_api = client_for(person.user)
    expert_api.post(f"{BASE}/me/matches/{match.pk}/accept/")
    assert staff_api.post(f"{BASE}/matches/{match.pk}/activate/").json()["status"] == "active"
    done = staff_api.post(f"{BASE}/matches/{match.pk}/complete/", {"rating": 5, "feedback": "Great"}, format="json")
    assert done.json()["status"] == "completed"
    rated = expert_api.post(f"{BASE}/me/matches/{match.pk}/feedback/", {"rating": 4}, format="json")
    assert rated.status_code == 200
    match.refresh_from_db()
    assert (match.institution_rating, match.expert_rating) == (5, 4)


def test_a_rating_out_of_range_is_a_400(staff_api, pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    response = staff_api.post(f"{BASE}/matches/{match.pk}/complete/", {"rating": 9}, format="json")
    assert response.status_code == 400 and "rating" in response.json()


def test_completing_an_offer_that_was_not_accepted_is_a_conflict(staff_api, pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    response = staff_api.post(f"{BASE}/matches/{match.pk}/complete/", {}, format="json")
    assert response.status_code == 409 and "Only an active engagement" in response.json()["detail"]


def test_staff_withdraw_an_open_offer(staff_api, pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    assert staff_api.post(f"{BASE}/matches/{match.pk}/withdraw/").json()["status"] == "withdrawn"


def test_staff_of_another_institution_cannot_touch_a_match(pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    _, other_staff = institution(name="Astana IT University", region="KZ-71", staff_username="astana-staff")
    assert client_for(other_staff).post(f"{BASE}/matches/{match.pk}/withdraw/").status_code == 404


# --------------------------------------------------------------------------- roles


@pytest.fixture
def researcher_api(db):
    return client_for(UserFactory(username="researcher", role=Role.RESEARCHER))


@pytest.mark.parametrize("path", ["people/", "people/1/", "requests/", "requests/1/top/", "requests/1/matches/"])
def test_a_researcher_gets_403_on_registry_data(researcher_api, path):
    expert("erlan")
    response = researcher_api.get(f"{BASE}/{path}")
    assert response.status_code == 403
    assert "anonymised exports" in response.json()["detail"]


def test_an_anonymous_caller_gets_401(db):
    assert APIClient().get(f"{BASE}/people/").status_code == 401


def test_only_administrators_start_matching_runs(staff_api):
    response = staff_api.post(f"{BASE}/runs/")
    assert response.status_code == 403
    assert not MatchRun.objects.exists()


def test_an_administrator_starts_a_run_that_is_enqueued_on_commit(
    django_capture_on_commit_callbacks, tasks_in_process, pavlodar
):
    expert("erlan")
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    pavlodar[0].programmes.add(bolashak)
    request = expertise_request(pavlodar[1], pavlodar[0], programme="bolashak")
    admin = UserFactory(username="admin", role=Role.PROGRAMME_ADMIN)
    admin.programmes.add(bolashak)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(admin).post(f"{BASE}/runs/")
    assert response.status_code == 202 and len(callbacks) == 1
    run = client_for(admin).get(f"{BASE}/runs/{response.json()['id']}/").json()
    assert run["status"] == "complete" and run["key"].startswith("manual-")
    assert run["stats"]["proposals_created"] == 1
    assert request.matches.count() == 1


def test_metrics_are_for_administrators_only(staff_api):
    assert staff_api.get(f"{BASE}/metrics/").status_code == 403


def test_an_administrator_reads_the_metrics(pavlodar):
    person = expert("erlan")
    match = _offered(person, expertise_request(pavlodar[1], pavlodar[0]))
    lifecycle.match_accept(match=match, user=person.user)
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    metrics = client_for(superuser).get(f"{BASE}/metrics/").json()
    assert metrics["acceptance_rate"] == 1.0 and metrics["by_status"] == {"accepted": 1}


def test_the_metrics_count_each_expert_once_whatever_their_number_of_offers(pavlodar):
    busy, idle = expert("erlan"), expert("dana")
    match = _offered(busy, expertise_request(pavlodar[1], pavlodar[0]))
    lifecycle.match_accept(match=match, user=busy.user)
    for person in (busy, idle):  # a second kind of engagement for each expert
        second = person.offers.get()
        second.pk, second.mode = None, "guest_lecture"
        second.save()
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    metrics = client_for(superuser).get(f"{BASE}/metrics/").json()
    assert metrics["experts_with_offers"] == 2  # not 4 (one per offer)
    assert metrics["gini_load"] == 0.5  # over the loads [0, 1]


def test_a_withdrawn_registry_consent_is_recorded_not_deleted(owner_api):
    owner_api.post(f"{BASE}/me/profile/", profile_body(), format="json")
    owner_api.delete(f"{BASE}/me/consents/registry/")
    consent = Consent.objects.get(purpose="registry")
    assert consent.withdrawn_at is not None
    assert owner_api.post(f"{BASE}/me/consents/", {"purpose": "registry"}, format="json").status_code == 201
