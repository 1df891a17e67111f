"""Offers on the pages: staff offer from the top 20 with a note and a preview; the expert answers
from the message (confirming once), replies, and sees their profile as an institution does."""

from __future__ import annotations

import re

import pytest
from django.utils.html import escape

from diaspora.models import Match, Message, Person
from diaspora.services import lifecycle
from diaspora.services.registry import person_set_status
from tests.diaspora.people import expert, expertise_request, institution

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(client):
    person = expert("erlan", capacity=3)
    inst, staff = institution()
    request = expertise_request(staff, inst)
    return person, staff, request


def offer_url(request, person):
    return f"/registry/requests/{request.pk}/experts/{person.pk}/offer/"


def made_offer(scene, note=""):
    person, staff, request = scene
    return lifecycle.request_offer_person(request=request, person_id=person.pk, user=staff, note=note).match


# --------------------------------------------------------------------------- the institution


def test_the_top_list_lets_staff_start_an_offer_with_a_note(client, scene):
    person, staff, request = scene
    client.force_login(staff)
    html = client.get(f"/registry/requests/{request.pk}/experts/").content.decode()
    assert f'action="{offer_url(request, person)}"' in html and f'name="p{person.pk}-note"' in html


def test_the_offer_page_previews_the_message_with_the_note_escaped(client, scene):
    person, staff, request = scene
    client.force_login(staff)
    response = client.post(offer_url(request, person), {f"p{person.pk}-note": "<i>Welcome</i>", "preview": "1"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="preview-body"' in html
    assert escape("<i>Welcome</i>") in html and "<i>Welcome</i>" not in html
    assert "Hydrology co-supervisor" in html and not request.matches.exists()


def test_sending_from_the_offer_page_makes_the_offer_once(client, scene):
    person, staff, request = scene
    client.force_login(staff)
    data = {f"p{person.pk}-note": "Hello", "send": "1"}
    response = client.post(offer_url(request, person), data)
    match = Match.objects.get(request=request, person=person)
    assert response.status_code == 302 and response["Location"].endswith(f"#match-{match.pk}")
    client.post(offer_url(request, person), data)
    assert Message.objects.filter(recipient=person.user).count() == 1
    html = client.get(offer_url(request, person)).content.decode()
    assert 'id="offer-asked"' in html and 'id="offer-send"' not in html


def test_a_note_over_the_limit_is_shown_as_an_error_and_kept(client, scene):
    person, staff, request = scene
    client.force_login(staff)
    response = client.post(offer_url(request, person), {f"p{person.pk}-note": "x" * 1001, "send": "1"})
    assert response.status_code == 400 and 'id="error-summary"' in response.content.decode()
    assert "x" * 1001 in response.content.decode() and not request.matches.exists()


def test_an_expert_who_paused_meanwhile_sends_staff_back_to_a_fresh_list_with_the_reason(client, scene):
    person, staff, request = scene
    client.force_login(staff)
    person_set_status(person=person, status=Person.Status.PAUSED)
    response = client.post(offer_url(request, person), {"send": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/registry/requests/{request.pk}/experts/"
    assert "no longer receives proposals" in response.content.decode()
    assert not request.matches.exists()


def test_another_institutions_staff_get_a_404(client, scene):
    person, _staff, request = scene
    _other, outsider = institution(name="Satbayev University", region="KZ-75", staff_username="almaty-staff")
    client.force_login(outsider)
    assert client.get(offer_url(request, person)).status_code == 404
    assert client.post(offer_url(request, person), {"send": "1"}).status_code == 404
    assert not request.matches.exists()


def test_the_request_page_shows_the_experts_reply(client, scene):
    person, staff, request = scene
    match = made_offer(scene)
    client.force_login(person.user)
    offer_message = Message.objects.get(recipient=person.user)
    client.post(f"/registry/messages/{offer_message.pk}/", {"body": "Which semester?"})
    client.force_login(staff)
    html = client.get(f"/registry/requests/{request.pk}/").content.decode()
    assert f'id="thread-{match.pk}" open' in html and "Which semester?" in html


# --------------------------------------------------------------------------- the expert


def test_the_offer_message_carries_accept_and_decline_that_ask_first(client, scene):
    person, _staff, _request = scene
    match = made_offer(scene)
    message = Message.objects.get(recipient=person.user)
    client.force_login(person.user)
    html = client.get(f"/registry/messages/{message.pk}/").content.decode()
    assert f"/registry/me/offers/{match.pk}/accept/?next=/registry/messages/{message.pk}/" in html
    assert 'id="offer-decline"' in html and 'name="body"' in html  # it can be answered
    confirm = client.get(f"/registry/me/offers/{match.pk}/accept/?next=/registry/messages/{message.pk}/")
    assert confirm.status_code == 200 and "Quarterly limit: 1 of 3 engagements used" in confirm.content.decode()
    match.refresh_from_db()
    assert match.status == Match.Status.OFFERED  # asking changed nothing


def test_accepting_returns_to_the_message_showing_the_limit_used(client, scene):
    person, _staff, _request = scene
    match = made_offer(scene)
    message = Message.objects.get(recipient=person.user)
    client.force_login(person.user)
    response = client.post(
        f"/registry/me/offers/{match.pk}/accept/", {"next": f"/registry/messages/{message.pk}/"}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == f"/registry/messages/{message.pk}/"
    assert 'id="offer-status">Accepted' in html and "Quarterly limit: 1 of 3 engagements used" in html
    assert 'id="offer-accept"' not in html
    me = client.get("/registry/me/").content.decode()
    assert f'id="limit-{match.pk}">Quarterly limit: 1 of 3 engagements used' in me


def test_declining_keeps_a_too_long_reason_and_says_why(client, scene):
    person, _staff, _request = scene
    match = made_offer(scene)
    client.force_login(person.user)
    response = client.post(f"/registry/me/offers/{match.pk}/decline/", {f"m{match.pk}-reason": "y" * 301})
    assert response.status_code == 400 and "y" * 301 in response.content.decode()
    match.refresh_from_db()
    assert match.status == Match.Status.OFFERED
    client.post(f"/registry/me/offers/{match.pk}/decline/", {f"m{match.pk}-reason": "Busy"})
    match.refresh_from_db()
    assert match.status == Match.Status.DECLINED and match.decline_reason == "Busy"


def test_an_answer_never_leaves_for_another_site(client, scene):
    person, _staff, _request = scene
    match = made_offer(scene)
    client.force_login(person.user)
    response = client.post(f"/registry/me/offers/{match.pk}/accept/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/registry/me/#engagement-{match.pk}"


def test_someone_elses_offer_is_a_404(client, scene):
    match = made_offer(scene)
    other = expert("saule")
    client.force_login(other.user)
    assert client.get(f"/registry/me/offers/{match.pk}/accept/").status_code == 404
    assert client.post(f"/registry/me/offers/{match.pk}/accept/").status_code == 404


def test_the_profile_links_to_the_offer_answers_and_to_the_institution_view(client, scene):
    person, _staff, _request = scene
    match = made_offer(scene)
    client.force_login(person.user)
    html = client.get("/registry/me/").content.decode()
    assert f'href="/registry/me/offers/{match.pk}/accept/"' in html and 'href="/registry/me/as-institution/"' in html


def test_the_expert_sees_their_profile_as_an_institution_does(client):
    person = expert("erlan", city="Berlin", bio="Hydrologist in Berlin")  # location: administrators only
    client.force_login(person.user)
    html = client.get("/registry/me/as-institution/").content.decode()
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Hydrologist in Berlin" in text and "Institutions find you in the directory." in text
    assert 'id="preview-hidden"' in html and "Where you live" in text
    assert "Germany" not in text  # the country is in the hidden location group


def test_a_hidden_profile_shows_the_expert_that_institutions_see_nothing(client):
    person = expert("erlan", visibility={"profile": "hidden"})
    client.force_login(person.user)
    html = client.get("/registry/me/as-institution/").content.decode()
    assert 'id="preview-nothing"' in html and "Institutions do not find you in the directory." in html


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_offer_pages_open_in_each_language(client, scene, language):
    person, staff, request = scene
    client.force_login(staff)
    client.cookies["django_language"] = language
    assert client.get(f"/registry/requests/{request.pk}/experts/").status_code == 200
    page = client.get(offer_url(request, person))
    assert page.status_code == 200 and f'<html lang="{language}"' in page.content.decode()
    match = made_offer(scene)
    client.force_login(person.user)
    client.cookies["django_language"] = language
    message = Message.objects.get(recipient=person.user)
    assert client.get(f"/registry/messages/{message.pk}/").status_code == 200
    assert client.get(f"/registry/me/offers/{match.pk}/accept/").status_code == 200
    assert client.get("/registry/me/as-institution/").status_code == 200
