"""Staff pages: the dashboard's figures, exports out of date, one response, free-text answers,
survey versions and the version preview; each scoped to the administrator's programmes."""

import uuid

import pytest

from accounts.models import Programme, Role
from surveys import services
from surveys.models import ExportJob, Invitation, Panel, Response, Survey, Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.selectors_admin import Funnel, Rate
from surveys.services import response_submit
from surveys.services.exports import export_request, export_run
from surveys.summaries import name_countries, response_sections
from surveys.views.preview import _session_key
from tests.factories import UserFactory, simple_form_rows, xlsform
from tests.surveys.test_staff import fieldwork, invite

pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db]


@pytest.fixture
def programme():
    return Programme.objects.create(slug="bolashak", name="Bolashak")


@pytest.fixture
def wave(graduate_version, programme):
    return fieldwork(graduate_version, programme)


def _admin(client, programme, username="owner"):
    user = UserFactory(username=username, role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(programme)
    client.force_login(user)
    return client


@pytest.fixture
def owner(client, programme):
    return _admin(client, programme)


@pytest.fixture
def outsider(client):
    return _admin(client, Programme.objects.create(slug="serpin", name="Serpin"), username="outsider")


def answer(wave, answers, *, status="complete", language="en"):
    response, _ = response_submit(
        version=wave.version,
        respondent=UserFactory(),
        instance_id=uuid.uuid4(),
        status=status,
        answers=answers,
        language=language,
        wave=wave,
    )
    return response


def public_wave(graduate_version, programme, slug="open-2026"):
    survey = graduate_version.survey
    survey.programme = programme
    survey.save()
    return Wave.objects.create(survey=survey, version=graduate_version, slug=slug, name="Open", is_public=True)


@pytest.fixture
def draft(programme):
    """A draft (unpublished) version of a small two-language survey of the programme."""
    rows, choices = simple_form_rows()
    result = services.survey_import_xlsform(
        data=xlsform(rows, choices, {"form_id": "pulse", "form_title": "Pulse"}),
        filename="pulse.xlsx",
        publish=False,
        programme=programme,
    )
    assert result.version is not None and not result.version.is_published
    return result.version


# --------------------------------------------------------------------------- dashboard figures


def test_a_rate_has_no_percent_without_a_denominator():
    assert Rate(0, 0).percent is None and Rate(1, 5).percent == 20.0


def test_the_funnel_rates_count_only_invitations():
    funnel = Funnel(invited=10, sent=8, opened=4, partial=1, complete=2, bounced=1, opted_out=0)
    assert (funnel.response_rate.numerator, funnel.response_rate.denominator) == (2, 8)
    assert (funnel.completion_rate.numerator, funnel.completion_rate.denominator) == (2, 4)
    assert funnel.sent_rate.percent == 80.0 and funnel.started == 3


def test_each_rate_shows_its_numerator_and_denominator(owner, wave):
    html = owner.get(f"/staff/waves/{wave.slug}/").content.decode()
    assert "1 of 5 (20.0%)" in html  # response rate: complete of sent
    assert "2 of 5 (40.0%)" in html  # opened of sent
    assert "1 of 2 (50.0%)" in html  # finished of opened


def test_public_link_responses_are_counted_apart_from_the_invitations(owner, wave):
    page = owner.get(f"/staff/waves/{wave.slug}/")
    assert page.context["funnel"].complete == 1 and page.context["public"].complete == 1
    html = page.content.decode()
    assert 'data-count="public_complete">1<' in html
    assert "Complete responses in all: 2 (1 invited, 1 through the public link)." in html


def test_a_wave_without_invitations_says_so_and_shows_no_rate(owner, graduate_version, programme):
    wave = public_wave(graduate_version, programme)
    for _ in range(3):
        answer(wave, SAMPLE_GRADUATE_ANSWERS)
    page = owner.get(f"/staff/waves/{wave.slug}/")
    html = page.content.decode()
    assert 'id="no-invitations"' in html and 'id="rates"' not in html
    assert "(0.0%)" not in html and ">0%" not in html
    assert 'data-count="public_complete">3<' in html
    assert "3 of 3 (100.0%)" in html  # finished, of those who started through the public link


def test_invitations_not_yet_sent_give_no_response_rate(owner, graduate_version, programme):
    wave = public_wave(graduate_version, programme)
    wave.panel = Panel.objects.create(slug="p", name="P", programme=programme)
    wave.save()
    invite(wave, "x@example.org", Invitation.Status.PENDING, "DEU")
    html = owner.get(f"/staff/waves/{wave.slug}/").content.decode()
    assert 'data-count="invited">1<' in html and 'id="no-invitations-sent"' in html
    assert 'id="rates"' not in html and "(0.0%)" not in html


def test_country_codes_are_named_in_the_page_language(owner, wave):
    ru = owner.get(f"/staff/waves/{wave.slug}/?attribute=country", HTTP_ACCEPT_LANGUAGE="ru")
    labels = {row["value"]: row["label"] for row in ru.context["breakdown"]}
    assert labels == {"DEU": "Германия", "USA": "Соединенные Штаты", "GBR": "Великобритания"}
    assert "Германия" in ru.content.decode()
    en = owner.get(f"/staff/waves/{wave.slug}/?attribute=country", HTTP_ACCEPT_LANGUAGE="en")
    assert {row["label"] for row in en.context["breakdown"]} >= {"Germany", "United Kingdom"}


def test_values_that_are_not_all_country_codes_are_shown_as_they_are():
    assert name_countries(["DEU", "Almaty"], "en") is None
    assert name_countries(["DEU", None, ""], "kk") == {"DEU": "Германия"}


# --------------------------------------------------------------------------- exports out of date


def _export(wave):
    job, _ = export_request(wave=wave, format="csv", language="en", user=None)
    return export_run(job_id=job.pk)


def test_an_export_is_marked_out_of_date_when_newer_responses_exist(owner, wave):
    job = _export(wave)
    assert job.status == ExportJob.Status.COMPLETE
    fresh = owner.get(f"/staff/waves/{wave.slug}/")
    assert not fresh.context["exports"][0].out_of_date and b"data-out-of-date" not in fresh.content
    assert b'id="export-out-of-date"' not in owner.get(f"/staff/exports/{job.pk}/").content
    answer(wave, SAMPLE_GRADUATE_ANSWERS)
    stale = owner.get(f"/staff/waves/{wave.slug}/")
    assert stale.context["exports"][0].out_of_date and b"data-out-of-date" in stale.content
    status = owner.get(f"/staff/exports/{job.pk}/")
    assert status.context["out_of_date"] and b'id="export-out-of-date"' in status.content
    assert f'action="/staff/waves/{wave.slug}/exports/"'.encode() in status.content


def test_an_export_still_running_is_not_called_out_of_date(owner, wave):
    job, _ = export_request(wave=wave, format="csv", language="en", user=None)
    answer(wave, SAMPLE_GRADUATE_ANSWERS)
    assert not owner.get(f"/staff/exports/{job.pk}/").context["out_of_date"]


def test_a_refused_export_form_says_why(owner, wave):
    page = owner.post(f"/staff/waves/{wave.slug}/exports/", {"format": "pdf", "language": "en"}, follow=True)
    assert b"Choose a format and a language" in page.content and not ExportJob.objects.exists()


# --------------------------------------------------------------------------- one response


def test_each_row_of_the_responses_table_opens_its_response(owner, wave):
    html = owner.get(f"/staff/waves/{wave.slug}/responses/?status=complete").content.decode()
    for response in Response.objects.filter(wave=wave):
        assert f'href="/staff/waves/{wave.slug}/responses/{response.pk}/?back=status%3Dcomplete"' in html


def test_a_response_shows_labels_in_the_page_language_not_codes(owner, wave):
    response = Response.objects.filter(wave=wave, invitation__isnull=False).get()
    page = owner.get(f"/staff/waves/{wave.slug}/responses/{response.pk}/", HTTP_ACCEPT_LANGUAGE="ru")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Германия" in html and "Более высокая зарплата" in html
    assert "higher_salary" not in html and ">DEU<" not in html
    assert "a@example.org" in html and "v1" in html


def test_a_public_link_response_says_where_it_came_from(owner, wave):
    response = Response.objects.filter(wave=wave, invitation__isnull=True).get()
    html = owner.get(f"/staff/waves/{wave.slug}/responses/{response.pk}/").content.decode()
    assert "the public link" in html and "@example.org" not in html


def test_a_response_page_goes_back_to_the_same_table(owner, wave):
    response = Response.objects.filter(wave=wave).first()
    page = owner.get(f"/staff/waves/{wave.slug}/responses/{response.pk}/?back=status%3Dcomplete%26page%3D2")
    assert page.context["back_url"] == f"/staff/waves/{wave.slug}/responses/?status=complete&page=2"


def test_free_text_in_a_response_is_escaped(owner, wave):
    response = answer(wave, {**SAMPLE_GRADUATE_ANSWERS, "city_residence": "<script>alert(1)</script>"})
    html = owner.get(f"/staff/waves/{wave.slug}/responses/{response.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_response_of_another_wave_is_not_found_under_this_one(owner, wave, graduate_version, programme):
    other = public_wave(graduate_version, programme, slug="other-wave")
    response = answer(other, SAMPLE_GRADUATE_ANSWERS)
    assert owner.get(f"/staff/waves/{wave.slug}/responses/{response.pk}/").status_code == 404


def test_an_administrator_of_another_programme_cannot_open_a_response(outsider, wave):
    response = Response.objects.filter(wave=wave).first()
    assert outsider.get(f"/staff/waves/{wave.slug}/responses/{response.pk}/").status_code == 404


def test_response_sections_are_pure(graduate_version):
    instrument = graduate_version.instrument
    sections = response_sections(instrument, {"return_factors": ["research_funding"], "zzz": "kept"}, "en")
    rows = {row.name: row for section in sections for row in section.rows}
    assert rows["return_factors"].values == ["Research funding"]
    assert rows["city_residence"].values == []  # unanswered, still listed
    assert sections[-1].unknown and rows["zzz"].values == ["kept"]


# --------------------------------------------------------------------------- free-text answers


def test_question_summaries_list_the_latest_free_text_answers(owner, wave):
    answer(wave, {**SAMPLE_GRADUATE_ANSWERS, "city_residence": "<b>Almaty</b>"})
    page = owner.get(f"/staff/waves/{wave.slug}/questions/")
    city = {s.name: s for s in page.context["summaries"]}["city_residence"]
    assert city.texts[0] == "<b>Almaty</b>" and "Berlin" in city.texts  # newest first
    html = page.content.decode()
    assert "&lt;b&gt;Almaty&lt;/b&gt;" in html and "<b>Almaty</b>" not in html
    assert f'href="/staff/waves/{wave.slug}/questions/city_residence/answers/' in html


def test_a_summary_counts_the_text_answers_it_does_not_list(monkeypatch, owner, wave):
    monkeypatch.setattr("surveys.summaries.LATEST_TEXTS", 1)
    answer(wave, {**SAMPLE_GRADUATE_ANSWERS, "city_residence": "Almaty"})
    page = owner.get(f"/staff/waves/{wave.slug}/questions/")
    city = {s.name: s for s in page.context["summaries"]}["city_residence"]
    assert city.texts == ["Almaty"] and city.answered == 3 and city.more_texts == 2
    assert b"All 3 answers" in page.content


def test_every_free_text_answer_is_listed_with_its_response(owner, wave, monkeypatch):
    monkeypatch.setattr("surveys.views.staff.PAGE_SIZE", 1)
    newest = answer(wave, {**SAMPLE_GRADUATE_ANSWERS, "city_residence": "Astana & <Almaty>"})
    page = owner.get(f"/staff/waves/{wave.slug}/questions/city_residence/answers/?status=all")
    assert page.status_code == 200 and page.context["page"].paginator.count == 3
    html = page.content.decode()
    assert "Astana &amp; &lt;Almaty&gt;" in html and f"/responses/{newest.pk}/" in html
    assert 'rel="next"' in html


def test_the_text_answers_page_is_only_for_text_questions(owner, wave):
    assert owner.get(f"/staff/waves/{wave.slug}/questions/country_residence/answers/").status_code == 404
    assert owner.get(f"/staff/waves/{wave.slug}/questions/nope/answers/").status_code == 404


def test_an_administrator_of_another_programme_cannot_read_text_answers(outsider, wave):
    assert outsider.get(f"/staff/waves/{wave.slug}/questions/city_residence/answers/").status_code == 404


# --------------------------------------------------------------------------- versions and preview


def test_the_versions_page_lists_drafts_with_a_preview_per_language(owner, draft):
    page = owner.get(f"/staff/surveys/{draft.survey.slug}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="version-1"' in html and "Draft" in html
    base = f"/staff/surveys/{draft.survey.slug}/versions/1/preview/"
    assert f'href="{base}?lang=ru"' in html and f'href="{base}?lang=en"' in html and "?lang=kk" not in html


def test_the_dashboard_links_to_the_preview_of_its_version(owner, wave):
    html = owner.get(f"/staff/waves/{wave.slug}/").content.decode()
    assert f'href="/staff/surveys/{wave.survey.slug}/versions/{wave.version.number}/preview/"' in html


@pytest.mark.parametrize(("lang", "title", "next_label"), [("en", "About you", "Next"), ("ru", "О вас", "Далее")])
def test_a_draft_is_previewed_as_respondents_see_it(owner, draft, lang, title, next_label):
    page = owner.get(f"/staff/surveys/{draft.survey.slug}/versions/1/preview/?lang={lang}")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="preview-banner"' in html and "Preview" in html
    assert f'<html lang="{lang}">' in html and title in html and next_label in html
    assert 'id="page-form"' in html and "surveys/respondent.js" in html
    assert f'data-save-url="/staff/surveys/{draft.survey.slug}/versions/1/preview/check/?lang={lang}"' in html
    assert not Response.objects.exists()


def test_the_preview_offers_the_languages_of_the_version(owner, draft):
    page = owner.get(f"/staff/surveys/{draft.survey.slug}/versions/1/preview/?lang=kk")
    assert [code for code, _ in page.context["languages"]] == ["ru", "en"]
    assert page.context["language"] in {"ru", "en"}


def test_the_preview_check_evaluates_relevance_and_stores_no_response(owner, draft):
    url = f"/staff/surveys/{draft.survey.slug}/versions/1/preview/check/?lang=en"
    hidden = owner.post(url, {"page": "0", "age": "30", "abroad": "no"}).json()
    assert "city" not in hidden["visible"] and "age" in hidden["visible"]
    shown = owner.post(url, {"page": "0", "age": "30", "abroad": "yes"}).json()
    assert "city" in shown["visible"]
    wrong = owner.post(url, {"page": "0", "age": "7"}).json()
    assert wrong["errors"] == {"age": "Between 16 and 99"}
    assert not Response.objects.exists()


def test_moving_on_needs_the_required_answers_as_on_the_real_page(owner, draft):
    url = f"/staff/surveys/{draft.survey.slug}/versions/1/preview/?lang=ru"
    page = owner.post(url, {"page": "0", "action": "finish", "age": "30"})
    assert page.status_code == 400 and "abroad" in page.context["errors"]
    assert not Response.objects.exists()


def test_finishing_the_preview_submits_nothing(owner, draft):
    url = f"/staff/surveys/{draft.survey.slug}/versions/1/preview/?lang=en"
    page = owner.post(url, {"page": "0", "action": "finish", "age": "30", "abroad": "yes", "city": "Almaty"})
    assert page.status_code == 200 and b'id="preview-end"' in page.content
    assert not Response.objects.exists()


def test_a_language_switch_keeps_the_preview_answers(owner, draft):
    url = f"/staff/surveys/{draft.survey.slug}/versions/1/preview/"
    switched = owner.post(f"{url}?lang=en", {"page": "0", "lang": "ru", "age": "41"})
    assert switched.status_code == 302 and switched.url == f"{url}?page=0&lang=ru"
    again = owner.get(switched.url)
    assert 'value="41"' in again.content.decode() and "Возраст" in again.content.decode()


def test_the_preview_can_start_again(owner, draft):
    url = f"/staff/surveys/{draft.survey.slug}/versions/1/preview/"
    owner.post(f"{url}?lang=en", {"page": "0", "action": "stay", "age": "41"})
    assert owner.session[_session_key(draft)] == {"age": 41}
    owner.post(f"{url}?lang=en", {"action": "restart"})
    assert _session_key(draft) not in owner.session


def test_relevance_across_pages_follows_the_preview_answers(owner, wave):
    version = wave.version
    session = owner.session
    session[_session_key(version)] = {**SAMPLE_GRADUATE_ANSWERS, "respondent_status": "studying"}
    session.save()
    page = owner.get(f"/staff/surveys/{wave.survey.slug}/versions/1/preview/?page=2&lang=kk")
    questions = {q.name: q for s in page.context["sections"] for q in s.questions}
    assert questions["expected_graduation_year"].visible and not questions["graduation_year"].visible
    assert page.context["title"] == "Түлектердің елге оралу ниеті туралы сауалнама"


def test_the_preview_of_a_whole_published_form_ends_without_a_response(owner, wave):
    version = wave.version
    before = Response.objects.count()
    session = owner.session
    session[_session_key(version)] = dict(SAMPLE_GRADUATE_ANSWERS)
    session.save()
    last = len(version.instrument.pages) - 2  # the last page with questions (the final one holds a calculation)
    page = owner.post(f"/staff/surveys/{wave.survey.slug}/versions/1/preview/?lang=en", {
        "page": str(last), "action": "finish", "consent_contact": "yes", "consent_registry": "yes",
        "salary_band": "2000_3500",
    })  # fmt: skip
    assert page.status_code == 200 and b'id="preview-end"' in page.content
    assert Response.objects.count() == before


@pytest.mark.parametrize("suffix", ["", "versions/1/preview/"])
def test_an_administrator_of_another_programme_cannot_see_versions(outsider, draft, suffix):
    assert outsider.get(f"/staff/surveys/{draft.survey.slug}/{suffix}").status_code == 404


def test_an_administrator_of_another_programme_cannot_use_the_preview_check(outsider, draft):
    url = f"/staff/surveys/{draft.survey.slug}/versions/1/preview/check/"
    assert outsider.post(url, {"page": "0"}).status_code == 404


def test_a_respondent_cannot_preview(client, respondent, draft):
    client.force_login(respondent)
    assert client.get(f"/staff/surveys/{draft.survey.slug}/versions/1/preview/").status_code == 403


def test_a_platform_wide_survey_is_previewed_by_superusers_only(owner, admin_client, graduate_version):
    Survey.objects.filter(pk=graduate_version.survey_id).update(programme=None)
    url = f"/staff/surveys/{graduate_version.survey.slug}/versions/1/preview/"
    assert owner.get(url).status_code == 404
    assert admin_client.get(url).status_code == 200


def test_an_unknown_page_or_version_is_handled(owner, draft):
    base = f"/staff/surveys/{draft.survey.slug}/versions/"
    assert owner.get(f"{base}9/preview/").status_code == 404
    assert owner.get(f"{base}1/preview/?page=99&lang=en").context["page"] == 0
    assert owner.post(f"{base}1/preview/?lang=en", {"page": "99", "action": "next"}).status_code == 302
    assert owner.post(f"{base}1/preview/check/", {"page": "x"}).status_code == 400


# --------------------------------------------------------------------------- admin


def test_the_version_admin_links_to_the_preview_and_folds_the_json(admin_client, draft):
    html = admin_client.get(f"/admin/surveys/surveyversion/{draft.pk}/change/").content.decode()
    assert f'/staff/surveys/{draft.survey.slug}/versions/1/preview/?lang=ru"' in html
    assert "collapse" in html and "Form content (JSON)" in html


def test_the_dashboard_still_takes_a_bounded_number_of_queries(owner, wave, django_assert_max_num_queries):
    _export(wave)
    with django_assert_max_num_queries(16):
        owner.get(f"/staff/waves/{wave.slug}/?attribute=country")
