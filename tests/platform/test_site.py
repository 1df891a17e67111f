"""One site: the front page, each role's home, one layout on every page, the error pages."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from accounts.models import Programme, Role
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_user(db):
    programme = Programme.objects.create(slug="bolashak", name="Bolashak", names={"ru": "Болашак"})
    user = UserFactory(role=Role.PROGRAMME_ADMIN, first_name="Aliya", last_name="Nurbekova")
    user.programmes.add(programme)
    return user


def test_the_front_page_is_a_home_page_not_the_api_docs():
    page = Client().get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "swagger" not in text.lower()
    assert 'href="/accounts/login/"' in text and 'href="/registry/join/"' in text


def test_a_programme_administrator_lands_on_their_programmes(admin_user):
    client = client_for(admin_user)
    answer = client.post("/accounts/login/", {}, follow=False)  # already signed in: the form again
    assert answer.status_code == 200
    home = client.get("/")
    assert home.status_code == 200
    text = home.content.decode()
    assert "Bolashak" in text and 'id="waves-bolashak"' in text and 'id="returns-bolashak"' in text
    assert 'href="/staff/"' in text and 'href="/registry/returns/"' in text


def test_the_programme_home_names_the_programme_in_the_readers_language(admin_user):
    client = client_for(admin_user)
    client.cookies["django_language"] = "ru"
    assert "Болашак" in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (Role.INSTITUTION_STAFF, "/registry/requests/"),
        (Role.RESEARCHER, "/analytics/research/"),
        (Role.RESPONDENT, "/registry/"),
    ],
)
def test_each_role_lands_on_its_own_home(role, home):
    answer = client_for(UserFactory(role=role)).get("/")
    assert answer.status_code == 302 and answer["Location"] == home


def test_a_respondent_home_lists_their_surveys_and_the_registry(graduate_version):
    from surveys.models import Invitation, Panel, PanelMember, Respondent, Wave
    from surveys.services.invitations import wave_invite

    user = UserFactory(role=Role.RESPONDENT, email="erlan@example.kz")
    panel = Panel.objects.create(slug="p", name="P", programme=graduate_version.survey.programme)
    respondent = Respondent.objects.create(email=user.email, user=user)
    PanelMember.objects.create(panel=panel, respondent=respondent, name="Erlan", language="kk")
    wave = Wave.objects.create(
        survey=graduate_version.survey, version=graduate_version, slug="w-2026", name="W", panel=panel
    )
    wave_invite(wave=wave)
    page = client_for(user).get("/registry/")
    text = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'href="/i/[\w-]+/"', text)  # the personal link, rebuilt from the invitation
    assert 'href="/registry/join/"' in text  # no profile yet: the way to create one
    other = client_for(UserFactory(role=Role.RESPONDENT)).get("/registry/").content.decode()
    assert "/i/" not in other  # another account does not see this invitation
    assert Invitation.objects.filter(respondent=respondent).count() == 1


@pytest.mark.parametrize("path", ["/", "/staff/", "/registry/requests/", "/analytics/", "/registry/returns/"])
def test_every_page_has_the_users_name_the_language_switch_and_sign_out(admin_user, path):
    text = client_for(admin_user).get(path).content.decode()
    assert "Aliya Nurbekova" in text
    assert 'action="/i18n/setlang/"' in text
    assert 'action="/accounts/logout/"' in text


def test_the_sign_in_page_uses_the_site_layout_and_offers_the_registry():
    text = Client().get("/accounts/login/").content.decode()
    assert 'action="/i18n/setlang/"' in text and 'href="/registry/join/"' in text


@override_settings(DEBUG=False)
@pytest.mark.parametrize(
    ("language", "title"), [("kk", "Бет табылмады"), ("ru", "Страница не найдена"), ("en", "Page not found")]
)
def test_the_404_page_is_styled_translated_and_never_names_the_resolver(language, title):
    client = Client()
    client.cookies["django_language"] = language
    answer = client.get("/no/such/page/")
    text = answer.content.decode()
    assert answer.status_code == 404
    assert title in text and "site/site.css" in text
    assert "Resolver404" not in text and "current path" not in text and "matches the given query" not in text


@override_settings(DEBUG=False)
def test_a_model_lookup_404_does_not_name_the_model(admin_user):
    text = client_for(admin_user).get("/staff/waves/no-such-wave/").content.decode()
    assert "matches the given query" not in text and "Wave" not in text


@override_settings(DEBUG=False)
def test_the_403_page_is_the_sites():
    answer = client_for(UserFactory(role=Role.RESPONDENT)).get("/staff/")
    assert answer.status_code == 403
    assert "site/site.css" in answer.content.decode() and 'action="/accounts/logout/"' in answer.content.decode()


def test_the_500_page_renders_without_a_request_context():
    from django.test import RequestFactory

    from config.api import server_error

    answer = server_error(RequestFactory().get("/staff/"))
    assert answer.status_code == 500 and b"site/site.css" in answer.content


def test_no_app_names_a_higher_apps_template_or_page():
    """accounts and surveys sit below diaspora: they never extend its templates or reverse its URL names."""
    for app in ("accounts", "surveys"):
        for path in (ROOT / app).rglob("*"):
            if path.suffix not in (".py", ".html", ".txt") or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            assert "diaspora/" not in re.sub(r"#.*", "", text) or path.suffix == ".py", path
            assert not re.search(r"""(reverse\(|\{% url )["']diaspora-""", text), path


def test_the_demo_summary_names_the_address_and_every_account():
    from io import StringIO

    from accounts.demo import DEMO_ACCOUNTS

    out = StringIO()
    call_command("demo_summary", "--address", "http://127.0.0.1:8000", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text
    for username, _role, password, *_rest in DEMO_ACCOUNTS:
        assert username in text and password in text
    assert "Content-Type:" not in text
