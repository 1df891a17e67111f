import datetime as dt
import re

import pytest
from django.utils import timezone

from surveys.models import Invitation, OutgoingEmail, Panel, PanelMember, Quota, Respondent, Response, Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.tokens import invitation_token, new_nonce, token_hash


@pytest.fixture
def wave(graduate_version):
    panel = Panel.objects.create(slug="bolashak-2020", name="Bolashak 2020")
    return Wave.objects.create(
        survey=graduate_version.survey, version=graduate_version, slug="grad-2026", name="Graduates 2026", panel=panel
    )


def invite(wave, email="aigerim@example.kz", language="kk"):
    respondent, _ = Respondent.objects.get_or_create(email=email)
    PanelMember.objects.get_or_create(panel=wave.panel, respondent=respondent, defaults={"language": language})
    nonce = new_nonce()
    token = invitation_token(nonce)
    invitation = Invitation.objects.create(
        wave=wave,
        respondent=respondent,
        token_nonce=nonce,
        token_hash=token_hash(token),
        language=language,
        status=Invitation.Status.SENT,
        sent_at=timezone.now(),
    )
    return invitation, f"/i/{token}/"


def page_of(html):
    return int(re.search(r'name="page" value="(\d+)"', html).group(1))


def answer_everything(client, url, instrument, answers, lang="en"):
    """Walk the pages like a respondent, answering what each page asks."""
    response = client.get(url, {"lang": lang})
    for _ in range(20):
        if response.status_code == 302:
            if "/done/" in response["Location"]:
                return response
            response = client.get(response["Location"])
            continue
        html = response.content.decode()
        index = page_of(html)
        names = set(instrument.pages[index].fields)
        data = {"page": index, "action": "finish" if 'value="finish" class="primary"' in html else "next"}
        for name, value in answers.items():
            if name in names:
                data[name] = value
        response = client.post(url, data)
        assert response.status_code == 302, re.findall(r'class="field-error"[^>]*>([^<]+)<', response.content.decode())
    raise AssertionError("never finished")


def test_an_invitation_link_opens_the_survey_in_the_invitations_language(client, wave):
    invitation, url = invite(wave, language="kk")
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="kk"' in html and "Түлектердің елге оралу ниеті туралы сауалнама" in html
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.OPENED and invitation.response is not None


def test_a_wrong_link_is_a_404_that_says_why(client, wave):
    response = client.get("/i/not-a-real-token-but-long-enough/")
    assert response.status_code == 404


def test_moving_on_without_a_required_answer_shows_its_message(client, wave):
    _, url = invite(wave, language="ru")
    client.get(url)
    response = client.post(url, {"page": 1, "action": "next"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-summary"' in html and "autofocus" in html
    assert re.search(r'id="err-country_residence"[^>]*>[^<]+<', html)


def test_valid_answers_are_saved_even_when_another_answer_on_the_page_is_not(client, wave):
    invitation, url = invite(wave)
    client.get(url)
    response = client.post(
        url,
        {
            "page": 2,
            "action": "next",
            "respondent_status": "graduated",
            "departure_year": "long ago",
            "study_level": "master",
        },
    )
    assert response.status_code == 400
    assert "long ago" in response.content.decode()  # the entry stays on the page to be corrected
    stored = Response.objects.get(pk=Invitation.objects.get(pk=invitation.pk).response_id)
    assert stored.answers["study_level"] == "master" and "departure_year" not in stored.answers


def test_relevance_skips_pages_that_do_not_apply(client, wave):
    _, url = invite(wave)
    client.get(url)
    answers = {
        "respondent_status": "studying",
        "study_level": "master",
        "field_of_study": "f06_ict",
        "programme": "bolashak",
        "departure_year": "2022",
        "expected_graduation_year": "2027",
    }
    response = client.post(url, {"page": 2, "action": "next", **answers})
    assert response.status_code == 302
    next_page = client.get(response["Location"]).content.decode()
    assert "employment_status" not in next_page  # the employment page is for graduates only
    assert 'name="return_intention"' in next_page


def test_the_page_script_gets_relevance_from_the_server(client, wave):
    _, url = invite(wave)
    client.get(url)
    studying = client.post(f"{url}save/", {"page": 2, "respondent_status": "studying"}).json()
    graduated = client.post(f"{url}save/", {"page": 2, "respondent_status": "graduated"}).json()
    assert "expected_graduation_year" in studying["visible"] and "graduation_year" not in studying["visible"]
    assert "graduation_year" in graduated["visible"] and "expected_graduation_year" not in graduated["visible"]


def test_switching_language_keeps_the_answers(client, wave):
    _, url = invite(wave, language="kk")
    client.get(url)
    response = client.post(url, {"page": 1, "lang": "ru", "country_residence": "DEU", "city_residence": "Берлин"})
    assert response.status_code == 302 and "lang=ru" in response["Location"]
    html = client.get(response["Location"]).content.decode()
    assert 'lang="ru"' in html and "Берлин" in html and 'value="DEU" selected' in html


def test_the_link_reopens_at_the_last_page_with_the_answers_in_place(client, wave):
    _, url = invite(wave)
    client.get(url)
    client.post(url, {"page": 1, "action": "next", "country_residence": "DEU", "city_residence": "Berlin"})
    client.post(url, {"page": 2, "action": "stay", "study_level": "master"})
    client.cookies.clear()
    html = client.get(url).content.decode()
    assert page_of(html) == 2
    assert re.search(r'value="master" checked', html)


def test_submitting_completes_the_response_and_the_invitation(client, wave, graduate_version):
    invitation, url = invite(wave)
    OutgoingEmail.objects.create(invitation=invitation, sequence=1, due_at=timezone.now() + dt.timedelta(days=3))
    done = answer_everything(client, url, graduate_version.instrument, SAMPLE_GRADUATE_ANSWERS)
    html = client.get(done["Location"]).content.decode()
    assert "Join the diaspora registry" in html  # consent_registry = yes
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.COMPLETE
    assert invitation.response.status == Response.Status.COMPLETE
    assert invitation.response.answers["barrier_salary"] == "5"
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.CANCELLED
    again = client.get(url).content.decode()  # the link now says so and leads to the thank-you page
    assert 'id="already-submitted"' in again and f'href="{done["Location"]}"' in again


def test_a_public_link_starts_a_response_with_a_resume_link(client, graduate_version):
    Wave.objects.create(
        survey=graduate_version.survey, version=graduate_version, slug="open", name="Open", is_public=True
    )
    assert client.get("/s/open/").status_code == 200
    started = client.post("/s/open/", {"action": "start", "lang": "en"})
    resume = started["Location"]
    assert resume.startswith("/r/")
    assert "keep this link" in client.get(resume).content.decode()
    again = client.get("/s/open/")  # the same browser returns to its response
    assert again["Location"] == resume
    assert Response.objects.count() == 1


def test_a_closed_wave_says_so(client, wave):
    _, url = invite(wave)
    Wave.objects.filter(pk=wave.pk).update(closes_at=timezone.now() - dt.timedelta(hours=1))
    response = client.get(url, {"lang": "en"})
    assert "not open for answers" in response.content.decode()


def test_a_full_quota_cell_turns_away_further_respondents(client, wave, graduate_version):
    Quota.objects.create(
        wave=wave, name="Germany, Bolashak", cap=1, conditions={"country_residence": "DEU", "programme": "bolashak"}
    )
    _, first = invite(wave, "first@example.kz")
    answer_everything(client, first, graduate_version.instrument, SAMPLE_GRADUATE_ANSWERS)
    _, second = invite(wave, "second@example.kz")
    client.get(second, {"lang": "en"})
    response = client.get(second)
    with pytest.raises(AssertionError):
        answer_everything(client, second, graduate_version.instrument, SAMPLE_GRADUATE_ANSWERS)
    assert response.status_code == 200
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == 1
    assert Quota.objects.get().closed_at is not None


def test_a_new_wave_carries_selected_answers_forward(client, wave, graduate_version):
    _, url = invite(wave, "returning@example.kz")
    answer_everything(client, url, graduate_version.instrument, SAMPLE_GRADUATE_ANSWERS)
    later = Wave.objects.create(
        survey=graduate_version.survey,
        version=graduate_version,
        slug="grad-2027",
        name="Graduates 2027",
        panel=wave.panel,
        prefill_fields=["country_residence"],
    )
    _, next_url = invite(later, "returning@example.kz")
    client.get(next_url)
    html = client.get(next_url, {"page": 1, "lang": "en"}).content.decode()
    assert 'value="DEU" selected' in html and "Filled in from your previous answer" in html


# --------------------------------------------------------------------------- back button, language switch


def test_going_back_to_a_submitted_response_says_it_was_submitted_and_links_to_the_thank_you_page(
    client, wave, graduate_version
):
    _, url = invite(wave, language="ru")
    done = answer_everything(client, url, graduate_version.instrument, SAMPLE_GRADUATE_ANSWERS, lang="ru")
    back = client.get(url, {"page": 9, "lang": "ru"})  # what the back button asks for
    html = back.content.decode()
    assert back.status_code == 200 and "no-store" in back["Cache-Control"]
    assert "Вы уже отправили свои ответы" in html and f'href="{done["Location"]}"' in html
    assert 'id="page-form"' not in html


def test_the_page_forbids_the_browser_to_keep_a_stale_copy(client, wave):
    _, url = invite(wave)
    assert "no-store" in client.get(url)["Cache-Control"]


def test_a_save_after_submitting_is_refused_as_submitted_not_as_a_lost_connection(client, wave, graduate_version):
    _, url = invite(wave)
    done = answer_everything(client, url, graduate_version.instrument, SAMPLE_GRADUATE_ANSWERS)
    refused = client.post(f"{url}save/", {"page": 2, "respondent_status": "studying"})
    assert refused.status_code == 409
    assert refused.json() == {"saved": False, "reason": "submitted", "done_url": done["Location"]}
    assert client.get(f"{url}save/").status_code == 409  # the restored page's check


def test_a_save_on_a_closed_wave_says_why_in_the_respondents_language(client, wave):
    _, url = invite(wave, language="kk")
    client.get(url)
    Wave.objects.filter(pk=wave.pk).update(closes_at=timezone.now() - dt.timedelta(hours=1))
    refused = client.post(f"{url}save/", {"page": 1, "city_residence": "Берлин"})
    assert refused.status_code == 409 and refused.json()["reason"] == "closed"
    assert refused.json()["message"] and "closed" not in refused.json()["message"]


def test_the_status_check_of_an_open_response_saves_nothing(client, wave):
    invitation, url = invite(wave)
    client.get(url)
    assert client.get(f"{url}save/").json() == {"status": "partial"}
    stored = Response.objects.get(pk=Invitation.objects.get(pk=invitation.pk).response_id)
    assert stored.answers == {}


def test_the_page_carries_its_failure_messages_next_to_the_buttons(client, wave):
    _, url = invite(wave, language="kk")
    html = client.get(url, {"page": 1}).content.decode()
    assert 'id="actions-status"' in html and 'id="languages-status"' in html
    assert 'data-submitted-message="' in html and 'data-done-url="/i/' in html


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_switching_language_shows_no_errors_for_questions_not_yet_answered(client, language, graduate_version):
    from surveys.demo import instruments_load

    for version in instruments_load():
        panel = Panel.objects.create(slug=f"p-{version.survey.slug}", name="Panel")
        wave = Wave.objects.create(
            survey=version.survey, version=version, slug=f"w-{version.survey.slug}", name="Wave", panel=panel
        )
        _, url = invite(wave, email=f"{version.survey.slug}@example.kz", language=language)
        client.get(url)
        other = "ru" if language != "ru" else "kk"
        for index in range(len(version.instrument.pages)):
            switched = client.post(url, {"page": index, "lang": other})
            assert switched.status_code == 302, (version.survey.slug, index)
            html = client.get(switched["Location"]).content.decode()
            assert not re.search(r'class="field-error"[^>]*>[^<]+<', html), (version.survey.slug, index)
            assert 'id="error-summary"' not in html


def test_switching_language_after_a_refused_next_drops_the_required_messages(client, wave):
    _, url = invite(wave, language="ru")
    client.get(url)
    assert client.post(url, {"page": 1, "action": "next"}).status_code == 400
    switched = client.post(url, {"page": 1, "lang": "kk"})
    html = client.get(switched["Location"]).content.decode()
    assert 'lang="kk"' in html and 'id="error-summary"' not in html


def test_a_country_question_lists_countries_in_the_pages_alphabet(client, wave):
    _, url = invite(wave, language="kk")
    html = client.get(url, {"page": 1}).content.decode()
    select = html[html.index('name="country_residence"') :]
    names = re.findall(r'<option value="[A-Z]{3}"[^>]*>([^<]+)</option>', select[: select.index("</select>")])
    assert len(names) > 240
    assert names.index("Қазақстан") < names.index("Қытай") < names.index("Өзбекстан") < names.index("Ресей")
    assert names.index("Кувейт") < names.index("Қазақстан") < names.index("Латвия")
    assert "data-searchable=" in select[: select.index(">")]
