"""One programme's administrators never act on another programme's objects (each test is a finding)."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Programme, Role
from diaspora.models import ExpertiseRequest
from surveys.models import PanelMember, Respondent, Survey, SurveyVersion, Wave
from surveys.services import ImportForbidden, survey_import_xlsform, version_publish
from surveys.services.panels import panel_import
from tests.factories import UserFactory, simple_form_rows, xlsform
from tests.scoping_world import World, build_world, programme_admin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]


@pytest.fixture
def world() -> World:
    return build_world()


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_upload(name="form.xlsx", form_id="new-form") -> io.BytesIO:
    rows, choices = simple_form_rows()
    upload = io.BytesIO(xlsform(rows, choices, {"form_id": form_id}))
    upload.name = name
    return upload


# --------------------------------------------------------------------------- imports


def test_an_import_into_another_programmes_survey_is_refused_through_the_api(world):
    survey = world.a.survey
    before = list(survey.versions.values_list("pk", flat=True))
    answer = api_as(world.users["admin_b"]).post(
        "/api/v1/surveys/import/",
        {"file": form_upload(), "survey": survey.slug, "publish": "true"},
        format="multipart",
    )
    assert answer.status_code == 403 and "programme you do not administer" in answer.json()["detail"]
    assert list(survey.versions.values_list("pk", flat=True)) == before
    # A's own draft can still be published.
    draft = survey.versions.get(status=SurveyVersion.Status.DRAFT)
    version_publish(version=draft)


def test_an_import_into_another_programmes_survey_is_refused_in_the_admin(world):
    survey = world.a.survey
    before = survey.versions.count()
    page = page_as(world.users["admin_b"]).post(
        "/admin/surveys/survey/import/", {"file": form_upload(), "survey": survey.slug, "publish": "on"}
    )
    assert page.status_code == 200 and "programme you do not administer" in page.content.decode()
    assert survey.versions.count() == before


def test_an_import_into_a_platform_wide_survey_is_for_superusers_only(world):
    rows, choices = simple_form_rows()
    survey_import_xlsform(data=xlsform(rows, choices, {"form_id": "shared"}), filename="s.xlsx")
    with pytest.raises(ImportForbidden):
        survey_import_xlsform(
            data=xlsform(rows, choices, {"form_id": "shared"}), filename="s.xlsx", user=world.users["admin_a"]
        )


def test_a_new_survey_belongs_to_the_importers_programme(world):
    answer = api_as(world.users["admin_b"]).post(
        "/api/v1/surveys/import/", {"file": form_upload(form_id="b-new")}, format="multipart"
    )
    assert answer.status_code == 201
    survey = Survey.objects.get(slug="b-new")
    assert survey.programme == world.b.programme
    # Its draft is B's alone.
    assert api_as(world.users["admin_a"]).get("/api/v1/surveys/b-new/").status_code == 404
    assert api_as(world.users["admin_a"]).post("/api/v1/surveys/b-new/versions/1/publish/").status_code == 404


def test_an_administrator_of_several_programmes_is_asked_which_one(world):
    both = programme_admin("both", world.a.programme)
    both.programmes.add(world.b.programme)
    answer = api_as(both).post("/api/v1/surveys/import/", {"file": form_upload(form_id="c-new")}, format="multipart")
    assert answer.status_code == 400
    assert "bolashak" in answer.json()["programme"][0] and "serpin" in answer.json()["programme"][0]
    assert not Survey.objects.filter(slug="c-new").exists()
    chosen = api_as(both).post(
        "/api/v1/surveys/import/", {"file": form_upload(form_id="c-new"), "programme": "serpin"}, format="multipart"
    )
    assert chosen.status_code == 201 and Survey.objects.get(slug="c-new").programme == world.b.programme


def test_a_programme_one_does_not_administer_cannot_be_chosen(world):
    answer = api_as(world.users["admin_b"]).post(
        "/api/v1/surveys/import/", {"file": form_upload(form_id="d-new"), "programme": "bolashak"}, format="multipart"
    )
    assert answer.status_code == 400 and not Survey.objects.filter(slug="d-new").exists()


# --------------------------------------------------------------------------- waves and panels


def test_the_admin_refuses_a_wave_on_another_programmes_panel_or_survey(world):
    b_version = world.b.survey.current_version()
    page = page_as(world.users["admin_b"]).post(
        "/admin/surveys/wave/add/",
        {
            "survey": world.b.survey.pk,
            "version": b_version.pk,
            "slug": "stolen",
            "name": "Stolen",
            "opens_at_0": "2026-12-01",
            "opens_at_1": "00:00:00",
            "panel": world.a.panel.pk,
            "reminder_days": "[]",
            "email_templates": "{}",
            "prefill_fields": "[]",
            "send_rate_per_minute": 600,
            "is_public": "on",
        },
    )
    assert page.status_code == 200 and not Wave.objects.filter(slug="stolen").exists()
    public_on_a = page_as(world.users["admin_b"]).post(
        "/admin/surveys/wave/add/",
        {"survey": world.a.survey.pk, "version": world.a.survey.current_version().pk, "slug": "stolen",
         "name": "Stolen", "opens_at_0": "2026-12-01", "opens_at_1": "00:00:00", "reminder_days": "[]",
         "email_templates": "{}", "prefill_fields": "[]", "send_rate_per_minute": 600, "is_public": "on"},
    )  # fmt: skip
    assert public_on_a.status_code == 200 and not Wave.objects.filter(slug="stolen").exists()


def test_a_wave_and_its_panel_belong_to_one_programme():
    from django.core.exceptions import ValidationError

    world = build_world()
    wave = Wave(survey=world.b.survey, version=world.b.survey.current_version(), panel=world.a.panel, slug="x")
    with pytest.raises(ValidationError, match="another programme"):
        wave.clean()


def test_a_panel_import_never_changes_what_another_programme_holds(world):
    shared = Respondent.objects.get(email="respondent@example.org")
    a_member = PanelMember.objects.get(panel=world.a.panel, respondent=shared)
    before = (a_member.name, a_member.language, a_member.external_ids, a_member.attributes)
    data = b"email,name,language,id:serpin,city\nrespondent@example.org,Someone Else,kk,S-1,Oskemen\n"
    panel_import(panel=world.b.panel, data=data, filename="b.csv", user=world.users["admin_b"])
    a_member.refresh_from_db()
    assert (a_member.name, a_member.language, a_member.external_ids, a_member.attributes) == before
    b_member = PanelMember.objects.get(panel=world.b.panel, respondent=shared)
    assert (b_member.name, b_member.language, b_member.external_ids) == ("Someone Else", "kk", {"serpin": "S-1"})


def test_the_shared_respondent_record_is_read_only_for_programme_administrators(world):
    shared = Respondent.objects.get(email="respondent@example.org")
    client = page_as(world.users["admin_b"])
    client.post(f"/admin/surveys/respondent/{shared.pk}/change/", {"email": "taken@example.org"})
    shared.refresh_from_db()
    assert shared.email == "respondent@example.org"


# --------------------------------------------------------------------------- requests and runs


def test_staff_cannot_tag_a_request_with_a_programme_their_institution_is_not_in(world):
    body = {
        "institution": world.a.institution.pk,
        "title": "Water mentoring",
        "topic": "Mentoring for young water engineers on river basin management",
        "mode": "mentoring",
        "programme": "serpin",
    }
    answer = api_as(world.users["staff_a"]).post("/api/v1/registry/requests/", body, format="json")
    assert answer.status_code == 400 and "does not take part" in answer.json()["programme"][0]
    ok = api_as(world.users["staff_a"]).post(
        "/api/v1/registry/requests/", {**body, "programme": "bolashak"}, format="json"
    )
    assert ok.status_code == 201


def test_the_request_form_offers_only_the_institutions_programmes(world):
    html = page_as(world.users["staff_a"]).get("/registry/requests/new/").content.decode()
    assert 'value="bolashak"' in html and 'value="serpin"' not in html


def test_an_administrator_cannot_close_a_platform_wide_or_another_programmes_request(world):
    ExpertiseRequest.objects.filter(pk=world.b.request.pk).update(programme=None)
    for user in (world.users["admin_a"], world.users["admin_b"]):
        assert api_as(user).post(f"/api/v1/registry/requests/{world.b.request.pk}/close/").status_code == 404
    assert (
        api_as(world.users["admin_b"]).post(f"/api/v1/registry/requests/{world.a.request.pk}/close/").status_code == 404
    )
    assert ExpertiseRequest.objects.filter(status=ExpertiseRequest.Status.CLOSED).count() == 0


def test_another_programmes_matching_runs_are_hidden(world):
    admin_b = world.users["admin_b"]
    assert page_as(admin_b).get(f"/registry/admin/runs/{world.a.run.pk}/").status_code == 404
    assert api_as(admin_b).get(f"/api/v1/registry/runs/{world.a.run.pk}/").status_code == 404
    listing = page_as(admin_b).get("/registry/admin/").content.decode()
    assert world.b.run.key in listing and world.a.run.key not in listing


def test_an_administrators_run_matches_only_their_programmes_requests(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_as(world.users["admin_b"]).post("/api/v1/registry/runs/", {}, format="json")
    assert answer.status_code == 202 and answer.json()["programme"] == "serpin"
    run = api_as(world.users["admin_b"]).get(f"/api/v1/registry/runs/{answer.json()['id']}/").json()
    assert run["status"] == "complete"
    assert run["stats"]["requests"] <= 1  # B's single request at most (A's is never in B's run)
    assert set(run["stats"]["unmatched"]) <= {str(world.b.request.pk)}


def test_researchers_are_refused_the_directory_page_and_its_export(world):
    researcher = page_as(world.users["researcher"])
    for url in ("/registry/people/", "/registry/people/export.csv"):
        answer = researcher.get(url)
        assert answer.status_code == 403 and b"anonymised" in answer.content


# --------------------------------------------------------------------------- programmes in the admin


def test_a_superuser_links_a_user_to_programmes_in_the_admin(world):
    boss = UserFactory(username="boss", is_superuser=True, is_staff=True)
    newcomer = UserFactory(username="newcomer", role=Role.PROGRAMME_ADMIN, is_staff=True)
    form = page_as(boss).get(f"/admin/accounts/user/{newcomer.pk}/change/").content.decode()
    assert 'name="programmes"' in form


def test_an_administrator_sees_who_else_administers_their_programme(world):
    colleague = programme_admin("colleague", world.a.programme)
    listing = page_as(world.users["admin_a"]).get("/admin/accounts/programme/").content.decode()
    assert colleague.username in listing and "admin-a" in listing
    assert "Serpin-2050" not in listing
    change = page_as(world.users["admin_a"]).post(
        f"/admin/accounts/programme/{world.a.programme.pk}/change/", {"name": "Renamed", "slug": "renamed"}
    )
    assert change.status_code == 403 and Programme.objects.filter(slug="bolashak").exists()
