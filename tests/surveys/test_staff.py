"""Staff screens: wave dashboard, responses table, question summaries, exports; scoped by programme."""

import datetime as dt
import secrets
import uuid

import pytest
from django.utils import timezone

from accounts.models import Programme, Role
from surveys.models import ExportJob, Invitation, Panel, PanelMember, Respondent, Response, Survey, Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.selectors import surveys_visible_to
from surveys.selectors_admin import RatePoint, cumulative_rates, merged_fields, summarise_answers
from surveys.services import response_submit
from surveys.views.staff import line_chart
from tests.factories import UserFactory

# Until the staff URLs are included in config/urls.py, these tests mount them themselves.
pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db]


def invite(wave, email, status, country, *, sent_days_ago=3, complete_days_ago=None):
    respondent = Respondent.objects.create(email=email)
    PanelMember.objects.create(panel=wave.panel, respondent=respondent, attributes={"country": country})
    now = timezone.now()
    invitation = Invitation.objects.create(
        wave=wave,
        respondent=respondent,
        token_nonce=secrets.token_hex(8),
        token_hash=secrets.token_hex(16),
        language="en",
        status=status,
        sent_at=None if status == Invitation.Status.PENDING else now - dt.timedelta(days=sent_days_ago),
        opened_at=now - dt.timedelta(days=2) if status in ("opened", "partial", "complete") else None,
        completed_at=now - dt.timedelta(days=complete_days_ago) if complete_days_ago is not None else None,
    )
    return invitation


def fieldwork(version, programme):
    """A wave of the graduate survey with a panel: 6 invitations in 3 countries, 2 answered, 1 public response."""
    survey = version.survey
    survey.programme = programme
    survey.save()
    panel = Panel.objects.create(slug="alumni", name="Alumni", programme=programme)
    wave = Wave.objects.create(
        survey=survey, version=version, slug="graduates-2026", name="Graduates 2026", panel=panel, is_public=True
    )
    done = invite(wave, "a@example.org", "complete", "DEU", complete_days_ago=1)
    invite(wave, "b@example.org", "partial", "DEU")
    invite(wave, "c@example.org", "bounced", "USA")
    invite(wave, "d@example.org", "opted_out", "USA")
    invite(wave, "e@example.org", "sent", "GBR")
    invite(wave, "f@example.org", "pending", "GBR")
    user = UserFactory()
    response, _ = response_submit(
        version=version,
        respondent=user,
        instance_id=uuid.uuid4(),
        status="complete",
        answers=SAMPLE_GRADUATE_ANSWERS,
        language="en",
        wave=wave,
    )
    done.response = response
    done.save()
    response_submit(
        version=version,
        respondent=user,
        instance_id=uuid.uuid4(),
        status="complete",
        answers={**SAMPLE_GRADUATE_ANSWERS, "country_residence": "USA", "departure_year": 2015},
        language="ru",
        wave=wave,
    )
    return wave


@pytest.fixture
def programme():
    return Programme.objects.create(slug="bolashak", name="Bolashak")


@pytest.fixture
def wave(graduate_version, programme):
    return fieldwork(graduate_version, programme)


@pytest.fixture
def owner(client, programme):
    user = UserFactory(username="owner", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(programme)
    client.force_login(user)
    return client


@pytest.fixture
def outsider(client):
    user = UserFactory(username="outsider", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(Programme.objects.create(slug="serpin", name="Serpin"))
    client.force_login(user)
    return client


# --------------------------------------------------------------------------- dashboard


def test_the_dashboard_shows_the_invitation_funnel(owner, wave):
    page = owner.get(f"/staff/waves/{wave.slug}/")
    assert page.status_code == 200
    funnel = page.context["funnel"]
    assert (funnel.invited, funnel.sent, funnel.opened, funnel.partial) == (6, 5, 2, 1)
    assert (funnel.bounced, funnel.opted_out, funnel.complete) == (1, 1, 1)
    assert (funnel.response_rate.numerator, funnel.response_rate.denominator) == (1, 5)
    assert funnel.response_rate.percent == 20.0
    assert page.context["public"].complete == 1
    assert b'data-count="invited">6<' in page.content and b'data-count="sent">5<' in page.content


def test_the_dashboard_draws_the_response_rate_as_inline_svg(owner, wave):
    page = owner.get(f"/staff/waves/{wave.slug}/")
    html = page.content.decode()
    assert '<svg id="rate-chart"' in html and "<polyline" in html
    assert "http://" not in html and "https://" not in html  # no external assets
    assert page.context["chart"]["final"]["percent"] == 20.0


def test_the_dashboard_breaks_invitations_down_by_a_panel_attribute(owner, wave):
    page = owner.get(f"/staff/waves/{wave.slug}/?attribute=country")
    rows = {row["value"]: (row["sent"], row["complete"]) for row in page.context["breakdown"]}
    assert rows == {"DEU": (2, 1), "USA": (2, 0), "GBR": (1, 0)}
    assert page.context["attributes"] == ["country"]


def test_an_unknown_breakdown_attribute_is_ignored(owner, wave):
    page = owner.get(f"/staff/waves/{wave.slug}/?attribute=secret')--")
    assert page.status_code == 200 and page.context["attribute"] == ""


def test_the_dashboard_takes_a_bounded_number_of_queries(owner, wave, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        owner.get(f"/staff/waves/{wave.slug}/?attribute=country")


# --------------------------------------------------------------------------- responses table


def test_the_responses_table_lists_the_wave_responses(owner, wave):
    page = owner.get(f"/staff/waves/{wave.slug}/responses/")
    assert page.status_code == 200 and page.context["page"].paginator.count == 2
    assert b"a@example.org" in page.content


def test_the_responses_table_filters_by_panel_attribute(owner, wave):
    page = owner.get(f"/staff/waves/{wave.slug}/responses/?attribute=country&value=DEU")
    assert page.context["page"].paginator.count == 1
    none = owner.get(f"/staff/waves/{wave.slug}/responses/?attribute=country&value=USA")
    assert none.context["page"].paginator.count == 0


def test_the_responses_table_filters_by_status_version_and_date(owner, wave):
    today = timezone.localdate().isoformat()
    base = f"/staff/waves/{wave.slug}/responses/"
    assert owner.get(f"{base}?status=partial").context["page"].paginator.count == 0
    assert owner.get(f"{base}?version=1&date_from={today}&date_to={today}").context["page"].paginator.count == 2
    assert owner.get(f"{base}?date_to=2000-01-01").context["page"].paginator.count == 0


def test_the_responses_table_is_paginated(owner, wave, monkeypatch):
    monkeypatch.setattr("surveys.views.staff.PAGE_SIZE", 1)
    page = owner.get(f"/staff/waves/{wave.slug}/responses/?status=complete&page=2")
    assert page.context["page"].number == 2 and b'rel="prev"' in page.content
    assert b"status=complete&amp;page=1" in page.content


# --------------------------------------------------------------------------- questions


def test_question_summaries_count_choices_in_the_chosen_language(owner, wave):
    page = owner.get(f"/staff/waves/{wave.slug}/questions/?lang=ru")
    summaries = {s.name: s for s in page.context["summaries"]}
    country = summaries["country_residence"]
    assert country.answered == 2 and {c["name"]: c["share"] for c in country.choices} == {"DEU": 50.0, "USA": 50.0}
    factors = {c["name"]: c["count"] for c in summaries["return_factors"].choices}
    assert factors["higher_salary"] == 2 and factors["matching_job"] == 0
    assert summaries["departure_year"].stats == {"n": 2, "mean": 2017.0, "median": 2017.0, "min": 2015, "max": 2019}
    assert "Более высокая зарплата" in page.content.decode()


def test_summaries_are_pure_over_answer_documents(graduate_version):
    fields = merged_fields([graduate_version.instrument], "en")
    summaries = {s.name: s for s in summarise_answers(fields, [{"likelihood_5y": "4"}, {"likelihood_5y": "2"}, {}])}
    likely = summaries["likelihood_5y"]
    assert likely.answered == 2 and [c["share"] for c in likely.choices if c["count"]] == [50.0, 50.0]


def test_cumulative_rates_fill_every_day():
    day = dt.date(2026, 3, 1)
    points = cumulative_rates({day: 10}, {day + dt.timedelta(days=2): 5})
    assert [(p.invited, p.complete) for p in points] == [(10, 0), (10, 0), (10, 5)]
    assert points[-1].rate == 0.5


def test_the_line_chart_puts_a_full_rate_at_the_top():
    chart = line_chart([RatePoint(dt.date(2026, 3, 1), 4, 0), RatePoint(dt.date(2026, 3, 2), 4, 4)])
    assert chart["dots"][0]["y"] == chart["bottom"] and chart["dots"][1]["y"] == chart["top"]


# --------------------------------------------------------------------------- exports


def test_the_export_button_creates_a_job_and_shows_its_progress(owner, wave, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        page = owner.post(f"/staff/waves/{wave.slug}/exports/", {"format": "csv", "language": "en"}, follow=True)
    job = ExportJob.objects.get()
    assert page.status_code == 200 and page.context["job"] == job
    assert f"/api/v1/exports/{job.pk}/".encode() in page.content
    assert b'id="export-refresh"' in page.content  # a refresh link for browsers without JavaScript


# --------------------------------------------------------------------------- scope


@pytest.mark.parametrize("suffix", ["", "responses/", "questions/"])
def test_an_administrator_of_another_programme_gets_404(outsider, wave, suffix):
    assert outsider.get(f"/staff/waves/{wave.slug}/{suffix}").status_code == 404


def test_an_administrator_of_another_programme_cannot_export(outsider, wave):
    response = outsider.post(f"/staff/waves/{wave.slug}/exports/", {"format": "csv", "language": "en"})
    assert response.status_code == 404 and not ExportJob.objects.exists()


def test_a_respondent_is_refused(client, respondent, wave):
    client.force_login(respondent)
    assert client.get(f"/staff/waves/{wave.slug}/").status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, wave):
    response = client.get(f"/staff/waves/{wave.slug}/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_the_wave_list_shows_only_own_programme_waves(owner, wave, graduate_version):
    other = Programme.objects.create(slug="serpin", name="Serpin")
    survey = Survey.objects.create(slug="serpin-survey", title="Serpin", programme=other)
    Wave.objects.create(survey=survey, version=graduate_version, slug="serpin-2026", name="Serpin 2026")
    page = owner.get("/staff/")
    assert [w.slug for w in page.context["waves"]] == ["graduates-2026"]


# --------------------------------------------------------------------------- surveys_visible_to


def test_a_designer_sees_drafts_of_own_programmes_only(programme, graduate_version):
    designer = UserFactory(username="designer", role=Role.PROGRAMME_ADMIN)
    designer.programmes.add(programme)
    other = Programme.objects.create(slug="serpin", name="Serpin")
    Survey.objects.create(slug="own-draft", title="Own", programme=programme)
    Survey.objects.create(slug="other-draft", title="Other", programme=other)
    Survey.objects.create(slug="no-programme", title="Shared")
    visible = set(surveys_visible_to(designer).values_list("slug", flat=True))
    assert {"own-draft", graduate_version.survey.slug} <= visible  # the published one is for everyone
    assert "other-draft" not in visible
    assert "no-programme" not in visible  # platform-wide drafts are for superusers


def test_a_superuser_sees_every_survey(programme):
    Survey.objects.create(slug="other-draft", title="Other", programme=programme)
    boss = UserFactory(username="boss", is_superuser=True)
    assert list(surveys_visible_to(boss).values_list("slug", flat=True)) == ["other-draft"]


def test_a_respondent_sees_only_published_surveys(respondent, programme, graduate_version):
    Survey.objects.create(slug="own-draft", title="Own", programme=programme)
    assert "own-draft" not in set(surveys_visible_to(respondent).values_list("slug", flat=True))
    assert graduate_version.survey in surveys_visible_to(respondent)


def test_public_link_responses_count_without_an_invitation(wave):
    assert Response.objects.filter(wave=wave, invitation__isnull=True).count() == 1
