"""Who reads which analysis: pages and API, scoped by programme, suppressed by audience."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client, TestCase
from rest_framework.test import APIClient

from accounts.models import Programme, Role
from analytics.models import AggregationJob
from surveys.demo import instruments_load
from tests.analytics.waves import MARGIN_2019, computed, official_loaded, wave_with_answers
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]


@pytest.fixture
def world(db):
    official_loaded()
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    serpin = Programme.objects.create(slug="serpin", name="Serpin-2050")
    version_a = instruments_load(bolashak)[0]
    version_b = instruments_load(serpin, prefix="serpin-")[0]
    wave_a = wave_with_answers(version_a, "wave-a", 120, margins=[MARGIN_2019])
    wave_b = wave_with_answers(version_b, "wave-b", 40, seed=7)
    for wave in (wave_a, wave_b):
        job = computed(wave)
        assert job.status == AggregationJob.Status.COMPLETE, job.error
    admin_a = UserFactory(username="admin-a", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin_a.programmes.add(bolashak)
    admin_b = UserFactory(username="admin-b", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin_b.programmes.add(serpin)
    users = {
        "admin_a": admin_a,
        "admin_b": admin_b,
        "researcher": UserFactory(username="researcher", role=Role.RESEARCHER),
        "respondent": UserFactory(username="graduate"),
        "staff": UserFactory(username="staff", role=Role.INSTITUTION_STAFF),
    }
    return {"a": wave_a, "b": wave_b, "users": users}


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_administrators_read_their_programmes_waves_only_and_others_no_analysis(world):
    a, b, users = world["a"], world["b"], world["users"]
    listed = {w["slug"] for w in api_as(users["admin_a"]).get("/api/v1/analytics/waves/").json()}
    assert listed == {"wave-a"}
    assert api_as(users["admin_a"]).get(f"/api/v1/analytics/waves/{b.slug}/tables/").status_code == 404
    assert api_as(users["admin_b"]).get(f"/api/v1/analytics/waves/{a.slug}/tables/").status_code == 404
    assert page_as(users["admin_b"]).get(f"/analytics/waves/{a.slug}/").status_code == 404
    assert api_as(users["admin_b"]).post(f"/api/v1/analytics/waves/{a.slug}/jobs/").status_code == 404
    job = AggregationJob.objects.filter(wave=a).first()
    assert api_as(users["admin_b"]).get(f"/api/v1/analytics/jobs/{job.pk}/").status_code == 404
    assert api_as(users["admin_a"]).get(f"/api/v1/analytics/jobs/{job.pk}/").status_code == 200
    # administrators get their threshold, and both weightings
    tables = api_as(users["admin_a"]).get("/api/v1/analytics/waves/wave-a/tables/?indicator=barriers").json()
    assert {t["threshold"] for t in tables} == {5}
    assert {t["weighting"] for t in tables} == {"none", "raked"}
    # respondents and institution staff see no survey analysis; official statistics are public figures
    for role in ("respondent", "staff"):
        user = users[role]
        assert api_as(user).get("/api/v1/analytics/waves/").status_code == 403
        assert api_as(user).get(f"/api/v1/analytics/waves/{a.slug}/tables/").status_code == 403
        assert page_as(user).get(f"/analytics/waves/{a.slug}/").status_code == 403
        assert api_as(user).get("/api/v1/analytics/monitoring/gain/").status_code == 403
        assert page_as(user).get("/analytics/official/").status_code == 200


def test_researchers_get_every_wave_at_the_public_threshold_and_never_raw_cells(world):
    client = api_as(world["users"]["researcher"])
    listed = {w["slug"] for w in client.get("/api/v1/analytics/waves/").json()}
    assert listed == {"wave-a", "wave-b"}
    tables = client.get("/api/v1/analytics/waves/wave-b/tables/").json()
    assert tables
    for table in tables:
        assert table["threshold"] == 10
        assert "published" not in table
        for cell in table["cells"]:
            assert cell["suppressed"] or cell["n"] in (None, 0) or cell["n"] >= 10
    assert client.post("/api/v1/analytics/waves/wave-b/jobs/").status_code == 403
    # the same as CSV, with the suppression
    response = client.get("/api/v1/analytics/waves/wave-b/tables/?indicator=return_intention&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows and {r["indicator"] for r in rows} == {"return_intention"}
    for row in rows:
        if row["suppressed"] == "1":
            assert row["n"] == "" and row["estimate"] == ""
        else:  # a published count is a known zero or at least the threshold
            assert int(row["n"]) == 0 or int(row["n"]) >= 10


def test_the_wave_page_shows_charts_with_sources_and_recomputes(world):
    client = page_as(world["users"]["admin_a"])
    html = client.get("/analytics/waves/wave-a/").content.decode()
    assert "chart.umd.min.js" in html and "data-chart=" in html
    assert 'data-caption="source"' in html and "OE_5T8 2019" in html
    assert "effective n" in html
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/analytics/waves/wave-a/recompute/")
    assert response.status_code == 302
    assert AggregationJob.objects.filter(wave=world["a"]).count() == 2
    assert page_as(world["users"]["researcher"]).post("/analytics/waves/wave-a/recompute/").status_code == 403


def test_monitoring_pages_and_official_statistics(world):
    for pillar in ("gain", "train", "circulation", "linkage"):
        response = page_as(world["users"]["admin_a"]).get(f"/analytics/monitoring/{pillar}/")
        assert response.status_code == 200
        assert 'data-caption="source"' in response.content.decode()
        data = api_as(world["users"]["researcher"]).get(f"/api/v1/analytics/monitoring/{pillar}/").json()
        assert data["figures"]
    html = page_as(world["users"]["researcher"]).get("/analytics/official/").content.decode()
    digits = html.replace(",", "").replace(" ", "").replace("\xa0", "")
    assert "16094" in digits and "12732" in digits
    assert "deregister" in html
