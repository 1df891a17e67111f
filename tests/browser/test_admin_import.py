"""A programme administrator imports XLSForms through the admin, in a real browser."""

import pytest

from accounts.models import Programme, Role
from surveys.demo import standard_instrument_path
from surveys.models import SurveyVersion
from tests.factories import UserFactory, xlsform

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin_page(page, live_server):
    from accounts.demo import programme_admin_group

    user = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.groups.add(programme_admin_group())
    user.programmes.add(Programme.objects.create(slug="bolashak", name="Bolashak"))  # new surveys become Bolashak's
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "amina")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#content")
    return page


def open_import(page, live_server):
    page.goto(f"{live_server.url}/admin/surveys/survey/")
    page.click("text=Import an XLSForm")
    page.wait_for_selector("#import-form")


def test_an_invalid_form_shows_every_problem_and_saves_nothing(admin_page, live_server, tmp_path, screenshot):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(
        xlsform(
            [
                {"type": "integr", "name": "age", "label::English (en)": "Age"},
                {"type": "text", "name": "pick"},
                {
                    "type": "text",
                    "name": "city",
                    "label::English (en)": "City",
                    "relevant": "pulldata('a', 'b', 'c', 1) = 1",
                },
            ]
        )
    )
    open_import(admin_page, live_server)
    admin_page.set_input_files("#id_file", str(bad))
    admin_page.click("input[value=Import]")
    admin_page.wait_for_selector("#import-report")
    rows = admin_page.locator("tr.import-error")
    assert rows.count() == 3
    texts = rows.all_inner_texts()
    assert "unknown question type 'integr'" in texts[0] and "\t2\ttype\t" in texts[0]
    assert "has no label" in texts[1]
    assert "pulldata(): not supported" in texts[2] and "relevant" in texts[2]
    screenshot("admin-import-refused")
    assert not SurveyVersion.objects.exists()


def test_a_standard_instrument_is_imported_and_published(admin_page, live_server, screenshot):
    open_import(admin_page, live_server)
    admin_page.set_input_files("#id_file", str(standard_instrument_path("graduate_return")))
    admin_page.fill("#id_survey", "graduate-return")
    admin_page.click("input[value=Import]")
    admin_page.wait_for_selector("text=Imported graduate-return v1 (published)")
    screenshot("admin-import-published")
    version = SurveyVersion.objects.get()
    assert version.is_published and version.languages == ["kk", "ru", "en"]


def test_the_api_docs_render(page, live_server, screenshot):
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector("text=Kelu API")
    page.wait_for_selector("text=/api/v1/surveys/{slug}/responses/")
    screenshot("api-docs")
