"""The directory as CSV: the same people and the same field groups as the page shows the
viewer (selectors.directory and person_card), so an export can never hold more than a list."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from accounts.models import User

from .models import Person
from .selectors import person_card

COLUMNS = [
    "id", "display_name", "occupation", "programmes", "field_of_study", "skills", "tags", "languages",
    "offers", "country", "city", "timezone", "home_region", "departure_year", "last_confirmed_at", "stale",
]  # fmt: skip
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def directory_csv(user: User, people: Iterable[Person]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for person in people:
        writer.writerow({k: _cell(v) for k, v in _row(person_card(user, person)).items()})
    return out.getvalue()


def _row(card: dict) -> dict:
    row = dict(card)
    for name in ("programmes", "skills", "tags", "languages"):
        if name in row:
            row[name] = " ".join(row[name])
    if "offers" in row:
        row["offers"] = "; ".join(f"{o['mode']}:{o['capacity']} {o['unit']}" for o in row["offers"])
    return row


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
