import pytest
from django.test import Client

from accounts.demo import programme_admin_group
from accounts.models import Programme, Role
from surveys.models import Survey, Wave
from tests.factories import UserFactory


@pytest.fixture
def programmes(db):
    return Programme.objects.create(slug="bolashak", name="Bolashak"), Programme.objects.create(
        slug="serpin", name="Serpin-2050"
    )


def staff_client(username, programme):
    user = UserFactory(username=username, role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.groups.add(programme_admin_group())
    if programme is not None:
        user.programmes.add(programme)
    client = Client()
    client.force_login(user)
    return client


def test_an_administrator_sees_only_the_waves_of_their_programmes(programmes, graduate_version):
    bolashak, serpin = programmes
    Survey.objects.filter(pk=graduate_version.survey_id).update(programme=bolashak)
    Wave.objects.create(
        survey=graduate_version.survey, version=graduate_version, slug="bolashak-2026", name="Bolashak alumni 2026"
    )
    owner = staff_client("owner", bolashak)
    outsider = staff_client("outsider", serpin)
    assert "Bolashak alumni 2026" in owner.get("/admin/surveys/wave/").content.decode()
    assert "Bolashak alumni 2026" not in outsider.get("/admin/surveys/wave/").content.decode()
    wave = Wave.objects.get()
    assert owner.get(f"/admin/surveys/wave/{wave.pk}/change/").status_code == 200
    assert outsider.get(f"/admin/surveys/wave/{wave.pk}/change/").status_code in (302, 404)


def test_surveys_without_a_programme_are_for_superusers_only(programmes, graduate_version):
    outsider = staff_client("outsider", programmes[1])
    assert graduate_version.survey.slug not in outsider.get("/admin/surveys/survey/").content.decode()
    page = outsider.get(f"/admin/surveys/survey/{graduate_version.survey_id}/change/")
    assert page.status_code in (302, 404)
