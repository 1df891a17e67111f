"""The returns pages in a real browser: an administrator's figures and curves (Chart.js draws
them), the at-risk list, a participant's own record, and an employer's confirmation on a phone."""

import datetime as dt

import pytest

from accounts.models import Programme, Role
from diaspora.models import Episode, ObligationRule, Participation, Person
from diaspora.services.obligation_imports import episodes_import, participants_import
from diaspora.services.obligations import employer_link_request
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tasks_in_process")]
PASSWORD = "correct horse battery staple"


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click('form[action="/accounts/login/"] button.primary')
    page.wait_for_load_state("networkidle")


def test_an_administrator_sees_figures_curves_and_the_at_risk_list_and_a_participant_their_record(
    page, live_server, screenshot
):
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    ObligationRule.objects.create(programme=bolashak, version=1, name="Five years", adopted_on=dt.date(2008, 1, 1),
                                  cohorts_from=2005, months_required=60, window_months=96, countries=["KAZ"])  # fmt: skip
    admin = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin.programmes.add(bolashak)
    rows = "".join(f"B-{i},Scholar {i},,{2016 + i % 4},{2019 + i % 4}-06-30\n" for i in range(120))
    participants_import(programme=bolashak, user=admin, filename="b.csv",
                        data=("external_id,full_name,email,cohort,graduation_date\n" + rows).encode())  # fmt: skip
    records = "".join(
        f"B-{i},employment,{2019 + i % 4}-{1 + i % 9:02d}-01,,KAZ,KZ-71,Employer {i},yes,administrative\n"
        for i in range(120) if i % 5
    )  # fmt: skip
    episodes_import(programme=bolashak, user=admin, filename="e.csv",
                    data=("external_id,kind,start,end,country,region,employer,specialty_related,source\n" + records).encode())  # fmt: skip
    member = UserFactory(username="scholar", role=Role.RESPONDENT)
    person = Person.objects.create(user=member, display_name="Scholar Zero", last_confirmed_at="2026-01-01T00:00:00Z")
    mine = Participation.objects.get(external_id="B-0")
    mine.person = person
    mine.save()

    sign_in(page, live_server, "amina")
    assert page.locator("#returns-bolashak [data-figure=return_12m] .value").inner_text().endswith("%")
    screenshot("obligations-admin-home")
    page.click("#returns-bolashak a.button")
    page.wait_for_load_state("networkidle")
    flags = page.eval_on_selector_all("canvas[data-chart]", "nodes => nodes.map(n => n.getAttribute('data-drawn'))")
    assert len(flags) >= 2 and all(flag == "true" for flag in flags)
    assert page.locator("table[data-indicator=return_12m] tbody tr").count() >= 2
    screenshot("obligations-overview")
    page.goto(f"{live_server.url}/registry/returns/participants/?programme=bolashak&at_risk=1")
    assert page.locator("#participants tbody tr").count() >= 1
    page.locator("#participants tbody tr a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#timeline").count() == 1 or "No episode is on record yet." in page.content()
    screenshot("obligations-participant-admin")

    page.context.clear_cookies()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "scholar")
    page.click("text=My obligation")
    page.wait_for_load_state("networkidle")
    assert page.locator("#standing").count() == 1
    page.locator("#episodes details.add").evaluate("node => { node.open = true; }")
    page.select_option("#episodes select[name=kind]", "employment")
    page.fill("#episodes input[name=start]", "2024-03-01")
    page.fill("#episodes input[name=country]", "KAZ")
    page.fill("#episodes input[name=employer]", "Kaspi")
    page.click("#episodes form.stack button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Kaspi" in page.locator("#timeline").inner_text()
    screenshot("obligations-participant-phone")

    episode = Episode.objects.get(participation=mine, employer="Kaspi")
    link = employer_link_request(episode, email="hr@kaspi.example", user=member, base_url=live_server.url)
    page.context.clear_cookies()
    page.goto(link)
    assert "Scholar 0" in page.content() and "Kaspi" in page.content()  # the name on the programme's list
    page.click("button[value=confirm]")
    page.wait_for_load_state("networkidle")
    assert "confirmed by the employer" in page.content()
    screenshot("obligations-employer-phone")
    episode.refresh_from_db()
    assert episode.source == "employer"
