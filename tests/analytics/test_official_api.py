"""The official-statistics API and pages: upload 201/400, who may upload, reading, rendering."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from analytics.models import Observation
from analytics.official.services import official_seed_load
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db]

DATA = Path(__file__).parent / "data"
GOOD = (DATA / "official_ok.csv").read_bytes()
BAD = GOOD.replace(b",RUS,", b",RUSSIA,")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(client, content: bytes, name: str = "official_ok.csv"):
    return client.post(reverse("official-api-imports"), {"file": SimpleUploadedFile(name, content)}, format="multipart")


def test_an_administrator_uploads_a_file(designer):
    response = upload(client_for(designer), GOOD)
    assert response.status_code == 201
    assert response.json()["rows_written"] == 4 and response.json()["warnings"] == 0
    assert Observation.objects.count() == 4


def test_a_bad_file_is_400_with_the_row_report_and_nothing_written(designer):
    response = upload(client_for(designer), BAD)
    assert response.status_code == 400
    [error] = [i for i in response.json()["issues"] if i["level"] == "error"]
    assert error["row"] == 3 and "'RUSSIA'" in error["message"]
    assert not Observation.objects.exists()


@pytest.mark.parametrize("role", [Role.RESPONDENT, Role.RESEARCHER])
def test_respondents_and_researchers_may_not_upload(role):
    response = upload(client_for(UserFactory(role=role)), GOOD)
    assert response.status_code == 403
    assert not Observation.objects.exists()


def test_a_superuser_uploads(db):
    response = upload(client_for(UserFactory(username="root", is_superuser=True)), GOOD)
    assert response.status_code == 201


def test_anyone_signed_in_reads_observations_with_filters(respondent):
    official_seed_load()
    client = client_for(respondent)
    response = client.get(reverse("official-api-observations"), {"indicator": "EMIG_PERM", "time_period": "2023"})
    assert response.status_code == 200
    assert [r["obs_value"] for r in response.json()["results"]] == [16094.0]
    both = client.get(
        reverse("official-api-observations"), {"indicator": "EMIG_PERM", "time_period": "2023", "all_vintages": "true"}
    )
    assert sorted(r["obs_status"] for r in both.json()["results"]) == ["A", "E"]
    flows = client.get(reverse("official-api-observations"), {"flow": "STOCK", "counterpart_area": "RUS"})
    assert {r["indicator_code"] for r in flows.json()["results"]} == {"STUD_ABROAD", "OE_5T8"}


def test_reading_needs_a_signed_in_user(db):
    assert APIClient().get(reverse("official-api-observations")).status_code in (401, 403)


def test_country_group_schemes_are_listed_and_read(respondent):
    official_seed_load()
    client = client_for(respondent)
    slugs = {s["slug"] for s in client.get(reverse("official-api-group-schemes")).json()}
    assert {"bns-cis", "hdi-2021", "un-m49-region", "gtci-top25-2023"} <= slugs
    cis = client.get(reverse("official-api-group-scheme", args=["bns-cis"])).json()
    assert cis["members"]["UKR"] == "CIS" and cis["groups"]["NON_CIS"] == "Non-CIS countries"


def test_the_upload_page_renders_for_an_administrator(client, designer):
    client.force_login(designer)
    response = client.get(reverse("analytics:official-imports"))
    assert response.status_code == 200
    assert b"Official statistics" in response.content


def test_the_upload_page_shows_the_row_report(client, designer):
    client.force_login(designer)
    response = client.post(reverse("analytics:official-imports"), {"file": SimpleUploadedFile("bad.csv", BAD)})
    assert response.status_code == 400
    assert b"RUSSIA" in response.content and b"nothing was written" in response.content


def test_the_upload_page_is_forbidden_to_a_respondent(client, respondent):
    client.force_login(respondent)
    assert client.get(reverse("analytics:official-imports")).status_code == 403


def test_the_groups_page_uploads_a_grouping(client, designer, bolashak):
    client.force_login(designer)
    content = b"scheme,group_code,country,label\nHosts,RUS,RUS,Russia\n"
    response = client.post(
        reverse("analytics:official-groups"), {"file": SimpleUploadedFile("g.csv", content), "programme": bolashak.pk}
    )
    assert response.status_code == 200
    assert b"hosts" in response.content


def test_a_vintage_id_out_of_range_is_a_bad_request_not_a_server_error(respondent):
    response = client_for(respondent).get(reverse("official-api-observations"), {"vintage": str(10**27)})
    assert response.status_code == 400
    assert "vintage" in response.json()
