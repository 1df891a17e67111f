"""A graduate lists two jobs in the work-history repeat, on a phone, and removes one."""

import pytest
from django.utils import timezone

from surveys.models import Response, Wave
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_a_graduate_adds_two_jobs_fixes_one_and_removes_the_other(browser, live_server, graduate_version):
    Wave.objects.create(survey=graduate_version.survey, version=graduate_version, slug="grad-2026",
                        name="Graduates 2026", is_public=True, opens_at=timezone.now())  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=PHONE, locale="ru-RU")
    page = context.new_page()
    page.goto(f"{live_server.url}/s/grad-2026/?lang=ru")
    with page.expect_navigation():
        page.click("button[value=start]")
    response = Response.objects.get()
    response.answers = {"country_residence": "DEU", "respondent_status": "graduated", "study_level": "master",
                        "field_of_study": "f06_ict", "programme": "bolashak", "departure_year": 2019,
                        "graduation_year": 2021, "employment_status": "job_related"}  # fmt: skip
    response.save()
    jobs_page = graduate_version.instrument.pages.index(
        next(p for p in graduate_version.instrument.pages if p.group == "jobs")
    )
    page.goto(page.url.split("?")[0] + f"?page={jobs_page}&lang=ru")
    page.wait_for_selector("text=История работы и проживания")
    assert page.locator("fieldset.entry").count() == 0

    def press(value):
        with page.expect_navigation():
            page.click(f"button[value='{value}']")

    press("add:jobs")
    page.fill("[name='jobs[1].job_employer']", "Siemens")
    page.select_option("[name='jobs[1].job_country']", "DEU")
    page.fill("[name='jobs[1].job_start']", "2021-09")
    page.fill("[name='jobs[1].job_end']", "2020-01")  # before it started: refused for this entry
    page.locator("[name='jobs[1].job_region']").fill("Berlin")
    page.locator("[name='jobs[1].job_region']").dispatch_event("change")  # the page script saves and re-checks
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert page.locator("[data-repeat-add=jobs]").is_visible()  # the script leaves the add button alone
    press("add:jobs")
    assert page.locator("fieldset.entry").count() == 2
    page.fill("[name='jobs[2].job_employer']", "KazMunayGas")
    page.select_option("[name='jobs[2].job_country']", "KAZ")
    page.fill("[name='jobs[2].job_start']", "2024-02")
    page.check("[name='jobs[2].job_related'][value='yes']")
    page.screenshot(path=str(ARTIFACTS / "repeat-ru-phone-two-jobs.png"), full_page=True)
    with page.expect_navigation():
        page.click("button.primary")
    error = page.locator("[id='err-jobs[1].job_end']")
    assert "не раньше месяца начала" in error.inner_text()
    assert page.locator("[id='err-jobs[2].job_end']").inner_text() == ""
    page.screenshot(path=str(ARTIFACTS / "repeat-ru-phone-error.png"), full_page=True)

    press("remove:jobs:1")
    assert page.locator("fieldset.entry").count() == 1
    assert page.input_value("[name='jobs[1].job_employer']") == "KazMunayGas"
    with page.expect_navigation():
        page.click("button.primary")
    stored = Response.objects.get().answers["jobs"]
    assert stored == [{"job_employer": "KazMunayGas", "job_country": "KAZ", "job_start": "2024-02-01",
                       "job_related": "yes"}]  # fmt: skip
    context.close()
