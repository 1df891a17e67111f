"""What a viewer may not see cannot be recovered from what they receive, by any sequence of requests.

Each test plays two worlds that differ only in a value hidden from the viewer (a person's
region and time zone kept for "only me" or for administrators; their expertise kept for
administrators) and makes the same requests in both, as institution staff can: their
request's region moved through all 20 regions, its skills changed, the top 20 and the
request's proposals read after each. Every answer must be the same in both worlds: scores,
components, ranks, explanations, filter counts. An empty answer cannot pass: a visible twin
is in every answer.
"""

import pytest

from accounts.models import Role
from diaspora import vocabularies as vocab
from diaspora.models import Match, MatchRun, Person
from diaspora.services import matching
from tests.diaspora.people import client_for, expert, expertise_request, institution, profile_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/registry"
WORLDS = {
    "a": {"home_region": "KZ-55", "timezone": "Asia/Almaty", "country": "KAZ", "city": "Pavlodar"},
    "b": {"home_region": "KZ-11", "timezone": "America/New_York", "country": "USA", "city": "Boston"},
}


def _relocate(person: Person, where: dict) -> None:
    """The owner moves (an ordinary profile update); the location's visibility is unchanged."""
    profile_update(person, **where)


def _put(client, request, **changes) -> None:
    body = {
        "institution": request.institution_id,
        "title": request.title,
        "topic": request.topic,
        "mode": request.mode,
        "field_of_study": request.field_of_study,
        "skills": list(request.skills),
        "languages": list(request.languages),
        "region": request.region,
        "experts_needed": request.experts_needed,
        "hours_per_expert": request.hours_per_expert,
    } | changes
    response = client.put(f"{BASE}/requests/{request.pk}/", body, format="json")
    assert response.status_code == 200, response.json()


def _observe(client, request, target_id: int, twin_id: int) -> list:
    """All a staff member learns about the target from the top 20 over every region."""
    seen = []
    for region in vocab.KZ_REGIONS:
        _put(client, request, region=region)
        body = client.get(f"{BASE}/requests/{request.pk}/top/", HTTP_ACCEPT_LANGUAGE="en").json()
        ids = [c["person"]["id"] for c in body["candidates"]]
        assert twin_id in ids  # the answer is not empty
        target = [
            (rank, c["score"], c["components"], c["explanation"], c["person"])
            for rank, c in enumerate(body["candidates"])
            if c["person"]["id"] == target_id
        ]
        seen.append((region, target, [(t["step"], t["remaining"]) for t in body["filter_trail"]]))
    return seen


@pytest.fixture
def pavlodar():
    return institution()


@pytest.mark.parametrize("kept_for", ["hidden", "administrators"])
def test_a_location_kept_from_institutions_is_not_recovered_from_the_top_20(pavlodar, kept_for):
    inst, staff = pavlodar
    target = expert("gulnar-target", visibility={"location": kept_for}, **WORLDS["a"])
    twin = expert("erlan-twin", visibility={"location": "institutions"}, **WORLDS["a"])
    request = expertise_request(staff, inst)
    client = client_for(staff)
    world_a = _observe(client, request, target.pk, twin.pk)
    _relocate(Person.objects.get(pk=target.pk), WORLDS["b"])
    matching.index_refresh()
    world_b = _observe(client, request, target.pk, twin.pk)
    assert world_a == world_b
    # the target is ranked (so the comparison saw something), with no location part in its score
    assert all(target_seen for _region, target_seen, _trail in world_a)
    _rank, score, components, explanation, card = world_a[0][1][0]
    assert components["region"] == 0 and components["timezone"] == 0
    assert not {"country", "city", "home_region", "timezone"} & set(card)
    assert not any("region" in part or "working hours" in part for part in explanation)


def test_the_twin_who_shares_location_with_institutions_still_gains_from_it(pavlodar):
    inst, staff = pavlodar
    twin = expert("erlan-twin", visibility={"location": "institutions"}, **WORLDS["a"])
    request = expertise_request(staff, inst, region="KZ-55")
    candidate = client_for(staff).get(f"{BASE}/requests/{request.pk}/top/").json()["candidates"][0]
    assert candidate["person"]["id"] == twin.pk
    assert candidate["components"]["region"] == 1.0 and candidate["components"]["timezone"] > 0


@pytest.mark.parametrize("kept_for", ["hidden", "administrators"])
def test_a_location_kept_from_institutions_is_not_in_a_runs_proposals(pavlodar, kept_for):
    inst, staff = pavlodar
    target = expert("gulnar-target", visibility={"location": kept_for}, **WORLDS["a"])
    request = expertise_request(staff, inst, region="KZ-55", experts_needed=2)
    expert("erlan-twin", visibility={"location": "institutions"}, **WORLDS["a"])
    run, _created = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key="privacy-run")
    matching.matching_run(run=run)
    proposal = Match.objects.get(request=request, person=target)
    assert proposal.components["region"] == 0 and proposal.components["timezone"] == 0
    shown = client_for(staff).get(f"{BASE}/requests/{request.pk}/matches/").json()["results"]
    mine = next(m for m in shown if m["person"]["id"] == target.pk)
    assert mine["components"]["region"] == 0 and mine["components"]["timezone"] == 0


def test_expertise_kept_for_administrators_keeps_the_person_out_of_every_ranking(pavlodar):
    """Skills, field and languages are what matching is about: a person who keeps them for
    administrators is left out (their absence depends on their setting, not on any value)."""
    inst, staff = pavlodar
    quiet = expert("marat-quiet", visibility={"expertise": "administrators"})
    twin = expert("erlan-twin")
    request = expertise_request(staff, inst)
    client = client_for(staff)
    trails = []
    for skills in (["hydrology"], ["gis"], ["machine-learning"], []):
        _put(client, request, skills=skills)
        body = client.get(f"{BASE}/requests/{request.pk}/top/").json()
        ids = {c["person"]["id"] for c in body["candidates"]}
        assert twin.pk in ids and quiet.pk not in ids
        trails.append([(t["step"], t["remaining"]) for t in body["filter_trail"]])
    # the counts are those of a registry without the quiet person, whatever the skills asked
    Person.objects.filter(pk=quiet.pk).update(status=Person.Status.PAUSED)
    matching.index_refresh()
    for skills, trail in zip((["hydrology"], ["gis"], ["machine-learning"], []), trails, strict=True):
        _put(client, request, skills=skills)
        body = client.get(f"{BASE}/requests/{request.pk}/top/").json()
        assert [(t["step"], t["remaining"]) for t in body["filter_trail"]] == trail


def test_messages_name_their_sender_by_display_name_never_by_login_name(pavlodar):
    inst, staff = pavlodar
    staff.username, staff.email = "nurlan@university.kz", "nurlan@university.kz"
    staff.first_name = staff.last_name = ""
    staff.save()
    member = expert("aliya-member", visibility={"contact": "institutions"})
    member.user.username = member.user.email = "aliya.member@mail.example"
    member.user.save()
    client_for(staff).post(
        f"{BASE}/people/{member.pk}/messages/", {"subject": "Hello", "body": "Could we talk?"}, format="json"
    )
    inbox = client_for(member.user).get(f"{BASE}/me/messages/").json()["results"]
    assert inbox and all("@" not in (m["sender"] or "") for m in inbox)
    assert inbox[0]["sender"] == f"Institution staff ({inst.name})"
    message_id = inbox[0]["id"]
    reply = client_for(member.user).post(f"{BASE}/me/messages/{message_id}/reply/", {"body": "Yes."}, format="json")
    assert reply.status_code in (200, 201), reply.json()
    staff_inbox = client_for(staff).get(f"{BASE}/me/messages/").json()["results"]
    assert [m["sender"] for m in staff_inbox] == [member.display_name]
    assert member.user.username not in str(staff_inbox)


def test_a_name_typed_as_an_address_is_not_shown_either(db):
    from accounts.names import shown_name

    user = UserFactory(username="x@example.org", first_name="x@example.org", role=Role.PROGRAMME_ADMIN)
    assert shown_name(user) == "Programme administrator"


def test_an_expert_who_declined_and_then_hid_their_profile_leaves_the_institutions_view(pavlodar):
    from django.test import Client

    from diaspora.services import lifecycle
    from tests.diaspora.test_api_visibility import _hide

    inst, staff = pavlodar
    target = expert("gulnar-target")
    twin = expert("erlan-twin")
    request = expertise_request(staff, inst, experts_needed=2)
    match = Match.objects.create(request=request, person=target, offer=target.offers.get(), score=0.7)
    lifecycle.match_decline(match=lifecycle.match_offer(match=match), user=target.user, reason="Too busy")
    Match.objects.get_or_create(request=request, person=twin, defaults={"offer": twin.offers.get(), "score": 0.6})
    api = client_for(staff)
    shown = api.get(f"{BASE}/requests/{request.pk}/matches/").json()["results"]
    assert {m["person"]["id"] for m in shown} == {target.pk, twin.pk}
    _hide(Person.objects.get(pk=target.pk))
    shown = api.get(f"{BASE}/requests/{request.pk}/matches/").json()["results"]
    assert {m["person"]["id"] for m in shown} == {twin.pk}
    top = api.get(f"{BASE}/requests/{request.pk}/top/").json()["candidates"]
    assert target.pk not in {c["person"]["id"] for c in top}
    page = Client()
    page.force_login(staff)
    html = page.get(f"/registry/requests/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Gulnar Target" not in html and "Erlan Twin" in html
    assert "Too busy" not in html
