"""A fresh demo shows each programme's administrator their own wave, responses and requests on first login."""

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def signed_in(username: str, password: str) -> tuple[Client, str]:
    client = Client()
    answer = client.post("/accounts/login/", {"username": username, "password": password}, follow=True)
    assert answer.status_code == 200
    return client, answer.content.decode()


def test_the_demo_administrator_lands_on_their_programmes_wave_responses_and_requests(demo):
    _client, home = signed_in("programme-admin", "admin-demo-2026")
    assert "Graduates abroad 2026" in home  # Bolashak's wave, with its responses counted
    assert 'id="waves-bolashak"' in home and "5 complete responses" in home
    assert "Hydrology co-supervisor" in home and "Reservoir engineering consulting" in home
    assert "Serpin-2050 graduates 2026" not in home and "Mentors for graduates working in Pavlodar" not in home


def test_the_second_programme_has_its_own_administrator_and_data(demo):
    client, home = signed_in("serpin-admin", "serpin-demo-2026")
    assert "Serpin-2050 graduates 2026" in home and "Mentors for graduates working in Pavlodar" in home
    assert "Graduates abroad 2026" not in home and "Hydrology co-supervisor" not in home
    assert client.get("/staff/waves/graduates-2026/").status_code == 404


def test_loading_the_demo_twice_changes_nothing(demo, settings):
    from surveys.models import Response, Wave

    before = (Wave.objects.count(), Response.objects.count())
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (Wave.objects.count(), Response.objects.count()) == before


def test_the_programme_is_named_in_the_readers_language(demo):
    client, _home = signed_in("programme-admin", "admin-demo-2026")
    client.cookies["django_language"] = "ru"
    # the administrator's home names each programme they administer
    assert "Болашак" in client.get("/", follow=True).content.decode()


@pytest.mark.slow
def test_the_obligations_demo_shows_each_administrator_their_cohorts_and_the_graduate_their_record(demo):
    from diaspora.models import Participation

    call_command("load_obligations_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    bolashak = Participation.objects.filter(programme__slug="bolashak", synthetic=True)
    counts = {s: bolashak.filter(status=s).count() for s in ("fulfilled", "in_service", "pending_return", "breached")}
    total = bolashak.count()
    # Near the operator's 2023 split: 9,527 fulfilled, 2,987 on monitoring, 268 not returned (of 12,782).
    assert 0.68 < counts["fulfilled"] / total < 0.80
    assert 0.15 < (counts["in_service"] + counts["pending_return"]) / total < 0.30
    assert counts["breached"] / total < 0.06
    _client, home = signed_in("programme-admin", "admin-demo-2026")
    assert 'id="returns-bolashak"' in home and "returns-serpin-2050" not in home
    client, home = signed_in("serpin-admin", "serpin-demo-2026")
    assert 'id="returns-serpin-2050"' in home
    assert "Serpin" in client.get("/registry/returns/").content.decode()
    graduate, _home = signed_in("graduate", "graduate-demo-2026")
    mine = graduate.get("/registry/me/obligations/").content.decode()
    assert 'id="standing"' in mine and 'id="timeline"' in mine
    call_command("load_obligations_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert bolashak.count() == total  # a rerun adds nothing
