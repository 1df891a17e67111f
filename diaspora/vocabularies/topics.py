"""Topics under the curated skills, and other names of the skills, in Kazakh, Russian and English.

What text matching reads to find the same subject in texts of different languages
(diaspora.matching.concepts): a request in Kazakh about "сөйлеуді тану" and a bio in English
about "speech recognition" both name the topic speech-recognition, under the skill
natural-language-processing. Terms are in dictionary form; the matcher takes inflection into
account. Slugs are not stored anywhere (matches store the names in the explanation's language
at the time), but keep them stable so explanations read the same over time.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._labels import pick
from ._topics_data import ALIASES, TOPIC_ROWS


@dataclass(frozen=True)
class Topic:
    slug: str
    skill: str  # the curated skill it belongs to, or "field:NNN" (an ISCED-F narrow field) where none fits
    terms: dict[str, tuple[str, ...]]  # language -> names, the first one the label


def _split(names: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in names.split("|") if name.strip())


TOPICS: dict[str, Topic] = {
    slug: Topic(slug, skill, {"en": _split(en), "ru": _split(ru), "kk": _split(kk)})
    for slug, skill, en, ru, kk in TOPIC_ROWS
}
SKILL_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    slug: {"en": _split(en), "ru": _split(ru), "kk": _split(kk)} for slug, (en, ru, kk) in ALIASES.items()
}


def topic_label(slug: str, language: str) -> str:
    topic = TOPICS.get(slug)
    return pick({lang: names[0] for lang, names in topic.terms.items() if names} if topic else None, language, slug)
