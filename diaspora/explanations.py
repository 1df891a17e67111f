"""Explanations built from a proposal's score components, in the reader's language.

Template sentences from the stored parts, never free text: the same match explains itself
the same way every time, and shows only what the reader may see of the person.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import vocabularies as vocab
from .matching.types import FilterStep
from .models import Match, Mode, Offer


def explain(match: Match, *, language: str, show_location: bool) -> list[str]:
    details, components = match.details or {}, match.components or {}
    with translation.override(language):
        parts: list[str] = []
        skills = details.get("shared_skills") or []
        if details.get("covers_all_skills") and skills:
            labels = ", ".join(vocab.skill_label(s, language) for s in skills)
            parts.append(_("has every requested skill: %(skills)s") % {"skills": labels})
        elif skills:
            labels = ", ".join(vocab.skill_label(s, language) for s in skills)
            parts.append(_("shared skills: %(skills)s") % {"skills": labels})
        topics = [concept_label(key, language) for key in details.get("shared_topics") or []]
        if topics:
            parts.append(_("both about %(topics)s") % {"topics": ", ".join(topics)})
        if components.get("field", 0) >= 1:
            parts.append(_("same field of study"))
        elif components.get("field", 0) > 0:
            parts.append(_("a related field of study"))
        if components.get("text", 0) >= 0.2:
            parts.append(_("the request's topic resembles the profile (%(percent)s%%)") % _pct(components["text"]))
        languages = details.get("shared_languages") or []
        if languages:
            names = ", ".join(vocab.language_label(code, language) for code in languages)
            parts.append(_("speaks %(languages)s") % {"languages": names})
        parts.append(_offer_phrase(details))
        if show_location and components.get("region", 0) >= 1:
            parts.append(_("has ties to the request's region"))
        hours = round(9 * components.get("timezone", 0))
        if show_location and hours > 0:
            parts.append(
                ngettext("working hours overlap by %(hours)s hour", "working hours overlap by %(hours)s hours", hours)
                % {"hours": hours}
            )
        if details.get("stale"):
            parts.append(_("profile not confirmed for over a year"))
        return [p for p in parts if p]


def concept_label(key: str, language: str) -> str:
    """A concept key of the matching lexicon ("topic:speech-recognition") in the reader's language."""
    kind, _sep, code = key.partition(":")
    if kind == "topic":
        return vocab.topic_label(code, language)
    if kind == "skill":
        return vocab.skill_label(code, language)
    return vocab.field_label(code, language) if kind == "field" else code


def _pct(value: float) -> dict[str, int]:
    return {"percent": round(100 * value)}


def _offer_phrase(details: dict) -> str:
    mode = details.get("mode")
    if mode not in Mode.values:
        return ""
    where = (
        _("remote or on site")
        if details.get("remote") and details.get("onsite")
        else _("remote")
        if details.get("remote")
        else _("on site")
    )
    left = details.get("remaining_after")
    values = {"mode": Mode(mode).label.lower(), "where": where, "left": left}
    count = left if isinstance(left, int) else 0
    # One sentence per unit, the number deciding the plural (Russian has three forms).
    if details.get("unit") == Offer.Unit.HOURS:
        return (
            ngettext(
                "offers %(mode)s (%(where)s), %(left)s hour left this quarter",
                "offers %(mode)s (%(where)s), %(left)s hours left this quarter",
                count,
            )
            % values
        )
    return (
        ngettext(
            "offers %(mode)s (%(where)s), %(left)s engagement left this quarter",
            "offers %(mode)s (%(where)s), %(left)s engagements left this quarter",
            count,
        )
        % values
    )


_FILTER_MESSAGES = {
    "eligible": lambda: _("Nobody in the registry can be matched yet (no listed profiles that accept proposals)."),
    "mode": lambda: _("Nobody offers this kind of engagement."),
    "language": lambda: _("Nobody who offers this engagement speaks any of the requested languages."),
    "format": lambda: _("Nobody suitable offers it in the requested format (remote or on site)."),
    "capacity": lambda: _("Everyone suitable has used up their capacity for this quarter."),
    "conflict": lambda: _("The only suitable experts are affiliated with the requesting institution."),
    "already_asked": lambda: _("Every suitable expert has already been asked about this request."),
    "assignment": lambda: _("Suitable experts were given to requests they fit better; the next run will try again."),
    "too_few": lambda: _("Fewer experts pass every filter than the request has places; all of them were proposed."),
    "hours": lambda: _(
        "Suitable experts have fewer hours left this quarter than one engagement of this request takes."
    ),
}


def filter_message(steps: list[FilterStep]) -> str:
    """Why a request has nobody: the first filter that emptied the list."""
    for step in steps:
        if step.remaining == 0 and step.name in _FILTER_MESSAGES:
            return str(_FILTER_MESSAGES[step.name]())
    if steps and steps[-1].name in ("assignment", "hours", "too_few"):
        return str(_FILTER_MESSAGES[steps[-1].name]())
    return ""


def short_reason(code: str) -> str:
    """Why a run left a request short, from its stats code (a filter, "assignment" or "hours")."""
    message = _FILTER_MESSAGES.get(code)
    return str(message()) if message else code


def filter_trail(steps: list[FilterStep]) -> list[tuple[str, int]]:
    names = {
        "eligible": _("listed and accepting proposals"),
        "mode": _("offer this engagement"),
        "language": _("speak a requested language"),
        "format": _("in the requested format"),
        "capacity": _("with capacity left"),
        "conflict": _("without a conflict of interest"),
        "already_asked": _("not asked before"),
        "assignment": _("assigned by the last run"),
        "hours": _("assigned by the last run (hours ran short)"),
        "too_few": _("assigned by the last run"),
    }
    return [(str(names.get(step.name, step.name)), step.remaining) for step in steps]
