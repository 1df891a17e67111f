"""The directory export and the admin list: hidden, paused and withdrawn people are in neither."""

import csv
import io

import pytest

from accounts.models import Role
from diaspora.models import Consent, Person, Visibility
from diaspora.services.registry import consent_withdraw, person_set_status
from tests.diaspora.people import expert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    client.force_login(staff)
    return client


def _exported(client, query=""):
    response = client.get("/registry/people/export.csv" + query)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_export_holds_listed_people_with_the_fields_the_viewer_may_see(staff_client):
    expert("erlan", country="DEU")
    rows = _exported(staff_client)
    assert [r["display_name"] for r in rows] == ["Erlan"]
    assert rows[0]["skills"] == "hydrology gis" and rows[0]["country"] == ""  # location: administrators only


def test_the_export_leaves_out_a_hidden_profile(staff_client):
    expert("erlan", visibility={"profile": Visibility.HIDDEN})
    assert _exported(staff_client) == []


def test_the_export_leaves_out_a_withdrawn_consent(staff_client):
    consent_withdraw(person=expert("erlan"), purpose=Consent.Purpose.REGISTRY)
    assert _exported(staff_client) == []


def test_the_export_leaves_out_a_paused_profile(staff_client):
    person_set_status(person=expert("erlan"), status=Person.Status.PAUSED)
    assert _exported(staff_client) == []


def test_the_export_follows_the_filters(staff_client):
    expert("erlan")
    expert("lawyer", skills=["corporate-law"], field="042", bio="Corporate lawyer.")
    assert [r["display_name"] for r in _exported(staff_client, "?skill=corporate-law")] == ["Lawyer"]


def test_the_export_defuses_spreadsheet_formulas(staff_client):
    expert("erlan", tags=["=cmd|calc"])
    assert _exported(staff_client)[0]["tags"].startswith("'=")


def test_the_admin_list_leaves_out_hidden_and_withdrawn_people(client):
    admin = UserFactory(username="boss", is_superuser=True, is_staff=True)
    expert("shown")
    expert("hidden", visibility={"profile": Visibility.HIDDEN})
    consent_withdraw(person=expert("withdrawn"), purpose=Consent.Purpose.REGISTRY)
    client.force_login(admin)
    html = client.get("/admin/diaspora/person/").content.decode()
    assert "Shown" in html and "Hidden" not in html and "Withdrawn" not in html
