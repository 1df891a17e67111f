"""Demo content: the standard instruments, published in a programme, its waves, panels and a few responses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from accounts.models import Programme

from . import services
from .models import Invitation, Panel, PanelMember, Respondent, Response, Survey, SurveyVersion, Wave, content_digest
from .samples import SAMPLE_GRADUATE_ANSWERS
from .services import respondent as respondent_flow
from .services.invitations import wave_invite
from .services.responses import SubmissionRefused, response_update
from .tokens import invitation_token
from .xlsform import import_report

INSTRUMENTS_DIR = Path(__file__).resolve().parent / "instruments"
STANDARD_INSTRUMENTS = ("graduate_return", "diaspora_professionals")


def standard_instrument_path(name: str) -> Path:
    return INSTRUMENTS_DIR / f"{name}.xlsx"


def instruments_load(programme: Programme | None = None, *, prefix: str = "") -> list[SurveyVersion]:
    """Publish each standard instrument (as a survey of `programme`, slugs after `prefix`) unless its
    current version already has that content."""
    versions = []
    for name in STANDARD_INSTRUMENTS:
        path = standard_instrument_path(name)
        report = import_report(path.read_bytes(), path.name)
        slug = prefix + name.replace("_", "-")
        survey = Survey.objects.filter(slug=slug).first()
        if survey is not None and survey.programme_id is None and programme is not None:
            Survey.objects.filter(pk=survey.pk).update(programme=programme)
        current = survey.current_version() if survey else None
        if (
            current is not None
            and report.content is not None
            and current.content_hash == content_digest(report.content)
        ):
            versions.append(current)
            continue
        result = services.survey_import_xlsform(
            data=path.read_bytes(), filename=path.name, survey_slug=slug, publish=True, programme=programme
        )
        if result.version is None:
            raise RuntimeError(f"{path.name} did not import: " + "; ".join(result.report.lines()))
        versions.append(result.version)
    return versions


# The demo waves' names in every language (staff screens, letters and exports show the reader's).
DEMO_WAVE_NAMES = {
    "Graduates abroad 2026": {"kk": "Шетелдегі түлектер, 2026", "ru": "Выпускники за рубежом, 2026",
                              "en": "Graduates abroad 2026"},
    "Serpin-2050 graduates 2026": {"kk": "«Серпін-2050» түлектері, 2026", "ru": "Выпускники «Серпин-2050», 2026",
                                   "en": "Serpin-2050 graduates 2026"},
}  # fmt: skip


def demo_wave(version: SurveyVersion, *, slug: str = "graduates-2026", name: str = "Graduates abroad 2026",
              public: bool = True) -> Wave:  # fmt: skip
    names = DEMO_WAVE_NAMES.get(name, {})
    wave, _ = Wave.objects.get_or_create(
        slug=slug,
        defaults={
            "survey": version.survey,
            "version": version,
            "name": name,
            "names": names,
            "opens_at": timezone.now() - dt.timedelta(days=1),
            "closes_at": timezone.now() + dt.timedelta(days=120),
            "is_public": public,
        },
    )
    if wave.version_id != version.pk or (names and not wave.names):
        wave.version, wave.names = version, wave.names or names
        wave.save(update_fields=["version", "names"])
    return wave


DEMO_PANEL = [
    # email, name, language, attributes
    ("aigerim.demo@example.kz", "Aigerim Bekova", "kk", {"country": "DEU", "programme": "bolashak", "cohort": "2019"}),
    ("daniyar.demo@example.kz", "Daniyar Seitkali", "ru", {"country": "USA", "programme": "bolashak", "cohort": "2020"}),
    ("madina.demo@example.kz", "Madina Askarova", "en", {"country": "GBR", "programme": "bolashak", "cohort": "2021"}),
]  # fmt: skip
SERPIN_PANEL = [
    ("nurlan.demo@example.kz", "Nurlan Tokhtarov", "kk", {"region": "KZ-55", "cohort": "2022"}),
    ("aruzhan.demo@example.kz", "Aruzhan Kassymova", "ru", {"region": "KZ-63", "cohort": "2023"}),
]  # fmt: skip
# Answers of the demo's completed responses: (country of residence, city, return intention).
DEMO_ANSWERS = [
    ("DEU", "Berlin", "after_work_abroad"),
    ("USA", "Boston", "right_after_studies"),
    ("GBR", "London", "will_not_return"),
    ("TUR", "Ankara", "right_after_studies"),
    ("KOR", "Seoul", "undecided"),
]


def demo_invitations(wave: Wave, *, panel_slug: str = "demo-alumni", panel_name: str = "Demo alumni panel",
                     members=DEMO_PANEL) -> list[tuple[str, str]]:  # fmt: skip
    """A small demo panel of the wave's programme, invited to the wave; returns (email, invitation link) pairs."""
    panel, _ = Panel.objects.get_or_create(
        slug=panel_slug, defaults={"name": panel_name, "programme_id": wave.survey.programme_id}
    )
    if panel.programme_id != wave.survey.programme_id:
        Panel.objects.filter(pk=panel.pk).update(programme_id=wave.survey.programme_id)
    for email, name, language, attributes in members:
        respondent, _ = Respondent.objects.get_or_create(email=email)
        PanelMember.objects.get_or_create(
            panel=panel,
            respondent=respondent,
            defaults={"name": name, "language": language, "attributes": attributes},
        )
    if wave.panel_id != panel.pk:
        wave.panel = panel
        wave.save(update_fields=["panel"])
    wave_invite(wave=wave)
    invitations = Invitation.objects.filter(wave=wave).select_related("respondent").order_by("respondent__email")
    return [(i.respondent.email, f"{settings.SITE_URL}/i/{invitation_token(i.token_nonce)}/") for i in invitations]


def _answers(country: str, city: str, intention: str) -> dict:
    return {**SAMPLE_GRADUATE_ANSWERS, "country_residence": country, "city_residence": city,
            "return_intention": intention}  # fmt: skip


def demo_responses(wave: Wave, links: list[tuple[str, str]], *, invited: int, public: int) -> int:
    """Complete a few responses the way respondents would (through their links), once per wave."""
    if Response.objects.filter(wave=wave, status=Response.Status.COMPLETE).exists():
        return 0
    answers = [_answers(*row) for row in DEMO_ANSWERS]
    done = 0
    for (_email, link), values in zip(links[:invited], answers, strict=False):
        handle = respondent_flow.invitation_open(token=link.rstrip("/").rsplit("/", 1)[-1])
        done += _complete(handle, values)
    for values in answers[invited : invited + public]:
        done += _complete(respondent_flow.public_start(wave=wave, language="ru"), values)
    return done


def _complete(handle, values: dict) -> int:
    try:
        response_update(response=handle.response, status=Response.Status.COMPLETE, answers=values,
                        language=handle.response.language, invitation=handle.invitation)  # fmt: skip
    except SubmissionRefused:
        return 0
    return 1


def demo_account_invited(wave: Wave, *, user, name: str, language: str) -> None:
    """The demo respondent account is on the wave's panel and linked to its invitation, so
    their home page lists a survey to answer (safe to rerun)."""
    respondent, _ = Respondent.objects.get_or_create(email=user.email)
    if respondent.user_id != user.pk:
        Respondent.objects.filter(pk=respondent.pk).update(user=user)
    PanelMember.objects.get_or_create(
        panel=wave.panel, respondent=respondent, defaults={"name": name, "language": language, "attributes": {}}
    )
    wave_invite(wave=wave)
