"""Panel imports from CSV and XLSX, with a per-row report, and the panel API."""

import io

import factory
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook
from rest_framework.test import APIClient

from accounts.models import Programme, Role
from surveys.models import Panel, PanelImport, PanelMember, Respondent
from surveys.services.panels import PanelImportError, language_code, panel_import
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"programme-{n}")
    name = factory.LazyAttribute(lambda p: p.slug.title())


class PanelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Panel

    slug = factory.Sequence(lambda n: f"panel-{n}")
    name = factory.LazyAttribute(lambda p: p.slug.title())
    programme = factory.SubFactory(ProgrammeFactory)


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def xlsx_bytes(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


MIXED_CSV = csv_bytes(
    "email,language,name,id:bolashak,country,cohort",
    "aigerim@example.org,kk,Aigerim,B-1,DEU,2019",
    "not-an-email,ru,Bad,,USA,2020",
    "daniyar@example.org,Klingon,Daniyar,,GBR,2020",
    "AIGERIM@example.org,ru,Again,,DEU,2019",
    ",,,,,",
    "saule@example.org,ru-RU,Saule,B-2,USA,2021",
    "erlan@example.org,,Erlan,,KAZ,2018",
)


@pytest.fixture
def panel():
    return PanelFactory(slug="bolashak-alumni")


def test_valid_rows_are_added_and_invalid_rows_reported_with_their_row_numbers(panel):
    result = panel_import(panel=panel, data=MIXED_CSV, filename="alumni.csv", user=None)
    assert (result.added, result.updated, result.skipped) == (3, 0, 3)
    reasons = {entry["row"]: entry["reason"] for entry in result.report}
    assert reasons == {
        3: "bad email",
        4: "unknown language 'Klingon'",
        5: "duplicate in file (first at row 2)",
        6: "empty row",
    }
    assert PanelMember.objects.filter(panel=panel).count() == 3


def test_columns_map_to_language_external_ids_and_attributes(panel):
    panel_import(panel=panel, data=MIXED_CSV, filename="alumni.csv", user=None)
    saule = PanelMember.objects.get(panel=panel, respondent__email="saule@example.org")
    assert saule.language == "ru" and saule.name == "Saule"
    assert saule.external_ids == {"bolashak": "B-2"}
    assert saule.attributes == {"country": "USA", "cohort": "2021"}
    assert PanelMember.objects.get(panel=panel, respondent__email="erlan@example.org").language == "kk"


def test_an_existing_respondent_is_reused_whatever_the_case_of_the_address(panel):
    existing = Respondent.objects.create(email="Aigerim@Example.org")
    panel_import(panel=panel, data=MIXED_CSV, filename="alumni.csv", user=None)
    assert Respondent.objects.filter(email__iexact="aigerim@example.org").count() == 1
    membership = existing.memberships.get()
    assert membership.name == "Aigerim" and membership.panel == panel


def test_a_second_import_updates_the_attributes_of_members(panel):
    panel_import(panel=panel, data=MIXED_CSV, filename="alumni.csv", user=None)
    again = panel_import(
        panel=panel, data=csv_bytes("email,cohort", "aigerim@example.org,2020"), filename="fix.csv", user=None
    )
    assert (again.added, again.updated) == (0, 1)
    assert again.report == [
        {
            "row": 2,
            "email": "aigerim@example.org",
            "status": "updated",
            "reason": "already a member: details updated",
        }
    ]
    member = PanelMember.objects.get(panel=panel, respondent__email="aigerim@example.org")
    assert member.attributes == {"country": "DEU", "cohort": "2020"}


def test_an_xlsx_file_is_imported_with_numbers_as_text(panel):
    data = xlsx_bytes(
        [
            ["Email", "Language", "Country", "Cohort"],
            ["asel@example.org", "Қазақша", "TUR", 2019],
            ["bad@", "en", "USA", 2020],
            [None, None, None, None],
        ]
    )
    result = panel_import(panel=panel, data=data, filename="alumni.xlsx", user=None)
    assert (result.added, result.skipped) == (1, 1)
    assert result.report == [{"row": 3, "email": "bad@", "status": "skipped", "reason": "bad email"}]
    member = PanelMember.objects.get(panel=panel)
    assert member.attributes == {"country": "TUR", "cohort": "2019"}
    assert member.language == "kk"


def test_a_semicolon_separated_windows_csv_is_read(panel):
    data = "email;name;city\nmarat@example.org;Марат;Алматы\n".encode("cp1251")
    result = panel_import(panel=panel, data=data, filename="excel.csv", user=None)
    assert result.added == 1
    assert PanelMember.objects.get().attributes == {"city": "Алматы"}


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"email\nx@example.org\n", "list.pdf", "not a .csv or .xlsx"),
        (b"not a zip", "list.xlsx", "cannot be read"),
        (b"name,country\nAigerim,DEU\n", "list.csv", "no 'email' column"),
        (b"", "list.csv", "empty"),
    ],
)
def test_an_unusable_file_is_refused_whole_and_nothing_is_written(panel, data, filename, message):
    with pytest.raises(PanelImportError, match=message):
        panel_import(panel=panel, data=data, filename=filename, user=None)
    assert not Respondent.objects.exists() and not PanelImport.objects.exists()


@pytest.mark.parametrize(
    ("raw", "code"),
    [("kk", "kk"), ("Қазақша", "kk"), ("ru-RU", "ru"), ("Русский", "ru"), ("EN_gb", "en"), ("de", None), ("x", None)],
)
def test_languages_are_mapped_only_when_clear(raw, code):
    assert language_code(raw) == code


# --------------------------------------------------------------------------- API


@pytest.fixture
def owner(panel):
    user = UserFactory(username="owner", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(panel.programme)
    return user


@pytest.fixture
def outsider():
    user = UserFactory(username="outsider", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(ProgrammeFactory(slug="serpin"))
    return user


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(data=MIXED_CSV, name="alumni.csv"):
    return {"file": SimpleUploadedFile(name, data, content_type="text/csv")}


def test_the_import_endpoint_returns_the_report(owner, panel):
    response = client_for(owner).post(f"/api/v1/panels/{panel.slug}/imports/", upload(), format="multipart")
    assert response.status_code == 201
    body = response.json()
    assert (body["added"], body["skipped"]) == (3, 3)
    assert {"row": 3, "email": "not-an-email", "status": "skipped", "reason": "bad email"} in body["report"]


def test_the_import_endpoint_refuses_a_file_without_email_column(owner, panel):
    response = client_for(owner).post(f"/api/v1/panels/{panel.slug}/imports/", upload(b"name\nX\n"), format="multipart")
    assert response.status_code == 400
    assert "email" in response.json()["file"][0]


def test_an_administrator_of_another_programme_cannot_import(outsider, panel):
    response = client_for(outsider).post(f"/api/v1/panels/{panel.slug}/imports/", upload(), format="multipart")
    assert response.status_code == 404
    assert not Respondent.objects.exists()


def test_a_respondent_cannot_import(respondent, panel):
    response = client_for(respondent).post(f"/api/v1/panels/{panel.slug}/imports/", upload(), format="multipart")
    assert response.status_code in (403, 404)
    assert not Respondent.objects.exists()


def test_the_panel_list_shows_own_panels_with_member_counts(owner, outsider, panel):
    PanelFactory(slug="serpin-alumni", programme=outsider.programmes.get())
    panel_import(panel=panel, data=MIXED_CSV, filename="alumni.csv", user=owner)
    body = client_for(owner).get("/api/v1/panels/").json()
    assert [(p["slug"], p["member_count"]) for p in body["results"]] == [("bolashak-alumni", 3)]
    other = client_for(outsider).get("/api/v1/panels/").json()
    assert [p["slug"] for p in other["results"]] == ["serpin-alumni"]
