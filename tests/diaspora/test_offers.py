"""An institution offers a request to one expert now: re-checks, idempotence, the message, replies, e-mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from diaspora.models import Consent, Match, Message, Mode, Person
from diaspora.selectors_offers import match_thread, offer_use, person_as_institution_sees
from diaspora.services import lifecycle
from diaspora.services.lifecycle import TransitionRefused
from diaspora.services.messages import OFFER_NOTE_MAX, message_notify, message_reply
from diaspora.services.registry import consent_withdraw, person_set_status
from diaspora.templatetags.diaspora_offers import limit_text
from tests.diaspora.people import client_for, expert, expertise_request, institution

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene():
    person = expert("erlan")
    inst, staff = institution()
    return person, staff, expertise_request(staff, inst)


def offer(scene, note=""):
    person, staff, request = scene
    return lifecycle.request_offer_person(request=request, person_id=person.pk, user=staff, note=note)


# --------------------------------------------------------------------------- making the offer


def test_an_offer_from_the_top_list_is_sent_to_the_expert_from_the_staff_member(scene):
    person, staff, request = scene
    made = offer(scene, note="We would be glad to work with you.")
    assert made.sent and made.match.status == Match.Status.OFFERED and made.match.expires_at > timezone.now()
    assert made.match.components and made.match.details["shared_skills"] == ["gis", "hydrology"]
    message = Message.objects.get(recipient=person.user)
    assert message.sender == staff and message.match == made.match
    assert "Hydrology co-supervisor" in message.subject and "Toraighyrov University" in message.subject
    assert "Toraighyrov University" in message.body and "We would be glad to work with you." in message.body


def test_offering_the_same_expert_twice_sends_one_offer(scene):
    person, _staff, _request = scene
    first = offer(scene)
    second = offer(scene, note="Again")
    assert second.sent is False and second.match.pk == first.match.pk
    assert Message.objects.filter(recipient=person.user).count() == 1


def test_the_offer_is_written_in_the_experts_language(scene):
    person, _staff, _request = scene
    person.user.preferred_language = "ru"
    person.user.save()
    offer(scene)
    with translation.override("ru"):
        mode = str(Mode.CO_SUPERVISION.label)
    assert mode != "Co-supervision"
    assert mode in Message.objects.get(recipient=person.user).body


def test_an_expert_who_paused_since_the_list_was_shown_is_not_offered(scene):
    person, _staff, request = scene
    person_set_status(person=person, status=Person.Status.PAUSED)
    with pytest.raises(TransitionRefused, match="no longer receives proposals"):
        offer(scene)
    assert not request.matches.exists()


def test_an_expert_who_withdrew_consent_to_proposals_is_not_offered(scene):
    person, _staff, request = scene
    consent_withdraw(person=person, purpose=Consent.Purpose.MATCHING)
    with pytest.raises(TransitionRefused, match="no longer receives proposals"):
        offer(scene)


def test_an_expert_whose_quarterly_limit_is_used_up_is_refused_with_the_reason(scene):
    person, staff, request = scene
    other = expertise_request(staff, request.institution, title="Another thesis")
    for title in ("One", "Two"):  # capacity 2: both taken by accepted engagements this quarter
        taken = expertise_request(staff, request.institution, title=title)
        Match.objects.create(request=taken, person=person, offer=person.offers.get(), score=0.5,
                             status=Match.Status.ACCEPTED, responded_at=timezone.now())  # fmt: skip
    with pytest.raises(TransitionRefused, match="quarterly limit"):
        lifecycle.request_offer_person(request=other, person_id=person.pk, user=staff)


def test_an_expert_who_declined_is_not_asked_again(scene):
    person, _staff, request = scene
    made = offer(scene)
    lifecycle.match_decline(match=made.match, user=person.user)
    with pytest.raises(TransitionRefused, match="already asked"):
        offer(scene)


def test_a_request_whose_places_are_held_is_not_offered_to_more_experts(scene):
    _person, staff, request = scene
    offer(scene)
    second = expert("saule")
    with pytest.raises(TransitionRefused, match="place"):
        lifecycle.request_offer_person(request=request, person_id=second.pk, user=staff)


def test_a_closed_request_is_not_offered(scene):
    _person, _staff, request = scene
    request.status = request.Status.CLOSED
    request.save()
    with pytest.raises(TransitionRefused, match="only an open request"):
        offer(scene)


def test_staff_of_another_institution_cannot_offer_the_request(scene):
    person, _staff, request = scene
    _other, outsider = institution(name="Satbayev University", region="KZ-75", staff_username="almaty-staff")
    with pytest.raises(TransitionRefused):
        lifecycle.request_offer_person(request=request, person_id=person.pk, user=outsider)
    assert not request.matches.exists()


def test_a_nightly_proposal_is_offered_by_the_same_service(scene):
    person, staff, request = scene
    proposal = Match.objects.create(request=request, person=person, offer=person.offers.get(), score=0.7,
                                    components={"skills": 1.0}, details={"mode": "co_supervision"})  # fmt: skip
    made = offer(scene, note="Directly")
    assert made.match.pk == proposal.pk and request.matches.count() == 1
    proposal.refresh_from_db()
    assert proposal.status == Match.Status.OFFERED


# --------------------------------------------------------------------------- the note and the preview


def test_the_note_is_kept_as_plain_text(scene):
    person, _staff, _request = scene
    offer(scene, note="  <b>Hello</b>\r\nSecond line\x07  ")
    body = Message.objects.get(recipient=person.user).body
    assert "<b>Hello</b>\nSecond line" in body and "\x07" not in body and "\r" not in body


def test_a_note_over_the_limit_is_refused_and_nothing_is_sent(scene):
    person, _staff, request = scene
    with pytest.raises(TransitionRefused, match=str(OFFER_NOTE_MAX)):
        offer(scene, note="x" * (OFFER_NOTE_MAX + 1))
    assert not request.matches.exists() and not Message.objects.filter(recipient=person.user).exists()


def test_the_preview_is_exactly_the_message_sent(scene):
    person, staff, request = scene
    draft = lifecycle.offer_preview(request=request, person_id=person.pk, user=staff, note="See you in Pavlodar")
    assert not request.matches.exists()  # a preview writes nothing
    offer(scene, note="See you in Pavlodar")
    message = Message.objects.get(recipient=person.user)
    assert (draft.subject, draft.body, draft.language) == (message.subject, message.body, "kk")


def test_region_ties_are_left_out_when_the_institution_may_not_see_where_the_expert_lives(scene):
    person, _staff, _request = scene  # location visible to administrators only (the default)
    offer(scene)
    with translation.override("kk"):
        ties = translation.gettext("has ties to the request's region")
    assert ties not in Message.objects.get(recipient=person.user).body


def test_region_ties_are_named_when_the_institution_may_see_them():
    person = expert("erlan", visibility={"location": "institutions"})
    inst, staff = institution()
    request = expertise_request(staff, inst)
    lifecycle.request_offer_person(request=request, person_id=person.pk, user=staff)
    with translation.override("kk"):
        ties = translation.gettext("has ties to the request's region")
    assert ties in Message.objects.get(recipient=person.user).body


# --------------------------------------------------------------------------- answers, replies, e-mail


def test_accepting_shows_the_quarterly_limit_used(scene):
    person, _staff, _request = scene
    made = offer(scene)
    lifecycle.match_accept(match=made.match, user=person.user)
    use = offer_use(made.match)
    assert (use.used, use.capacity) == (1, 2)
    with translation.override("en"):
        assert limit_text(use) == "Quarterly limit: 1 of 2 engagements used"


def test_the_expert_replies_to_a_platform_offer_and_the_institution_receives_it(scene):
    person, staff, request = scene
    Match.objects.create(request=request, person=person, offer=person.offers.get(), score=0.7)
    lifecycle.request_offer_proposals(request=request)  # the platform offers: no sender
    notice = Message.objects.get(recipient=person.user)
    assert notice.sender is None
    reply = message_reply(sender=person.user, original=notice, body="What dates do you have in mind?")
    assert reply.recipient == staff and reply.match == notice.match
    answer = message_reply(sender=staff, original=reply, body="September, remotely.")
    assert answer.recipient == person.user
    assert [m.pk for m in match_thread(notice.match)] == [notice.pk, reply.pk, answer.pk]


def test_the_thread_leaves_out_notices_to_the_institution(scene):
    person, _staff, _request = scene
    made = offer(scene)
    lifecycle.match_accept(match=made.match, user=person.user)  # notifies the staff
    assert [m.recipient for m in match_thread(made.match)] == [person.user]


def test_the_offer_email_names_the_institution_and_request_and_links_to_the_site(scene, settings):
    settings.SITE_URL = "https://kelu.example.kz"
    person, _staff, _request = scene
    offer(scene)
    message = Message.objects.get(recipient=person.user)
    assert message_notify(message_id=message.pk)
    sent = mail.outbox[-1]
    assert sent.to == [person.user.email] and "Hydrology co-supervisor" in sent.subject
    assert "Toraighyrov University" in sent.body and "Hydrology co-supervisor" in sent.body
    assert f"https://kelu.example.kz/registry/messages/{message.pk}/" in sent.body
    assert not message_notify(message_id=message.pk)  # mailed once


# --------------------------------------------------------------------------- as an institution sees it


def test_an_institution_sees_the_profile_without_the_groups_hidden_from_it():
    person = expert("erlan", city="Berlin")  # location: administrators only
    seen = person_as_institution_sees(person)
    assert seen.listed and seen.matchable
    assert seen.card["display_name"] == "Erlan" and "skills" in seen.card
    assert "country" not in seen.card and "city" not in seen.card and "location" not in seen.groups


def test_an_institution_sees_nothing_of_a_hidden_profile():
    person = expert("erlan", visibility={"profile": "hidden"})
    seen = person_as_institution_sees(person)
    assert (seen.listed, seen.matchable, seen.card) == (False, False, None)


# --------------------------------------------------------------------------- the API


def test_the_api_offers_and_answers_again_without_sending_twice(scene):
    person, staff, request = scene
    client = client_for(staff)
    url = f"/api/v1/registry/requests/{request.pk}/offers/"
    first = client.post(url, {"person": person.pk, "note": "Hello"}, format="json")
    assert first.status_code == 201 and first.json()["status"] == "offered" and first.json()["sent"] is True
    again = client.post(url, {"person": person.pk}, format="json")
    assert again.status_code == 200 and again.json() == {**first.json(), "sent": False}
    assert Message.objects.filter(recipient=person.user).count() == 1


def test_the_api_previews_the_message(scene):
    person, staff, request = scene
    response = client_for(staff).post(
        f"/api/v1/registry/requests/{request.pk}/offers/preview/", {"person": person.pk, "note": "Hi"}, format="json"
    )
    assert response.status_code == 200 and response.json()["language"] == "kk"
    assert "Hi" in response.json()["body"] and not request.matches.exists()


def test_the_api_names_a_bad_note_and_refuses_an_impossible_offer(scene):
    person, staff, request = scene
    client = client_for(staff)
    url = f"/api/v1/registry/requests/{request.pk}/offers/"
    long = client.post(url, {"person": person.pk, "note": "x" * (OFFER_NOTE_MAX + 1)}, format="json")
    assert long.status_code == 400 and "note" in long.json()
    person_set_status(person=person, status=Person.Status.PAUSED)
    refused = client.post(url, {"person": person.pk}, format="json")
    assert refused.status_code == 409 and "no longer receives proposals" in refused.json()["detail"]


def test_another_institutions_staff_get_a_404_from_the_api(scene):
    person, _staff, request = scene
    _other, outsider = institution(name="Satbayev University", region="KZ-75", staff_username="almaty-staff")
    response = client_for(outsider).post(
        f"/api/v1/registry/requests/{request.pk}/offers/", {"person": person.pk}, format="json"
    )
    assert response.status_code == 404


def test_an_expired_offer_leaves_the_limit_as_it_was(scene):
    person, _staff, _request = scene
    made = offer(scene)
    Match.objects.filter(pk=made.match.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    lifecycle.matches_expire_due()
    assert offer_use(made.match).used == 0


def test_a_proposal_whose_expert_has_no_room_left_is_not_offered(scene):
    person, staff, request = scene
    proposal = Match.objects.create(request=request, person=person, offer=person.offers.get(), score=0.7)
    for title in ("One", "Two"):  # capacity 2, both taken since the nightly run
        taken = expertise_request(staff, request.institution, title=title)
        Match.objects.create(request=taken, person=person, offer=person.offers.get(), score=0.5,
                             status=Match.Status.ACCEPTED, responded_at=timezone.now())  # fmt: skip
    with pytest.raises(TransitionRefused, match="quarterly limit"):
        offer(scene)
    proposal.refresh_from_db()
    assert proposal.status == Match.Status.PROPOSED
