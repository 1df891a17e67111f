# ruff: noqa: F811  (fixtures imported from the pages' own tests)
"""Staff views of lists of identifiable people are audited: one event per view, with the
filter, the number of rows shown and their ids; a respondent reading their own rows is not."""

import uuid

import pytest
from django.test import Client

from accounts.models import AuditEvent, Role
from diaspora.models import Participation
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.services import response_submit
from tests.diaspora.people import expert
from tests.diaspora.test_obligation_pages import world  # noqa: F401  (fixture)
from tests.factories import UserFactory
from tests.surveys.test_staff_pages import answer, owner, programme, wave  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _lists(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_a_staff_view_of_the_directory_page_records_the_people_shown_and_the_filter():
    shown = expert("erlan-member", visibility={"profile": "public"})
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert signed_in(root).get("/registry/people/?skill=hydrology").status_code == 200
    [event] = _lists("list.person")
    assert event.actor == root and event.target == "diaspora.Person:list"
    assert event.detail["query"] == {"skill": "hydrology"}
    assert event.detail["rows"] == 1 and event.detail["ids"] == [shown.pk]


def test_a_staff_view_of_the_directory_api_records_the_page_read():
    people = [expert(f"expert-{n}", visibility={"profile": "public"}) for n in range(3)]
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    answer = signed_in(root).get("/api/v1/registry/people/?limit=2")
    assert answer.status_code == 200 and answer.json()["count"] == 3
    [event] = _lists("list.person")
    assert event.detail["rows"] == 2 and set(event.detail["ids"]) < {p.pk for p in people}
    assert event.detail["ids"] == [row["id"] for row in answer.json()["results"]]


def test_a_member_browsing_the_directory_is_not_a_staff_read():
    expert("erlan-member", visibility={"profile": "public"})
    member = expert("aigul-member", visibility={"profile": "public"})
    assert signed_in(member.user).get("/registry/people/").status_code == 200
    assert signed_in(member.user).get("/api/v1/registry/people/").status_code == 200
    assert not AuditEvent.objects.filter(action__startswith="list.").exists()


def test_the_participants_list_records_its_filters_page_and_programme(world):
    admin = world["admin"]
    page = signed_in(admin).get("/registry/returns/participants/?programme=bolashak&cohort=2017")
    assert page.status_code == 200
    [event] = _lists("list.participation")
    listed = Participation.objects.filter(programme__slug="bolashak", cohort=2017)
    assert event.actor == admin and event.programme_id == world["mine"].programme_id
    assert event.detail["query"] == {"programme": "bolashak", "cohort": "2017"}
    assert event.detail["rows"] == min(listed.count(), 25) and set(event.detail["ids"]) <= set(
        listed.values_list("pk", flat=True)
    )
    assert world["serpin"].pk not in event.detail["ids"]


def test_the_at_risk_lists_of_the_returns_page_and_the_api_are_recorded(world):
    at_risk = list(Participation.objects.filter(external_id__in=["B-3", "B-5"]).order_by("pk"))
    Participation.objects.update(at_risk=False)
    Participation.objects.filter(pk__in=[p.pk for p in at_risk]).update(at_risk=True)
    client = signed_in(world["admin"])
    assert client.get("/registry/returns/?programme=bolashak").status_code == 200
    assert client.get("/api/v1/registry/obligations/at-risk/?programme=bolashak").status_code == 200
    events = _lists("list.participation")
    assert len(events) == 2
    for event in events:
        assert event.detail["query"] == {"at_risk": "1"} and event.programme_id == at_risk[0].programme_id
        assert sorted(event.detail["ids"]) == [p.pk for p in at_risk] and event.detail["rows"] == 2


def test_a_participant_reading_their_own_obligations_is_not_recorded(world):
    mine = signed_in(world["member"]).get("/api/v1/registry/me/obligations/")
    assert mine.status_code == 200 and [p["id"] for p in mine.json()] == [world["mine"].pk]
    assert signed_in(world["member"]).get(f"/registry/returns/participants/{world['mine'].pk}/").status_code == 200
    assert not AuditEvent.objects.filter(action__startswith="list.").exists()


def test_the_responses_and_text_answers_pages_record_the_responses_shown(owner, wave):
    newest = answer(wave, {**SAMPLE_GRADUATE_ANSWERS, "city_residence": "Almaty"})
    assert owner.get(f"/staff/waves/{wave.slug}/responses/?status=complete").status_code == 200
    assert owner.get(f"/staff/waves/{wave.slug}/questions/city_residence/answers/").status_code == 200
    table, texts = _lists("list.response")
    complete = wave.responses.filter(status="complete")
    assert table.detail["query"] == {"wave": wave.slug, "status": "complete"}
    assert sorted(table.detail["ids"]) == sorted(complete.values_list("pk", flat=True))
    assert table.programme_id == wave.survey.programme_id and table.target == "surveys.Response:list"
    assert texts.detail["query"] == {"wave": wave.slug, "question": "city_residence", "status": "complete"}
    assert texts.detail["ids"][0] == newest.pk


def test_the_questions_page_lists_no_one_and_records_no_list(owner, wave):
    assert owner.get(f"/staff/waves/{wave.slug}/questions/").status_code == 200
    assert not AuditEvent.objects.filter(action="list.response").exists()


def test_a_respondent_listing_their_own_responses_is_not_recorded(graduate_version):
    me = UserFactory(username="aigerim", role=Role.RESPONDENT)
    response_submit(version=graduate_version, respondent=me, instance_id=uuid.uuid4(), status="complete",
                    answers=SAMPLE_GRADUATE_ANSWERS, language="en")  # fmt: skip
    listed = signed_in(me).get(f"/api/v1/surveys/{graduate_version.survey.slug}/responses/")
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert not AuditEvent.objects.filter(action__startswith="list.").exists()
