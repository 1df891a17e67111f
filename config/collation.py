"""Alphabetical order as each language's readers expect it.

A plain sorted() orders by code point: in Kazakh it puts Ә, Ғ, Қ, Ң, Ө, Ұ, Ү, Һ, І after Я, so
Қазақстан came 241st of 249 countries. ICU's collation (CLDR rules, through PyICU) knows each
language's alphabet: in Kazakh Қ follows К, І follows Ы; in Russian Ё sorts with Е.
Every long list of names (countries, skills, languages, regions) is sorted here.

Without PyICU the lists fall back to a case-insensitive code-point sort, with a warning in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, TypeVar

log = logging.getLogger(__name__)

try:
    import icu
except ImportError:  # pragma: no cover - exercised by the fallback test through monkeypatching
    icu = None

T = TypeVar("T")


def _base(language: str | None) -> str:
    """'kk-KZ', 'ru_RU', 'EN' -> 'kk', 'ru', 'en'."""
    return (language or "").replace("_", "-").split("-")[0].lower() or "en"


@cache
def _collator(language: str) -> Any:
    if icu is None:
        log.warning("PyICU is not installed: lists are sorted by code point, not in %s alphabetical order", language)
        return None
    # ICU collators are safe to share between threads for comparisons and sort keys (const calls).
    return icu.Collator.createInstance(icu.Locale(language))


def _fallback(text: str) -> str:
    return text.casefold()


def sort_key(language: str | None) -> Callable[[str], Any]:
    """A key function ordering strings as `language`'s alphabet does."""
    collator = _collator(_base(language))
    return _fallback if collator is None else collator.getSortKey


def sorted_by(items: Iterable[T], language: str | None, *, key: Callable[[T], str]) -> list[T]:
    """`items` ordered by the text `key` gives for each, in `language`'s alphabetical order."""
    text_key = sort_key(language)
    return sorted(items, key=lambda item: text_key(str(key(item))))


def sorted_choices(choices: Iterable[tuple[Any, Any]], language: str | None) -> list[tuple[Any, Any]]:
    """(value, label) pairs by label; a blank-valued choice ("Choose...", "Any") stays in front."""
    choices = list(choices)
    blank = [choice for choice in choices if choice[0] in ("", None)]
    rest = [choice for choice in choices if choice[0] not in ("", None)]
    return blank + sorted_by(rest, language, key=lambda choice: choice[1])
