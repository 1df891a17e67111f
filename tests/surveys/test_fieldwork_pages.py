"""Fieldwork staff pages and API: wave form and letter previews, invitations table, sending, resending."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Programme, Role
from surveys.models import Invitation, InvitationSendJob, OutgoingEmail, Panel, PanelMember, Respondent, Wave
from surveys.services.invitations import wave_invite
from tests.factories import UserFactory

pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db]


@pytest.fixture
def version(graduate_version, bolashak):
    survey = graduate_version.survey
    survey.programme = bolashak
    survey.save()
    return graduate_version


@pytest.fixture
def panel(bolashak):
    panel = Panel.objects.create(slug="alumni", name="Alumni", programme=bolashak)
    for number, language in enumerate(["kk", "ru", "en"] * 20):
        respondent = Respondent.objects.create(email=f"member{number:02}@example.org")
        PanelMember.objects.create(panel=panel, respondent=respondent, name=f"Member {number:02}", language=language)
    return panel


@pytest.fixture
def owner(client, designer):
    client.force_login(designer)
    return client


@pytest.fixture
def outsider(client):
    user = UserFactory(username="outsider", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(Programme.objects.create(slug="serpin", name="Serpin"))
    client.force_login(user)
    return client


@pytest.fixture
def wave(version, panel, designer):
    return Wave.objects.create(
        survey=version.survey,
        version=version,
        slug="graduates-2026",
        name="Graduates 2026",
        panel=panel,
        is_public=True,
        opens_at=timezone.now() - dt.timedelta(hours=1),
    )


def form_data(version, **changes) -> dict:
    data = {
        "name": "Graduates 2026",
        "slug": "",
        "version": version.pk,
        "panel": "",
        "is_public": "on",
        "opens_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (timezone.localtime() + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "reminder_days": "3, 7, 14",
        "send_rate_per_minute": "600",
        "quotas-TOTAL_FORMS": "1",
        "quotas-INITIAL_FORMS": "0",
        "quotas-MIN_NUM_FORMS": "0",
        "quotas-MAX_NUM_FORMS": "50",
        "quotas-0-name": "",
        "quotas-0-cap": "",
        "quotas-0-conditions": "",
        "action": "save",
    }
    data.update(changes)
    return data


# --------------------------------------------------------------------------- creating and editing


def test_the_wave_list_links_to_a_new_wave(owner, wave):
    page = owner.get("/staff/")
    assert b'href="/staff/waves/new/"' in page.content
    assert f'href="/staff/waves/{wave.slug}/invitations/"'.encode() in page.content


def test_the_first_step_offers_only_published_versions_of_the_users_programmes(owner, version):
    page = owner.get("/staff/waves/new/")
    assert list(page.context["chooser"].fields["version"].queryset) == [version]


def test_an_outsider_is_offered_no_version(outsider, version):
    page = outsider.get("/staff/waves/new/")
    assert list(page.context["chooser"].fields["version"].queryset) == []
    assert outsider.get(f"/staff/waves/new/?version={version.pk}").context["chooser"] is not None


def test_a_wave_is_created_from_the_form(owner, version, panel):
    data = form_data(
        version,
        panel=panel.pk,
        prefill_fields=["country_residence"],
        **{"quotas-0-name": "Germany", "quotas-0-cap": "40", "quotas-0-conditions": "country_residence = DEU"},
        name_ru="Выпускники 2026",
        letter_en_subject="Tell us about {survey}",
        letter_en_body="{greeting}\n\nAnswer here: {link}",
    )
    response = owner.post(f"/staff/waves/new/?version={version.pk}", data)
    assert response.status_code == 302 and response["Location"] == "/staff/waves/graduates-2026/invitations/"
    wave = Wave.objects.get(slug="graduates-2026")
    assert (wave.panel, wave.is_public, wave.reminder_days, wave.prefill_fields) == (
        panel,
        True,
        [3, 7, 14],
        ["country_residence"],
    )
    assert wave.email_templates == {
        "en": {"subject": "Tell us about {survey}", "body": "{greeting}\n\nAnswer here: {link}"}
    }
    assert wave.names == {"ru": "Выпускники 2026"}
    assert list(wave.quotas.values_list("name", "cap", "conditions")) == [("Germany", 40, {"country_residence": "DEU"})]


def test_bad_input_shows_every_problem_and_keeps_the_text(owner, version):
    data = form_data(version, reminder_days="3, soon", letter_ru_subject="Опрос", letter_ru_body="{hello} {link}")
    page = owner.post(f"/staff/waves/new/?version={version.pk}", data)
    assert page.status_code == 200 and not Wave.objects.exists()
    html = page.content.decode()
    assert "“soon” is not a number of days" in html
    assert "Unknown placeholder {hello}" in html
    assert "{hello} {link}</textarea>" in html  # nothing typed is lost


def test_preview_renders_each_language_without_saving(owner, version, panel, settings):
    settings.SITE_URL = "https://kelu.example.kz"
    data = form_data(
        version,
        panel=panel.pk,
        action="preview",
        letter_kk_subject="Сауалнама: {survey}",
        letter_kk_body="{greeting}\n\nСілтеме: {link}",
    )
    page = owner.post(f"/staff/waves/new/?version={version.pk}", data)
    assert page.status_code == 200 and not Wave.objects.exists()
    assert page.context["previewed"]
    kk = page.context["previews"][0]["letters"][0]["preview"]
    assert kk.subject == "Сауалнама: Түлектердің елге оралу ниеті туралы сауалнама"  # the title in Kazakh
    assert kk.body.startswith("Сәлеметсіз бе, Member 00!\n\nСілтеме: https://kelu.example.kz/i/")
    assert 'href="https://kelu.example.kz/i/' in page.content.decode()  # the links are links


def test_the_settings_page_edits_a_wave(owner, wave):
    page = owner.get(f"/staff/waves/{wave.slug}/settings/")
    assert page.status_code == 200 and page.context["form"]["reminder_days"].value() == "3, 7, 14"
    data = form_data(wave.version, name="Graduates, spring", panel=wave.panel_id, reminder_days="5")
    response = owner.post(f"/staff/waves/{wave.slug}/settings/", data)
    assert response.status_code == 302
    wave.refresh_from_db()
    assert (wave.name, wave.reminder_days, wave.slug) == ("Graduates, spring", [5], "graduates-2026")


def test_an_outsider_cannot_open_or_change_a_wave(outsider, wave):
    assert outsider.get(f"/staff/waves/{wave.slug}/settings/").status_code == 404
    assert outsider.post(f"/staff/waves/{wave.slug}/settings/", form_data(wave.version)).status_code == 404
    assert outsider.get(f"/staff/waves/{wave.slug}/invitations/").status_code == 404
    assert outsider.post(f"/staff/waves/{wave.slug}/invitations/send/").status_code == 404


def test_a_respondent_is_turned_away(client, wave):
    client.force_login(UserFactory(username="aigerim"))
    assert client.get("/staff/waves/new/").status_code == 403


# --------------------------------------------------------------------------- invitations


def test_sending_from_the_page_invites_the_panel(owner, wave, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(f"/staff/waves/{wave.slug}/invitations/send/")
    assert response.status_code == 302
    job = InvitationSendJob.objects.get(wave=wave)
    assert (job.status, job.invited) == ("complete", 60)
    page = owner.get(f"/staff/waves/{wave.slug}/invitations/")
    assert page.context["funnel"].sent == 60 and page.context["letters"].invitations_sent == 60


def test_the_table_filters_searches_and_pages(owner, wave):
    wave_invite(wave=wave)
    Invitation.objects.filter(wave=wave, respondent__email="member07@example.org").update(status="complete")
    page = owner.get(f"/staff/waves/{wave.slug}/invitations/")
    assert page.context["page"].paginator.count == 60 and len(page.context["page"]) == 50
    assert owner.get(f"/staff/waves/{wave.slug}/invitations/?page=2").context["page"].number == 2
    complete = owner.get(f"/staff/waves/{wave.slug}/invitations/?status=complete")
    assert [i.respondent.email for i in complete.context["page"]] == ["member07@example.org"]
    assert "Complete" in complete.content.decode()
    by_name = owner.get(f"/staff/waves/{wave.slug}/invitations/?q=member 1")
    assert by_name.context["page"].paginator.count == 10
    by_email = owner.get(f"/staff/waves/{wave.slug}/invitations/?q=MEMBER42@")
    assert [i.member_name for i in by_email.context["page"]] == ["Member 42"]


def test_invitation_statuses_are_shown_in_the_users_language(owner, wave):
    wave_invite(wave=wave)
    page = owner.get(f"/staff/waves/{wave.slug}/invitations/", HTTP_ACCEPT_LANGUAGE="ru")
    assert page.context["page"][0].get_status_display() != "pending"


def test_a_held_letter_is_confirmed_then_resent(owner, wave, django_capture_on_commit_callbacks):
    wave_invite(wave=wave)
    held = OutgoingEmail.objects.filter(invitation__wave=wave, sequence=0).first()
    OutgoingEmail.objects.filter(pk=held.pk).update(status="failed", message_id="<k.1@x>", last_error="lost")
    listing = owner.get(f"/staff/waves/{wave.slug}/invitations/?status=held")
    assert listing.context["page"].paginator.count == 1
    url = f"/staff/waves/{wave.slug}/letters/{held.pk}/resend/"
    assert url in listing.content.decode()
    confirm = owner.get(url)
    assert confirm.status_code == 200 and "&lt;k.1@x&gt;" in confirm.content.decode()
    held.refresh_from_db()
    assert held.status == "failed"  # the GET changed nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.post(url).status_code == 302
    held.refresh_from_db()
    assert held.status == "sent"


def test_the_public_link_is_shown_with_a_qr_code(owner, wave, settings):
    settings.SITE_URL = "https://kelu.example.kz"
    page = owner.get(f"/staff/waves/{wave.slug}/invitations/")
    html = page.content.decode()
    assert 'value="https://kelu.example.kz/s/graduates-2026/"' in html
    assert "<svg viewBox=" in html and "data-copy" in html


def test_a_wave_without_a_public_link_says_so(owner, wave):
    Wave.objects.filter(pk=wave.pk).update(is_public=False)
    page = owner.get(f"/staff/waves/{wave.slug}/invitations/")
    assert page.context["public_link"] == "" and "<svg" not in page.content.decode()


# --------------------------------------------------------------------------- API


@pytest.fixture
def api_owner(designer):
    client = APIClient()
    client.force_authenticate(designer)
    return client


def test_the_api_creates_and_changes_a_wave(api_owner, version, panel):
    created = api_owner.post(
        "/api/v1/waves/",
        {
            "survey": version.survey.slug,
            "version": version.number,
            "name": "Graduates 2026",
            "panel": panel.slug,
            "reminder_days": [3, 10],
            "email_templates": {"ru": {"subject": "Опрос", "body": "{greeting} {link}"}},
            "quotas": [{"name": "DE", "cap": 5, "conditions": {"country_residence": "DEU"}}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert (created.data["slug"], created.data["panel"], created.data["reminder_days"]) == (
        "graduates-2026",
        "alumni",
        [3, 10],
    )
    changed = api_owner.patch("/api/v1/waves/graduates-2026/", {"is_public": True}, format="json")
    assert changed.status_code == 200 and changed.data["public_link"].endswith("/s/graduates-2026/")
    assert changed.data["reminder_days"] == [3, 10] and len(changed.data["quotas"]) == 1


def test_the_api_reports_an_unknown_placeholder(api_owner, version, panel):
    response = api_owner.post(
        "/api/v1/waves/",
        {
            "survey": version.survey.slug,
            "version": version.number,
            "name": "W",
            "panel": panel.slug,
            "email_templates": {"en": {"subject": "Hi {nmae}", "body": "{link}"}},
        },
        format="json",
    )
    assert response.status_code == 400 and "Unknown placeholder {nmae}" in response.data["letter_en_subject"][0]


def test_the_api_sends_invitations_once_while_a_run_is_pending(api_owner, wave, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = api_owner.post(f"/api/v1/waves/{wave.slug}/invitations/send/")
        second = api_owner.post(f"/api/v1/waves/{wave.slug}/invitations/send/")
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.data["id"] == second.data["id"] and first.data["status"] == "queued"
    detail = api_owner.get(f"/api/v1/invitation-sends/{first.data['id']}/")
    assert detail.status_code == 200 and detail.data["wave"] == wave.slug


def test_the_api_refuses_to_send_for_a_wave_without_a_panel(api_owner, wave):
    Wave.objects.filter(pk=wave.pk).update(panel=None)
    assert api_owner.post(f"/api/v1/waves/{wave.slug}/invitations/send/").status_code == 409


# --------------------------------------------------------------------------- admin


def test_the_admin_checks_a_wave_by_the_same_rules(client, wave):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    opens = timezone.localtime(wave.opens_at)
    data = {
        "survey": wave.survey_id,
        "version": wave.version_id,
        "slug": wave.slug,
        "name": wave.name,
        "opens_at_0": opens.strftime("%Y-%m-%d"),
        "opens_at_1": opens.strftime("%H:%M:%S"),
        "closes_at_0": "",
        "closes_at_1": "",
        "is_public": "on",
        "panel": wave.panel_id,
        "reminder_days": "[3, -1]",
        "email_templates": '{"en": {"subject": "Hi {nam}", "body": "{link}"}}',
        "prefill_fields": "[]",
        "send_rate_per_minute": "600",
    }
    page = client.post(f"/admin/surveys/wave/{wave.pk}/change/", data)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Each reminder day is between 1 and 365." in html and "Unknown placeholder {nam}" in html
    data.update(reminder_days="[3, 10]", email_templates='{"en": {"subject": "Hi {name}", "body": "{link}"}}')
    assert client.post(f"/admin/surveys/wave/{wave.pk}/change/", data).status_code == 302
    wave.refresh_from_db()
    assert wave.reminder_days == [3, 10]
