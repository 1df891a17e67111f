"""The weights page (admin): a number per component, skills first, and a preview that ranks a
sample request with the unsaved values."""

import pytest
from django.test import Client

from accounts.demo import programme_admin_group
from accounts.models import Programme, Role
from diaspora.models import MatchingSettings
from tests.diaspora.people import expert, expertise_request, institution
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    bolashak = Programme.objects.get_or_create(slug="bolashak", defaults={"name": "Bolashak"})[0]
    serpin = Programme.objects.get_or_create(slug="serpin", defaults={"name": "Serpin"})[0]
    admin = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    admin.programmes.add(bolashak)
    admin.groups.add(programme_admin_group())
    inst, staff = institution()
    inst.programmes.add(bolashak, serpin)
    # Two experts: one with both requested skills, one with one of them but the request's region.
    expert("skilled", skills=["hydrology", "gis"], home_region="KZ-10")
    expert("local", skills=["hydrology"], home_region="KZ-55", visibility={"location": "institutions"})
    ours = expertise_request(staff, inst, title="Irtysh hydrology", programme="bolashak")
    theirs = expertise_request(staff, inst, title="Serpin secret request", programme="serpin")
    settings = MatchingSettings.objects.create(programme=bolashak, weights={})
    client = Client()
    client.force_login(admin)
    return {"client": client, "settings": settings, "ours": ours, "theirs": theirs}


def url(settings):
    return f"/admin/diaspora/matchingsettings/{settings.pk}/change/"


def form_data(world, **changes):
    data = {
        "programme": world["settings"].programme_id,
        "weight_skills": "0.35", "weight_field": "0.15", "weight_text": "0.3", "weight_language": "0.1",
        "weight_region": "0.05", "weight_timezone": "0.05", "skills_first": "on", "offer_days": "7",
        "sample_request": world["ours"].pk,
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_has_a_number_per_component_and_lists_only_its_programmes_requests(world):
    html = world["client"].get(url(world["settings"])).content.decode()
    for name in ("skills", "field", "text", "language", "region", "timezone"):
        assert f'name="weight_{name}"' in html
    assert "Irtysh hydrology" in html and "Serpin secret request" not in html
    assert 'name="_preview"' in html


def test_the_preview_ranks_the_sample_request_with_the_unsaved_weights_and_saves_nothing(world):
    regional = form_data(world, weight_skills="0.1", weight_region="1", skills_first=None, _preview="1")
    html = world["client"].post(url(world["settings"]), regional).content.decode()
    assert 'id="weights-preview"' in html and "Irtysh hydrology" in html
    rows = html.split('id="weights-preview"')[1]
    assert rows.index("Local") < rows.index("Skilled")  # region now outweighs the missing skill
    assert 'value="1.0"' in html or 'value="1"' in html  # the field keeps the unsaved value
    world["settings"].refresh_from_db()
    assert world["settings"].weights == {} and world["settings"].skills_first


def test_with_skills_first_the_preview_keeps_the_expert_with_every_skill_on_top(world):
    regional = form_data(world, weight_skills="0.1", weight_region="1", _preview="1")
    rows = world["client"].post(url(world["settings"]), regional).content.decode().split('id="weights-preview"')[1]
    assert rows.index("Skilled") < rows.index("Local")


def test_saving_stores_the_numbers_as_the_weights(world):
    response = world["client"].post(url(world["settings"]), form_data(world, weight_text="0.5", skills_first=None))
    assert response.status_code == 302
    world["settings"].refresh_from_db()
    assert world["settings"].weights["text"] == 0.5 and not world["settings"].skills_first


def test_all_zero_weights_are_refused(world):
    zeros = {f"weight_{n}": "0" for n in ("skills", "field", "text", "language", "region", "timezone")}
    html = world["client"].post(url(world["settings"]), form_data(world, **zeros)).content.decode()
    assert "At least one weight must be above 0." in html


def test_a_sample_request_of_another_programme_is_refused(world):
    html = (
        world["client"]
        .post(url(world["settings"]), form_data(world, sample_request=world["theirs"].pk, _preview="1"))
        .content.decode()
    )
    assert "Serpin secret request" not in html
    assert "Correct these to preview:" in html and "Sample request: Select a valid choice." in html


@pytest.mark.parametrize(
    ("value", "error"),
    [("-1", "greater than or equal to 0"), ("1000", "less than or equal to 100"), ("lots", "Enter a number.")],
)
def test_a_bad_weight_is_named_in_the_preview(world, value, error):
    html = world["client"].post(url(world["settings"]), form_data(world, weight_text=value, _preview="1"))
    html = html.content.decode().split('id="weights-preview"')[1]
    assert "Weight: Topic and profile:" in html and error in html


def test_after_a_preview_an_unticked_skills_first_stays_unticked(world):
    html = world["client"].post(url(world["settings"]), form_data(world, skills_first=None, _preview="1"))
    box = html.content.decode().split('name="skills_first"')[0].rsplit("<input", 1)[1]
    assert "checked" not in box


def test_the_form_shows_the_weights_the_matching_uses(world):
    # A saved row without some components: they weigh 0 in matching, so the form says 0 and a
    # save (of another field) writes no weight the programme did not have.
    world["settings"].weights = {"skills": 1.0, "text": 1.0}
    world["settings"].save()
    html = world["client"].get(url(world["settings"])).content.decode()
    field = html.split('name="weight_region"')[1].split(">")[0]
    assert 'value="0.0"' in field


def test_the_preview_hides_the_location_of_people_who_hide_it(world):
    from diaspora.models import Person, Visibility

    Person.objects.filter(display_name="Local").update(location_visibility=Visibility.HIDDEN)
    regional = form_data(world, weight_skills="0", weight_field="0", weight_text="0", weight_language="0",
                         weight_region="1", weight_timezone="1", skills_first=None, _preview="1")  # fmt: skip
    rows = world["client"].post(url(world["settings"]), regional).content.decode().split('id="weights-preview"')[1]
    local = rows.split("Local")[1].split("</tr>")[0]
    assert local.count(">hidden<") == 2  # region and time zone
    assert local.startswith("</td><td>0.0</td>")  # the score shown leaves them out
