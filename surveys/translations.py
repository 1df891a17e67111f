"""How complete each language is: the interface's catalogues and each instrument's texts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .instrument import Instrument

LANGUAGES = ("kk", "ru", "en")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


@dataclass
class Completeness:
    present: int
    needed: int

    @property
    def percent(self) -> float:
        return 100.0 if not self.needed else 100.0 * self.present / self.needed


@dataclass
class CatalogueEntry:
    """One message of a gettext catalogue: a plural one has several translations (msgstr[n])."""

    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    fuzzy: bool = False

    @property
    def translated(self) -> bool:
        return not self.fuzzy and bool(self.msgstrs) and all(self.msgstrs)


def _unquote(line: str) -> str:
    match = _STRING.search(line)
    text = match.group(1) if match else ""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def catalogue_entries(po_file: Path) -> list[CatalogueEntry]:
    """The live entries of a .po file (obsolete #~ entries and the header left out), with their
    context, plural forms and fuzzy flag."""
    entries: list[CatalogueEntry] = []
    for block in re.split(r"\n\s*\n", po_file.read_text(encoding="utf-8")):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines or all(line.startswith("#~") or line.startswith("#") for line in lines):
            continue
        parts: dict[str, str] = {}
        key, fuzzy = None, False
        for line in lines:
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and key:
                parts[key] += _unquote(line)
            else:
                key = line.split(" ", 1)[0]
                parts[key] = _unquote(line)
        if "msgid" not in parts or not parts["msgid"]:
            continue  # the header
        msgstrs = [parts[k] for k in sorted(parts, key=_plural_index) if k.startswith("msgstr")]
        entries.append(CatalogueEntry(parts["msgid"], parts.get("msgctxt"), parts.get("msgid_plural"), msgstrs, fuzzy))
    return entries


def _plural_index(key: str) -> int:
    found = re.search(r"\[(\d+)\]", key)
    return int(found.group(1)) if found else 0


def catalogue_completeness(po_file: Path) -> Completeness:
    """Translated entries of a gettext catalogue: not fuzzy, and every form of a plural one filled."""
    entries = catalogue_entries(po_file)
    return Completeness(sum(1 for e in entries if e.translated), len(entries))


def instrument_completeness(instrument: Instrument, languages: tuple[str, ...] = LANGUAGES) -> dict[str, Completeness]:
    """For each language, how many of the form's texts (labels, hints, messages, choices, title) it has."""
    texts: list[dict[str, str]] = [instrument.titles] if instrument.titles else []
    for item in instrument.fields.values():
        texts += [t for t in (item.labels, item.hints, item.required_message, item.constraint_message) if t]
    texts += [group.labels for group in instrument.groups.values() if group.labels]
    texts += [group.hints for group in instrument.groups.values() if group.hints]
    for list_name, choices in instrument.choice_lists.items():
        if not list_name.startswith("__"):  # built-in lists (countries) are translated by the platform
            texts += [choice.labels for choice in choices if choice.labels]
    return {lang: Completeness(sum(1 for t in texts if t.get(lang)), len(texts)) for lang in languages}


def texts_completeness(
    texts: list[tuple[dict[str, str], tuple[str, ...]]], languages: tuple[str, ...] = LANGUAGES
) -> dict[str, Completeness]:
    """For each language, how many texts have it, among those needed in it: each text is
    ({language: text}, the languages it is needed in), as survey titles and wave names are
    needed in the languages their version is given in."""
    return {
        lang: Completeness(
            sum(1 for values, needed in texts if lang in needed and (values or {}).get(lang)),
            sum(1 for _, needed in texts if lang in needed),
        )
        for lang in languages
    }
