"""Invitation and reminder messages in Kazakh, Russian and English.

A wave may bring its own text per language in Wave.email_templates:
``{"kk": {"subject": "...", "body": "...", "reminder_subject": "...", "reminder_body": "..."}}``
(the reminder keys are optional: without them reminders use the platform's text).
Missing languages use the platform's letters in surveys/templates/surveys/email/
(``<kind>.<language>.txt``: the first line is the subject, the rest after a blank
line is the body). Whole letters are translated rather than gettext fragments,
so each language reads as one text written in it.

Placeholders, in the wave's text and the platform's alike: {greeting}, {name},
{survey}, {link}, {optout_link}, {closes}, {closes_line}. Only these names are
replaced (never str.format, which would let a template reach into objects); a
wave body without {link} or {optout_link} gets them appended, so no letter goes
out without the personal link or the way to opt out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

LANGUAGES = ("kk", "ru", "en")
KINDS = ("invitation", "reminder")
_TEMPLATES = Path(__file__).resolve().parent / "templates" / "surveys" / "email"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_MONTHS = {
    # Kazakh in the dative ("... дейін"), Russian in the genitive ("до ..."), as the sentences need them.
    "kk": "қаңтарға ақпанға наурызға сәуірге мамырға маусымға шілдеге тамызға қыркүйекке қазанға қарашаға желтоқсанға",
    "ru": "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
    "en": "January February March April May June July August September October November December",
}
_DATE = {"kk": "{year} жылғы {day} {month}", "ru": "{day} {month} {year} г.", "en": "{day} {month} {year}"}

_GREETING = {"kk": ("Сәлеметсіз бе, {}!", "Сәлеметсіз бе!"), "ru": ("Здравствуйте, {}!", "Здравствуйте!")}
_GREETING_EN = ("Dear {},", "Hello,")
_CLOSES = {
    "kk": "\n\nСауалнама {} дейін ашық.",
    "ru": "\n\nОпрос открыт до {} включительно.",
    "en": "\n\nThe survey is open until {}.",
}
_LINK_FOOTER = {"kk": "Жеке сілтемеңіз:", "ru": "Ваша персональная ссылка:", "en": "Your personal link:"}
_OPTOUT_FOOTER = {
    "kk": "Хаттардан бас тарту:",
    "ru": "Отказаться от писем:",
    "en": "Opt out of these emails:",
}


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


def invitation_link(token: str) -> str:
    return f"{settings.SITE_URL}/i/{token}/"


def optout_link(token: str) -> str:
    return f"{settings.SITE_URL}/o/{token}/"


def email_language(language: str) -> str:
    return language if language in LANGUAGES else LANGUAGES[0]


def letter_survey_title(version: Any, language: str) -> str:
    """The {survey} of a letter: the title of the version being fielded, in the letter's language
    (its form_title::<language>), else the survey's title in that language."""
    return version.instrument.title_in(language) or version.survey.title_in(language)


@cache
def builtin_letter(kind: str, language: str) -> Letter:
    text = (_TEMPLATES / f"{kind}.{language}.txt").read_text(encoding="utf-8")
    subject, _, body = text.partition("\n\n")
    return Letter(subject.strip(), body.strip() + "\n")


def wave_letter(*, templates: dict, kind: str, language: str) -> Letter:
    """The wave's own text for this kind and language, else the platform's."""
    own = templates.get(language) if isinstance(templates, dict) else None
    prefix = "" if kind == "invitation" else "reminder_"
    if isinstance(own, dict) and own.get(f"{prefix}subject") and own.get(f"{prefix}body"):
        return Letter(str(own[f"{prefix}subject"]), _with_links(str(own[f"{prefix}body"]), language))
    return builtin_letter(kind, language)


def letter_render(
    *, letter: Letter, language: str, name: str, survey: str, token: str, closes_at: datetime | None
) -> Letter:
    values = {
        "greeting": _greeting(language, name),
        "name": name,
        "survey": survey,
        "link": invitation_link(token),
        "optout_link": optout_link(token),
        "closes": _date(language, closes_at) if closes_at else "",
        "closes_line": _CLOSES[language].format(_date(language, closes_at)) if closes_at else "",
    }

    def fill(match: re.Match) -> str:
        return values.get(match.group(1), match.group(0))

    # A subject is one line: a newline in it would start a new mail header.
    subject = " ".join(_PLACEHOLDER.sub(fill, letter.subject).split())
    return Letter(subject, _PLACEHOLDER.sub(fill, letter.body))


def _with_links(body: str, language: str) -> str:
    if "{link}" not in body:
        body = f"{body.rstrip()}\n\n{_LINK_FOOTER[language]}\n{{link}}\n"
    if "{optout_link}" not in body:
        body = f"{body.rstrip()}\n\n---\n{_OPTOUT_FOOTER[language]}\n{{optout_link}}\n"
    return body


def _greeting(language: str, name: str) -> str:
    named, anonymous = _GREETING.get(language, _GREETING_EN)
    return named.format(name) if name.strip() else anonymous


def _date(language: str, moment: datetime) -> str:
    # closes_at is the first moment the wave is closed: the last open day is the day before
    # when it closes at midnight, local time.
    local = timezone.localtime(moment)
    day = local.date() if local.time() != local.time().min else (local - timedelta(days=1)).date()
    month = _MONTHS[language].split()[day.month - 1]
    return _DATE[language].format(day=day.day, month=month, year=day.year)
