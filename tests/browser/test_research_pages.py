"""The research-data workflow in a real browser: a researcher asks, an administrator approves, the researcher downloads."""

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from pycanon import anonymity

from accounts.models import Programme, Role
from surveys.demo import instruments_load
from tests.analytics.waves import wave_with_answers
from tests.browser.test_analytics_pages import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tasks_in_process")]
QUASI = ["country_residence", "field_of_study", "departure_year"]


def test_a_researcher_requests_an_administrator_approves_and_the_researcher_downloads(page, live_server, screenshot):
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    version = instruments_load(bolashak)[0]
    wave_with_answers(version, "research-wave", 200)
    admin = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin.programmes.add(bolashak)
    UserFactory(username="ruslan", role=Role.RESEARCHER)

    sign_in(page, live_server, "ruslan")
    assert page.url.rstrip("/").endswith("/analytics/research")
    page.click("text=Request data")
    page.click("form button.primary")  # the one survey with responses
    page.check("input[name=waves][value=research-wave]")
    for name in [*QUASI, "return_intention", "barrier_salary"]:
        page.check(f"input[name=variables][value={name}]")
    page.check("input[name=formats][value=parquet]")
    page.fill("input[name=institution]", "KIMEP University")
    page.fill("textarea[name=purpose]", "Barriers to return by field")
    page.check("input[name=terms]")
    page.click("text=Send the request")
    assert "Awaiting review" in page.content()
    screenshot("research-request-researcher")

    page.context.clear_cookies()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "amina")
    page.goto(f"{live_server.url}/analytics/research/")
    page.click("text=#")
    assert "k achieved" in page.content()
    page.uncheck("input[name=variables][value=barrier_salary]")
    page.click("text=Approve the ticked variables")
    assert "Approved with fewer variables" in page.content()
    screenshot("research-request-admin")

    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "ruslan")
    page.click("text=#")
    with page.expect_download() as download:
        page.click("text=Download the zip")
    content = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        frame = pd.read_parquet(io.BytesIO(archive.read("data.parquet")))
        assert "codebook.html" in archive.namelist() and "codebook.ddi.xml" in archive.namelist()
    assert "barrier_salary" not in frame.columns
    data = frame[[*QUASI, "return_intention"]].astype(object).where(frame.notna(), "<missing>").astype(str)
    assert anonymity.k_anonymity(data, QUASI) >= 3
    assert anonymity.l_diversity(data, QUASI, ["return_intention"]) >= 2
