"""The API and the respondent pages give the same answer for the same wave rule (one service decides)."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from surveys.models import Invitation, PanelMember, Quota, Respondent, Response, Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.services.invitations import wave_invite
from surveys.tokens import invitation_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LANGUAGE = "ru"  # the reason comes back in the respondent's language on both paths


@pytest.fixture
def wave(graduate_version, bolashak):
    from surveys.models import Panel

    survey = graduate_version.survey
    survey.programme = bolashak
    survey.save()
    panel = Panel.objects.create(slug="alumni", name="Alumni", programme=bolashak)
    return Wave.objects.create(
        survey=survey,
        version=graduate_version,
        slug="grads",
        name="Graduates",
        panel=panel,
        is_public=True,
        opens_at=timezone.now() - dt.timedelta(days=1),
    )


def invited(wave, username: str):
    """A respondent with an account and an invitation to the wave; returns (user, invitation link)."""
    user = UserFactory(username=username)
    respondent = Respondent.objects.create(email=f"{username}@example.org", user=user)
    PanelMember.objects.create(panel=wave.panel, respondent=respondent, language=LANGUAGE)
    wave_invite(wave=wave)
    invitation = Invitation.objects.get(wave=wave, respondent=respondent)
    return user, f"/i/{invitation_token(invitation.token_nonce)}/"


# --------------------------------------------------------------------------- the rules


def closed(wave):
    Wave.objects.filter(pk=wave.pk).update(closes_at=timezone.now() - dt.timedelta(minutes=1))


def invitation_only(wave):
    Wave.objects.filter(pk=wave.pk).update(is_public=False)


def quota_full(wave):
    Quota.objects.create(wave=wave, name="Germany", conditions={"country_residence": "DEU"}, cap=1)
    api_submit(UserFactory(username="first"), wave)  # takes the only place


def already_answered(wave):
    pass  # the actor answers once before trying again (see below)


RULES = {
    # rule: (set-up, API status and code, page status)
    "closed": (closed, 403, "wave_closed", 403),
    "invitation_only": (invitation_only, 403, "invitation_required", 403),
    "quota_full": (quota_full, 409, "quota_full", 409),
    "already_answered": (already_answered, 409, "already_answered", 200),
}


# --------------------------------------------------------------------------- the two paths


def api_submit(user, wave):
    client = APIClient()
    client.force_authenticate(user)
    body = {
        "instance_id": str(uuid.uuid4()),
        "version": wave.version.number,
        "status": "complete",
        "language": LANGUAGE,
        "answers": SAMPLE_GRADUATE_ANSWERS,
        "wave": wave.slug,
    }
    return client.post(f"/api/v1/surveys/{wave.survey.slug}/responses/", body, format="json")


def page_submit(client: Client, url: str, instrument):
    """Walk the pages answering everything; the last answer the site gave."""
    response = client.get(url, {"lang": LANGUAGE})
    for _ in range(25):
        if response.status_code == 302:
            if "/done/" in response["Location"] or not response["Location"].startswith(url.split("?")[0]):
                return response
            response = client.get(response["Location"])
            continue
        if response.status_code != 200:
            return response
        body = response.content.decode()
        found = re.search(r'name="page" value="(\d+)"', body)
        if found is None:
            return response
        index = int(found.group(1))
        action = "finish" if 'value="finish" class="primary"' in body else "next"
        data = {"page": index, "action": action}
        data.update({k: v for k, v in SAMPLE_GRADUATE_ANSWERS.items() if k in instrument.pages[index].fields})
        response = client.post(url, data)
    raise AssertionError("the pages never finished")


def page_reason(response) -> str:
    found = re.search(r'<p class="lead"[^>]*>(.*?)</p>', response.content.decode(), re.S)
    return html_lib.unescape(found.group(1)).strip() if found else ""


@pytest.mark.parametrize("rule", list(RULES))
def test_the_api_and_the_pages_refuse_alike(rule, wave, graduate_version):
    set_up, api_status, api_code, page_status = RULES[rule]
    api_user, _ = invited(wave, "api-user")
    _page_user, page_link = invited(wave, "page-user")
    if rule == "already_answered":  # both answer once, through their own path, then try again
        assert api_submit(api_user, wave).status_code == 201
        assert page_submit(Client(), page_link, graduate_version.instrument)["Location"].endswith("/done/")
    else:  # a new response through the wave's public link
        page_link = f"/s/{wave.slug}/"
    if rule == "invitation_only":
        api_user = UserFactory(username="not-invited")
    set_up(wave)
    completes_before = Response.objects.filter(status=Response.Status.COMPLETE).count()

    by_api = api_submit(api_user, wave)
    client = Client()
    if page_link.startswith("/s/"):
        start = client.post(page_link, {"action": "start", "lang": LANGUAGE})
        by_page = (
            start if start.status_code != 302 else page_submit(client, start["Location"], graduate_version.instrument)
        )
    else:
        by_page = page_submit(client, page_link, graduate_version.instrument)

    assert (by_api.status_code, by_api.json()["code"]) == (api_status, api_code)
    assert by_page.status_code == page_status
    if rule != "already_answered":  # the pages say why, in the same words as the API
        assert page_reason(by_page).startswith(by_api.json()["detail"])
    else:  # an answered invitation reopens saying so, with the way to its thank-you page, never a form
        body = by_page.content.decode()
        assert 'id="already-submitted"' in body and 'name="page"' not in body
        assert re.search(r'href="/i/[^"]+/done/"', body)
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == completes_before


def test_an_api_response_through_an_invitation_moves_it_along_and_stops_its_reminders(wave):
    from surveys.models import OutgoingEmail

    user, _link = invited(wave, "reminded")
    invitation = Invitation.objects.get(wave=wave, respondent__user=user)
    assert invitation.emails.filter(status=OutgoingEmail.Status.PENDING).count() > 1  # invitation and reminders
    assert api_submit(user, wave).status_code == 201
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.COMPLETE and invitation.response is not None
    assert invitation.completed_at is not None
    assert not invitation.emails.filter(status=OutgoingEmail.Status.PENDING).exists()


@pytest.mark.parametrize("rule", ["closed", "quota_full"])
def test_a_resend_of_a_stored_response_is_still_accepted_after_the_wave_turns_others_away(rule, wave):
    user, _link = invited(wave, "resender")
    client = APIClient()
    client.force_authenticate(user)
    first = {"instance_id": str(uuid.uuid4()), "version": wave.version.number, "status": "complete",
             "language": LANGUAGE, "answers": SAMPLE_GRADUATE_ANSWERS, "wave": wave.slug}  # fmt: skip
    url = f"/api/v1/surveys/{wave.survey.slug}/responses/"
    assert client.post(url, first, format="json").status_code == 201
    RULES[rule][0](wave)
    assert client.post(url, first, format="json").status_code == 200
    assert client.post(url, {**first, "instance_id": str(uuid.uuid4())}, format="json").status_code in (403, 409)


def test_a_survey_fielded_only_through_waves_refuses_answers_without_one(wave):
    from surveys.models import Survey

    Survey.objects.filter(pk=wave.survey_id).update(direct_responses=False)
    client = APIClient()
    client.force_authenticate(UserFactory(username="outsider"))
    body = {"instance_id": str(uuid.uuid4()), "version": wave.version.number, "status": "complete",
            "language": LANGUAGE, "answers": SAMPLE_GRADUATE_ANSWERS}  # fmt: skip
    answer = client.post(f"/api/v1/surveys/{wave.survey.slug}/responses/", body, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "wave_required"
    assert not Response.objects.exists()


def test_opening_an_invitation_to_a_closed_wave_writes_nothing(wave, client):
    _user, link = invited(wave, "late")
    closed(wave)
    answer = client.get(link, {"lang": LANGUAGE})
    assert answer.status_code == 403 and not Response.objects.exists()
    assert Invitation.objects.get(respondent__email="late@example.org").status != Invitation.Status.OPENED


def test_an_opted_out_invitation_still_holds_one_response(wave):
    user, _link = invited(wave, "quiet")
    Invitation.objects.filter(respondent__user=user).update(status=Invitation.Status.OPTED_OUT)
    client = APIClient()
    client.force_authenticate(user)
    url = f"/api/v1/surveys/{wave.survey.slug}/responses/"
    partial = {"instance_id": str(uuid.uuid4()), "version": wave.version.number, "status": "partial",
               "language": LANGUAGE, "answers": {}, "wave": wave.slug}  # fmt: skip
    assert client.post(url, partial, format="json").status_code == 201
    again = client.post(url, {**partial, "instance_id": str(uuid.uuid4())}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_answered"
