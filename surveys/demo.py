"""Demo content: the standard instruments, published, and an open demo wave."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from . import services
from .models import Invitation, Panel, PanelMember, Respondent, Survey, SurveyVersion, Wave, content_digest
from .services.invitations import wave_invite
from .tokens import invitation_token
from .xlsform import import_report

INSTRUMENTS_DIR = Path(__file__).resolve().parent / "instruments"
STANDARD_INSTRUMENTS = ("graduate_return", "diaspora_professionals")


def standard_instrument_path(name: str) -> Path:
    return INSTRUMENTS_DIR / f"{name}.xlsx"


def instruments_load() -> list[SurveyVersion]:
    """Publish each standard instrument unless its current version already has that content."""
    versions = []
    for name in STANDARD_INSTRUMENTS:
        path = standard_instrument_path(name)
        report = import_report(path.read_bytes(), path.name)
        survey = Survey.objects.filter(slug=name.replace("_", "-")).first()
        current = survey.current_version() if survey else None
        if (
            current is not None
            and report.content is not None
            and current.content_hash == content_digest(report.content)
        ):
            versions.append(current)
            continue
        result = services.survey_import_xlsform(
            data=path.read_bytes(), filename=path.name, survey_slug=name.replace("_", "-"), publish=True
        )
        if result.version is None:
            raise RuntimeError(f"{path.name} did not import: " + "; ".join(result.report.lines()))
        versions.append(result.version)
    return versions


def demo_wave(version: SurveyVersion) -> Wave:
    wave, _ = Wave.objects.get_or_create(
        slug="graduates-2026",
        defaults={
            "survey": version.survey,
            "version": version,
            "name": "Graduates abroad 2026",
            "opens_at": timezone.now() - dt.timedelta(days=1),
            "closes_at": timezone.now() + dt.timedelta(days=120),
            "is_public": True,
        },
    )
    if wave.version_id != version.pk:
        wave.version = version
        wave.save(update_fields=["version"])
    return wave


DEMO_PANEL = [
    # email, language, attributes
    ("aigerim.demo@example.kz", "kk", {"country": "DEU", "programme": "bolashak", "cohort": "2019"}),
    ("daniyar.demo@example.kz", "ru", {"country": "USA", "programme": "bolashak", "cohort": "2020"}),
    ("madina.demo@example.kz", "en", {"country": "GBR", "programme": "self_funded", "cohort": "2021"}),
]


def demo_invitations(wave: Wave) -> list[tuple[str, str]]:
    """A small demo panel invited to the demo wave; returns (email, invitation link) pairs."""
    panel, _ = Panel.objects.get_or_create(slug="demo-alumni", defaults={"name": "Demo alumni panel"})
    for email, language, attributes in DEMO_PANEL:
        respondent, _ = Respondent.objects.get_or_create(email=email, defaults={"preferred_language": language})
        PanelMember.objects.get_or_create(panel=panel, respondent=respondent, defaults={"attributes": attributes})
    if wave.panel_id != panel.pk:
        wave.panel = panel
        wave.save(update_fields=["panel"])
    wave_invite(wave=wave)
    invitations = Invitation.objects.filter(wave=wave).select_related("respondent").order_by("respondent__email")
    return [(i.respondent.email, f"{settings.SITE_URL}/i/{invitation_token(i.token_nonce)}/") for i in invitations]
