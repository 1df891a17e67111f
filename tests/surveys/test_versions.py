import io

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts.models import Programme
from surveys import services
from surveys.models import SurveyVersion
from tests.factories import xlsform

EN = "label::English (en)"


def form(age_type="integer", extra=None):
    rows = [{"type": age_type, "name": "age", EN: "Age"}, {"type": "text", "name": "city", EN: "City"}]
    return xlsform(rows + (extra or []), settings={"form_id": "panel", "version": "1"})


def bolashak():
    return Programme.objects.get_or_create(slug="bolashak", defaults={"name": "Bolashak"})[0]


def publish(data):
    return services.survey_import_xlsform(
        data=data, filename="panel.xlsx", survey_slug="panel", publish=True, programme=bolashak()
    )


@pytest.fixture
def designer_api(designer):
    client = APIClient()
    client.force_authenticate(designer)
    return client


@pytest.mark.django_db
def test_a_published_version_cannot_be_changed():
    version = publish(form()).version
    version.content["survey"][0]["type"] = "text"
    with pytest.raises(ValidationError, match="cannot be changed"):
        version.save()


@pytest.mark.django_db
def test_a_new_version_may_turn_a_field_into_text():
    publish(form())
    result = publish(form(age_type="text"))
    assert result.version.number == 2 and result.version.is_published


@pytest.mark.django_db
def test_a_new_version_may_not_change_a_field_to_another_type_and_says_why():
    publish(form(age_type="text"))
    result = publish(form(age_type="integer"))
    assert result.version is None
    assert "field 'age' changes type from text to integer" in result.report.errors[0].message
    assert SurveyVersion.objects.count() == 1


@pytest.mark.django_db
def test_publishing_reports_added_and_removed_fields():
    publish(form())
    rows = [{"type": "integer", "name": "age", EN: "Age"}, {"type": "text", "name": "country", EN: "Country"}]
    result = publish(xlsform(rows))
    assert any("removed fields" in n and "city" in n for n in result.publish_notes)
    assert any("added fields: country" in n for n in result.publish_notes)


@pytest.mark.django_db
def test_a_draft_is_published_through_the_api(designer_api):
    services.survey_import_xlsform(data=form(), filename="panel.xlsx", survey_slug="panel", programme=bolashak())
    response = designer_api.post("/api/v1/surveys/panel/versions/1/publish/")
    assert response.status_code == 200
    assert response.json()["version"]["status"] == "published"
    again = designer_api.post("/api/v1/surveys/panel/versions/1/publish/")
    assert again.status_code == 409 and "already published" in again.json()["reasons"][0]


@pytest.mark.django_db
def test_an_incompatible_draft_is_refused_with_reasons(designer_api):
    publish(form(age_type="text"))
    services.survey_import_xlsform(
        data=form(age_type="date"), filename="panel.xlsx", survey_slug="panel", programme=bolashak()
    )
    response = designer_api.post("/api/v1/surveys/panel/versions/2/publish/")
    assert response.status_code == 409
    assert "changes type from text to date" in response.json()["reasons"][0]


@pytest.mark.django_db
def test_the_import_endpoint_imports_and_reports(designer_api):
    upload = io.BytesIO(form())
    upload.name = "panel.xlsx"
    response = designer_api.post("/api/v1/surveys/import/", {"file": upload, "publish": "true"}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["survey"] == "panel"
    assert response.json()["version"]["status"] == "published"


@pytest.mark.django_db
def test_the_import_endpoint_refuses_an_invalid_form_with_every_problem(designer_api):
    rows = [
        {"type": "integr", "name": "a", EN: "A"},
        {"type": "text", "name": "b"},
        {"type": "text", "name": "c", EN: "C"},
    ]
    upload = io.BytesIO(xlsform(rows))
    upload.name = "bad.xlsx"
    response = designer_api.post("/api/v1/surveys/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["sheet"], e["row"], e["column"]) for e in errors] == [("survey", 2, "type"), ("survey", 3, "label")]
    assert not SurveyVersion.objects.exists()


@pytest.mark.django_db
def test_respondents_cannot_import_or_publish(api):
    upload = io.BytesIO(form())
    upload.name = "panel.xlsx"
    assert api.post("/api/v1/surveys/import/", {"file": upload}, format="multipart").status_code == 403
    services.survey_import_xlsform(data=form(), filename="panel.xlsx", survey_slug="panel", programme=bolashak())
    assert api.post("/api/v1/surveys/panel/versions/1/publish/").status_code == 403


@pytest.mark.django_db
def test_respondents_see_only_published_versions(api):
    publish(form())
    services.survey_import_xlsform(
        data=form(age_type="text"), filename="panel.xlsx", survey_slug="panel", programme=bolashak()
    )
    numbers = [v["number"] for v in api.get("/api/v1/surveys/panel/versions/").json()["results"]]
    assert numbers == [1]
    assert api.get("/api/v1/surveys/panel/versions/2/").status_code == 404
    detail = api.get("/api/v1/surveys/panel/versions/1/").json()
    assert [f["name"] for f in detail["fields"]] == ["age", "city"]


@pytest.mark.django_db
def test_a_field_brought_back_must_match_every_earlier_version():
    publish(form(age_type="integer"))
    publish(xlsform([{"type": "text", "name": "city", EN: "City"}]))
    rows = [{"type": "date", "name": "age", EN: "Age"}, {"type": "text", "name": "city", EN: "City"}]
    result = publish(xlsform(rows))
    assert result.version is None
    assert "against version 1: field 'age' changes type from integer to date" in result.report.errors[0].message


@pytest.mark.django_db
def test_drafts_are_hidden_from_administrators_of_other_programmes():
    from accounts.models import Role
    from surveys.models import Survey
    from tests.factories import UserFactory

    owned, serpin = (Programme.objects.get_or_create(slug=s, name=s)[0] for s in ("bolashak", "serpin"))
    publish(form())
    services.survey_import_xlsform(data=form(age_type="text"), filename="panel.xlsx", survey_slug="panel")
    assert Survey.objects.get(slug="panel").programme == owned
    clients = {}
    for name, programme in (("owner", owned), ("outsider", serpin)):
        user = UserFactory(username=name, role=Role.PROGRAMME_ADMIN)
        user.programmes.add(programme)
        clients[name] = APIClient()
        clients[name].force_authenticate(user)
    assert clients["owner"].get("/api/v1/surveys/panel/versions/2/").status_code == 200
    assert clients["outsider"].get("/api/v1/surveys/panel/versions/2/").status_code == 404
    assert [v["number"] for v in clients["outsider"].get("/api/v1/surveys/panel/versions/").json()["results"]] == [1]
