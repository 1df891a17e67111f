"""What every vocabulary shares: the label languages, picking a label, sorting labels, "did you mean"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher

from config.collation import sorted_choices

LABEL_LANGUAGES = ("kk", "ru", "en")

Labels = dict[str, str]  # {"en": ..., "ru": ..., "kk": ...}


def labels(en: str, ru: str, kk: str) -> Labels:
    return {"en": en, "ru": ru, "kk": kk}


def base_language(language: str) -> str:
    """'ru-RU', 'kk_KZ', 'EN' -> 'ru', 'kk', 'en' (what Django's get_language() may hand us)."""
    return (language or "").replace("_", "-").split("-")[0].lower()


def pick(entry: Mapping[str, str] | None, language: str, fallback: str) -> str:
    """The label in `language`, else the English one, else `fallback` (the code itself)."""
    entry = entry or {}
    return entry.get(base_language(language)) or entry.get("en") or fallback


def choices(table: Mapping[str, Mapping[str, str]], language: str, *, by_label: bool) -> list[tuple[str, str]]:
    pairs = [(code, pick(entry, language, code)) for code, entry in table.items()]
    return sorted_choices(pairs, base_language(language)) if by_label else pairs


def name_index(table: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Every code and label, casefolded -> its code: what "did you mean" compares a bad value against."""
    return {name.casefold(): code for code, entry in table.items() for name in (code, *entry.values())}


def describe_unknown(values: Iterable[str], names: Mapping[str, str]) -> str:
    """Name each bad value with up to three codes whose names are nearly as close as the closest one.

    -> "'hydrolgy' (did you mean 'hydrology'?), 'xyz'"
    """
    parts = []
    for value in values:
        scored = sorted(((SequenceMatcher(None, value.casefold(), name).ratio(), name) for name in names), reverse=True)
        floor = max(0.6, scored[0][0] - 0.1) if scored else 1.0
        close = list(dict.fromkeys(names[name] for ratio, name in scored if ratio >= floor))[:3]
        parts.append(f"{value!r} (did you mean {' or '.join(map(repr, close))}?)" if close else repr(value))
    return ", ".join(parts)
