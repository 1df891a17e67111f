"""Show one held record (a dict of field values) as label/value rows on the data page."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import localize

from privacy.labels import LABELS

register = template.Library()


def _shown(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return localize(timezone.localtime(value))  # as every other time on the site
    if isinstance(value, dt.datetime | dt.date):
        return localize(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str, indent=1)
    return str(value)


@register.filter
def held_rows(record: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, text) for each plain value of the record; lists of records are shown on their own."""
    if not record:
        return []
    rows = []
    for key, value in record.items():
        if key == "answers" or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
            continue
        rows.append((str(LABELS.get(key) or key.replace("_", " ").capitalize()), _shown(value)))
    return rows


@register.filter
def answer_rows(answers: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [(str(key), _shown(value)) for key, value in (answers or {}).items()]
