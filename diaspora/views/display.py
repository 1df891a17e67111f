"""Codes turned into words for the templates: fields, skills, languages, countries, modes."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from surveys.countries import country_choices

from .. import vocabularies as vocab
from ..explanations import explain
from ..matching.types import COMPONENTS, LOCATION_COMPONENTS
from ..models import Match, Mode, Offer

COMPONENT_LABELS = {
    "skills": _("Skills"),
    "field": _("Field of study"),
    "text": _("Topic and profile"),
    "language": _("Language"),
    "region": _("Region ties"),
    "timezone": _("Working hours"),
}


def country_name(code: str, lang: str) -> str:
    names = dict(country_choices()).get(code)
    return (names.get(lang) or names.get("en")) if names else code


def _unit_label(offer: dict[str, Any]) -> str:
    """The unit after the capacity ("5 engagements per quarter"), agreeing with that number."""
    count = offer.get("capacity") if isinstance(offer.get("capacity"), int) else 0
    if offer["unit"] == Offer.Unit.HOURS:
        return ngettext("hour per quarter", "hours per quarter", count)
    if offer["unit"] == Offer.Unit.ENGAGEMENTS:
        return ngettext("engagement per quarter", "engagements per quarter", count)
    return offer["unit"]


def offer_view(offer: dict[str, Any]) -> dict[str, Any]:
    where = [str(_("remotely"))] if offer["remote"] else []
    if offer["onsite"]:
        where.append(str(_("on site")))
    return {
        **offer,
        "label": Mode(offer["mode"]).label if offer["mode"] in Mode.values else offer["mode"],
        "unit_label": _unit_label(offer),
        "where": ", ".join(where),
    }


def card_view(card: dict[str, Any], lang: str) -> dict[str, Any]:
    """A person_card with labels beside the codes (only the keys the card has: visibility decided them)."""
    shown = dict(card)
    if card.get("occupation"):
        shown["occupation_label"] = vocab.occupation_label(card["occupation"], lang)
    if card.get("field_of_study"):
        shown["field_label"] = vocab.field_label(card["field_of_study"], lang)
    if "skills" in card:
        shown["skill_labels"] = [vocab.skill_label(s, lang) for s in card["skills"]]
        shown["language_labels"] = [vocab.language_label(code, lang) for code in card["languages"]]
        shown["offers"] = [offer_view(o) for o in card["offers"]]
    if card.get("country"):
        shown["country_label"] = country_name(card["country"], lang)
    if card.get("home_region"):
        shown["region_label"] = vocab.region_label(card["home_region"], lang)
    return shown


def component_bars(match: Match, *, show_location: bool) -> list[dict[str, Any]]:
    """The score's parts as bars (0-100), location parts only for viewers who see the location."""
    bars = []
    for name in COMPONENTS:
        if name not in (match.components or {}) or (name in LOCATION_COMPONENTS and not show_location):
            continue
        value = float(match.components[name] or 0)
        bars.append({"name": name, "label": COMPONENT_LABELS[name], "percent": round(100 * max(0.0, min(value, 1.0)))})
    return bars


def match_view(match: Match, lang: str, *, show_location: bool) -> dict[str, Any]:
    return {
        "match": match,
        "why": explain(match, language=lang, show_location=show_location),
        "bars": component_bars(match, show_location=show_location),
        "score": round(match.score, 2),
    }
