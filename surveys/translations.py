"""How complete each language is: the interface's catalogues and each instrument's texts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .instrument import Instrument

LANGUAGES = ("kk", "ru", "en")
_ENTRY = re.compile(
    r'(#, fuzzy\n(?:#.*\n)*)?msgid "((?:[^"\\]|\\.)*)"\n(?:".*"\n)*msgstr "((?:[^"\\]|\\.)*)"\n((?:".*"\n)*)'
)


@dataclass
class Completeness:
    present: int
    needed: int

    @property
    def percent(self) -> float:
        return 100.0 if not self.needed else 100.0 * self.present / self.needed


def catalogue_completeness(po_file: Path) -> Completeness:
    """Translated (non-fuzzy, non-empty) entries of a gettext catalogue."""
    text = po_file.read_text(encoding="utf-8") + "\n"
    needed = present = 0
    for match in _ENTRY.finditer(text):
        fuzzy, msgid, msgstr, more = match.groups()
        if not msgid:
            continue  # the header
        needed += 1
        if not fuzzy and (msgstr or more.strip()):
            present += 1
    return Completeness(present, needed)


def instrument_completeness(instrument: Instrument, languages: tuple[str, ...] = LANGUAGES) -> dict[str, Completeness]:
    """For each language, how many of the form's texts (labels, hints, messages, choices, title) it has."""
    texts: list[dict[str, str]] = [instrument.titles] if instrument.titles else []
    for item in instrument.fields.values():
        texts += [t for t in (item.labels, item.hints, item.required_message, item.constraint_message) if t]
    texts += [group.labels for group in instrument.groups.values() if group.labels]
    for list_name, choices in instrument.choice_lists.items():
        if not list_name.startswith("__"):  # built-in lists (countries) are translated by the platform
            texts += [choice.labels for choice in choices if choice.labels]
    return {lang: Completeness(sum(1 for t in texts if t.get(lang)), len(texts)) for lang in languages}
