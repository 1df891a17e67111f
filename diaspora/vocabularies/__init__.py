"""Curated code lists for the diaspora registry, labelled in Kazakh, Russian and English.

Every `*_label(code, language)` falls back to English, then to the code itself: an unknown or retired
code never raises. Every `check_*` raises ValueError naming the bad value and what is allowed.
"""

from ._labels import LABEL_LANGUAGES, Labels
from .fields import (
    ISCED_BROAD,
    ISCED_FIELDS,
    ISCO_MAJOR_GROUPS,
    broad_of,
    check_field,
    check_field_or_broad,
    check_occupation,
    field_choices,
    field_label,
    occupation_choices,
    occupation_label,
)
from .geography import (
    KZ_REGIONS,
    check_region,
    default_timezone,
    region_choices,
    region_label,
    timezone_choices,
    utc_offset,
)
from .languages import LANGUAGES, check_languages, language_choices, language_label
from .skills import SKILLS, Skill, check_skills, skill_choices, skill_label, skills_for_field
from .topics import SKILL_ALIASES, TOPICS, Topic, topic_label

__all__ = [
    "ISCED_BROAD",
    "ISCED_FIELDS",
    "ISCO_MAJOR_GROUPS",
    "KZ_REGIONS",
    "LABEL_LANGUAGES",
    "LANGUAGES",
    "SKILLS",
    "SKILL_ALIASES",
    "TOPICS",
    "Labels",
    "Skill",
    "Topic",
    "broad_of",
    "check_field",
    "check_field_or_broad",
    "check_languages",
    "check_occupation",
    "check_region",
    "check_skills",
    "default_timezone",
    "field_choices",
    "field_label",
    "language_choices",
    "language_label",
    "occupation_choices",
    "occupation_label",
    "region_choices",
    "region_label",
    "skill_choices",
    "skill_label",
    "skills_for_field",
    "timezone_choices",
    "topic_label",
    "utc_offset",
]
