"""Fieldwork from the staff pages: creating and editing waves, their letters, sending invitations, resending."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Programme, Role
from config.jobs import Job
from surveys.emails import letter_survey_title
from surveys.models import Invitation, InvitationSendJob, OutgoingEmail, Panel, PanelMember, Quota, Respondent, Wave
from surveys.services import waves
from surveys.services.invitations import emails_send_due, wave_invite
from surveys.services.waves import QuotaSpec, SendRefused, WaveInvalid, WaveSpec
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
    for email, name, language in [
        ("aigerim@example.org", "Айгерім", "kk"),
        ("daniyar@example.org", "Данияр", "ru"),
        ("sam@example.org", "Sam", "en"),
    ]:
        PanelMember.objects.create(
            panel=panel, respondent=Respondent.objects.create(email=email), name=name, language=language
        )
    return panel


@pytest.fixture
def other_programme():
    return Programme.objects.create(slug="serpin", name="Serpin-2050")


def spec(version, panel=None, **changes) -> WaveSpec:
    values = {
        "name": "Graduates 2026",
        "version": version,
        "panel": panel,
        "is_public": panel is None,
        "opens_at": timezone.now(),
        "closes_at": timezone.now() + dt.timedelta(days=30),
    }
    values.update(changes)
    return WaveSpec(**values)


def problems(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.errors


# --------------------------------------------------------------------------- creating and checking


def test_it_creates_a_wave_with_a_slug_made_from_the_name(designer, version, panel):
    wave = waves.wave_create(user=designer, spec=spec(version, panel, reminder_days=[7, 3]))
    assert (wave.slug, wave.survey, wave.panel, wave.created_by) == ("graduates-2026", version.survey, panel, designer)
    assert wave.reminder_days == [3, 7]


def test_names_per_language_are_kept_without_empty_ones(designer, version, panel):
    names = {"kk": " Түлектер 2026 ", "ru": "Выпускники 2026", "en": ""}
    wave = waves.wave_create(user=designer, spec=spec(version, panel, names=names))
    assert wave.names == {"kk": "Түлектер 2026", "ru": "Выпускники 2026"}


def test_a_second_wave_of_the_same_name_gets_a_free_slug(designer, version, panel):
    waves.wave_create(user=designer, spec=spec(version, panel))
    assert waves.wave_create(user=designer, spec=spec(version, panel)).slug == "graduates-2026-2"


def test_it_refuses_a_slug_that_is_taken_or_reserved(designer, version, panel):
    waves.wave_create(user=designer, spec=spec(version, panel, slug="alumni-2026"))
    for slug in ("alumni-2026", "new"):
        with pytest.raises(WaveInvalid) as exc:
            waves.wave_create(user=designer, spec=spec(version, panel, slug=slug))
        assert "slug" in problems(exc)


def test_it_refuses_a_version_of_a_programme_the_user_does_not_administer(version, panel, other_programme):
    outsider = UserFactory(username="outsider", role=Role.PROGRAMME_ADMIN)
    outsider.programmes.add(other_programme)
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(user=outsider, spec=spec(version, None))
    assert "version" in problems(exc)
    assert not Wave.objects.exists()


def test_it_refuses_a_draft_version(designer, version, panel):
    version.status = version.Status.DRAFT
    version.save()
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(user=designer, spec=spec(version, panel))
    assert problems(exc)["version"] == ["Only a published version can be fielded."]


def test_it_refuses_a_panel_of_another_programme(designer, version, other_programme):
    designer.programmes.add(other_programme)
    foreign = Panel.objects.create(slug="foreign", name="Foreign", programme=other_programme)
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(user=designer, spec=spec(version, foreign))
    assert problems(exc)["panel"] == ["The panel belongs to another programme than the survey."]


def test_a_wave_needs_a_panel_or_a_public_link(designer, version):
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(user=designer, spec=spec(version, None, is_public=False))
    assert "panel" in problems(exc)


def test_it_refuses_closing_before_opening_and_closing_in_the_past(designer, version, panel):
    now = timezone.now()
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(user=designer, spec=spec(version, panel, closes_at=now - dt.timedelta(days=1)))
    assert problems(exc)["closes_at"] == ["The wave must close after it opens."]
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(
            user=designer,
            spec=spec(version, panel, opens_at=now - dt.timedelta(days=9), closes_at=now - dt.timedelta(days=1)),
        )
    assert problems(exc)["closes_at"] == ["This closing time has passed already."]


def test_reminder_days_are_read_from_text():
    assert waves.reminder_days_from_text(" 3, 7;14  21 ") == [3, 7, 14, 21]
    assert waves.reminder_days_from_text("") == []
    with pytest.raises(ValidationError) as exc:
        waves.reminder_days_from_text("3, seven")
    assert "seven" in exc.value.messages[0]


def test_it_refuses_reminder_days_out_of_range_or_repeated(designer, version, panel):
    for days in ([0], [3, 3], [400]):
        with pytest.raises(WaveInvalid) as exc:
            waves.wave_create(user=designer, spec=spec(version, panel, reminder_days=days))
        assert "reminder_days" in problems(exc)


def test_prefill_fields_must_be_questions_of_the_version(designer, version, panel):
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(user=designer, spec=spec(version, panel, prefill_fields=["country_residence", "shoe_size"]))
    assert problems(exc)["prefill_fields"] == ["Not questions of this version: shoe_size."]
    wave = waves.wave_create(user=designer, spec=spec(version, panel, prefill_fields=["country_residence"]))
    assert wave.prefill_fields == ["country_residence"]


def test_an_unknown_placeholder_is_refused_with_the_known_ones(designer, version, panel):
    letters = {"ru": {"subject": "Опрос {survey}", "body": "{greting}, ответьте: {link}"}}
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(user=designer, spec=spec(version, panel, email_templates=letters))
    [message] = problems(exc)["letter_ru_body"]
    assert message.startswith("Unknown placeholder {greting}. The placeholders are {greeting}, {name}, {survey}")


def test_a_letter_needs_both_its_subject_and_its_text(designer, version, panel):
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(user=designer, spec=spec(version, panel, email_templates={"kk": {"subject": "Сауалнама"}}))
    assert "letter_kk_body" in problems(exc)


def test_letters_are_kept_per_language_without_empty_parts(designer, version, panel):
    letters = {"en": {"subject": " Our survey ", "body": "{greeting}\n\nPlease answer: {link}", "reminder_subject": ""}}
    wave = waves.wave_create(user=designer, spec=spec(version, panel, email_templates=letters))
    assert wave.email_templates == {"en": {"subject": "Our survey", "body": "{greeting}\n\nPlease answer: {link}"}}


def test_quota_answers_are_checked_against_the_answer_codes(designer, version, panel):
    bad = [QuotaSpec(name="Germany", cap=50, conditions={"country_residence": "Germany"})]
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_create(user=designer, spec=spec(version, panel, quotas=bad))
    assert "“Germany” is not an answer code of country_residence" in problems(exc)["quotas"][0]
    good = [QuotaSpec(name="Germany", cap=50, conditions={"country_residence": "DEU", "departure_year": "2015"})]
    wave = waves.wave_create(user=designer, spec=spec(version, panel, quotas=good))
    assert list(wave.quotas.values_list("name", "cap", "conditions")) == [
        ("Germany", 50, {"country_residence": "DEU", "departure_year": 2015})
    ]


def test_quota_conditions_are_read_from_text():
    assert waves.quota_conditions_from_text("country_residence = DEU\nprogramme=bolashak") == {
        "country_residence": "DEU",
        "programme": "bolashak",
    }
    with pytest.raises(ValidationError):
        waves.quota_conditions_from_text("country_residence DEU")


# --------------------------------------------------------------------------- updating


def test_an_update_changes_the_settings_and_syncs_quotas_by_name(designer, version, panel):
    quotas = [
        QuotaSpec("Germany", 50, {"country_residence": "DEU"}),
        QuotaSpec("USA", 20, {"country_residence": "USA"}),
    ]
    wave = waves.wave_create(user=designer, spec=spec(version, panel, quotas=quotas))
    Quota.objects.filter(wave=wave, name="Germany").update(closed_at=timezone.now())
    changed = waves.wave_spec_of(wave)
    changed.name, changed.reminder_days = "Graduates, spring", [5]
    changed.quotas = [QuotaSpec("Germany", 80, {"country_residence": "DEU"})]
    wave = waves.wave_update(user=designer, wave=wave, spec=changed)
    assert (wave.name, wave.slug, wave.reminder_days) == ("Graduates, spring", "graduates-2026", [5])
    assert list(wave.quotas.values_list("name", "cap", "closed_at")) == [("Germany", 80, None)]


def test_an_update_without_quotas_leaves_them(designer, version, panel):
    wave = waves.wave_create(
        user=designer, spec=spec(version, panel, quotas=[QuotaSpec("Bolashak", 5, {"programme": "bolashak"})])
    )
    wave = waves.wave_update(user=designer, wave=wave, spec=waves.wave_spec_of(wave))
    assert wave.quotas.count() == 1


def test_a_wave_keeps_its_panel_once_invitations_exist(designer, version, panel, bolashak):
    wave = waves.wave_create(user=designer, spec=spec(version, panel))
    wave_invite(wave=wave)
    changed = waves.wave_spec_of(wave)
    changed.panel = Panel.objects.create(slug="other", name="Other", programme=bolashak)
    with pytest.raises(WaveInvalid) as exc:
        waves.wave_update(user=designer, wave=wave, spec=changed)
    assert "panel" in problems(exc)
    assert Wave.objects.get(pk=wave.pk).panel == panel


# --------------------------------------------------------------------------- letters as sent


def test_previews_render_each_language_as_the_sender_does(designer, version, panel, settings):
    settings.SITE_URL = "https://kelu.example.kz"
    letters = {"ru": {"subject": "Опрос «{survey}»", "body": "{greeting}\n\nСсылка: {link}"}}
    previews = waves.letter_previews(version=version, panel=panel, templates=letters, closes_at=None)
    assert [(p.language, p.kind) for p in previews] == [
        (language, kind) for language in ("kk", "ru", "en") for kind in ("invitation", "reminder")
    ]
    ru = previews[2]
    assert ru.subject == f"Опрос «{letter_survey_title(version, 'ru')}»" and ru.own
    assert ru.body.startswith("Здравствуйте, Данияр!\n\nСсылка: https://kelu.example.kz/i/")
    assert "https://kelu.example.kz/o/" in ru.body  # the opt-out link is always added
    kk = previews[0]
    assert not kk.own and kk.recipient == "Айгерім" and "https://kelu.example.kz/i/" in kk.body


def test_previews_without_a_panel_use_a_sample_name(version):
    previews = waves.letter_previews(version=version, panel=None, templates={}, closes_at=None)
    assert previews[4].recipient == "Aigerim Sarsenova" and "Aigerim Sarsenova" in previews[4].body


# --------------------------------------------------------------------------- sending


def test_sending_queues_one_job_and_a_second_click_gets_the_same(
    designer, version, panel, django_capture_on_commit_callbacks
):
    wave = waves.wave_create(user=designer, spec=spec(version, panel))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job, created = waves.wave_invitations_send(wave=wave, user=designer)
        again, created_again = waves.wave_invitations_send(wave=wave, user=designer)
    assert created and not created_again and again.pk == job.pk
    assert len(callbacks) == 1 and job.status == Job.Status.QUEUED
    assert not Invitation.objects.filter(wave=wave).exists()


def test_the_job_invites_the_panel_and_the_letters_go_out(designer, version, panel, django_capture_on_commit_callbacks):
    wave = waves.wave_create(user=designer, spec=spec(version, panel))
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = waves.wave_invitations_send(wave=wave, user=designer)
    job.refresh_from_db()
    assert (job.status, job.progress, job.members, job.invited, job.emails) == ("complete", 100, 3, 3, 12)
    assert sorted(m.to[0] for m in mail.outbox) == ["aigerim@example.org", "daniyar@example.org", "sam@example.org"]
    assert set(Invitation.objects.filter(wave=wave).values_list("status", flat=True)) == {"sent"}


def test_running_a_job_twice_invites_nobody_twice(designer, version, panel, django_capture_on_commit_callbacks):
    wave = waves.wave_create(user=designer, spec=spec(version, panel))
    job = InvitationSendJob.objects.create(wave=wave)
    assert waves.invitation_send_run(job.pk)
    assert not waves.invitation_send_run(job.pk)
    second = InvitationSendJob.objects.create(wave=wave)
    waves.invitation_send_run(second.pk)
    second.refresh_from_db()
    assert (second.invited, second.already_invited) == (0, 3)
    assert Invitation.objects.filter(wave=wave).count() == 3


def test_a_new_member_is_invited_by_the_next_run(designer, version, panel, django_capture_on_commit_callbacks):
    wave = waves.wave_create(user=designer, spec=spec(version, panel))
    with django_capture_on_commit_callbacks(execute=True):
        waves.wave_invitations_send(wave=wave, user=designer)
    PanelMember.objects.create(panel=panel, respondent=Respondent.objects.create(email="new@example.org"))
    with django_capture_on_commit_callbacks(execute=True):
        job, created = waves.wave_invitations_send(wave=wave, user=designer)
    job.refresh_from_db()
    assert created and (job.invited, job.already_invited) == (1, 3)


def test_sending_is_refused_without_a_panel_or_once_closed(designer, version, panel):
    public = waves.wave_create(user=designer, spec=spec(version, None))
    with pytest.raises(SendRefused):
        waves.wave_invitations_send(wave=public, user=designer)
    closed = waves.wave_create(user=designer, spec=spec(version, panel))
    Wave.objects.filter(pk=closed.pk).update(closes_at=timezone.now() - dt.timedelta(minutes=1))
    closed.refresh_from_db()
    with pytest.raises(SendRefused):
        waves.wave_invitations_send(wave=closed, user=designer)


def test_the_sweeper_requeues_a_job_whose_worker_died(designer, version, panel, django_capture_on_commit_callbacks):
    wave = waves.wave_create(user=designer, spec=spec(version, panel))
    job = InvitationSendJob.objects.create(
        wave=wave, status=Job.Status.RUNNING, lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert waves.invitation_send_sweep() == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETE and job.invited == 3


def test_a_held_letter_is_sent_again(designer, version, panel, django_capture_on_commit_callbacks):
    wave = waves.wave_create(user=designer, spec=spec(version, panel, reminder_days=[]))
    wave_invite(wave=wave)
    held = OutgoingEmail.objects.filter(invitation__wave=wave).first()
    OutgoingEmail.objects.filter(pk=held.pk).update(status=OutgoingEmail.Status.FAILED, message_id="<x@y>")
    OutgoingEmail.objects.exclude(pk=held.pk).update(status=OutgoingEmail.Status.SENT)
    with django_capture_on_commit_callbacks(execute=True):
        assert waves.letter_resend(email=held)
    held.refresh_from_db()
    assert held.status == OutgoingEmail.Status.SENT
    assert [m.to[0] for m in mail.outbox] == [held.invitation.respondent.email]
    assert not waves.letter_resend(email=held)  # not held any more


def test_a_held_letter_of_a_bounced_invitation_is_not_resent(designer, version, panel):
    wave = waves.wave_create(user=designer, spec=spec(version, panel))
    wave_invite(wave=wave)
    held = OutgoingEmail.objects.filter(invitation__wave=wave, sequence=0).first()
    OutgoingEmail.objects.filter(pk=held.pk).update(status=OutgoingEmail.Status.FAILED)
    Invitation.objects.filter(pk=held.invitation_id).update(status=Invitation.Status.BOUNCED)
    held = OutgoingEmail.objects.select_related("invitation").get(pk=held.pk)
    assert not waves.letter_resend(email=held)
    assert emails_send_due().sent == 2  # only the other members' invitations
