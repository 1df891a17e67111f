"""What the staff pages show of answers, as pure functions (no database).

Fields merged across versions, per-question summaries (choice counts, number
statistics, the latest free-text answers), one response's answers labelled in a
language, and country codes named in a language. The selectors in
``selectors_admin`` read the rows; these functions take and return plain values.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pycountry

from .countries import country_choices
from .expressions import to_string
from .instrument import Instrument

NUMERIC_TYPES = {"integer", "decimal", "range"}
CHOICE_TYPES = {"select_one", "select_multiple", "country", "rank"}
TEXT_TYPES = {"text"}
SKIPPED_TYPES = {"note"}
MANY_CHOICES = 20  # longer lists (countries) show only the choices that were given
LATEST_TEXTS = 10  # free-text answers shown under a question; the rest on their own page


# --------------------------------------------------------------------------- countries


@cache
def country_names(language: str) -> dict[str, str]:
    """ISO 3166-1 alpha-3 and alpha-2 codes -> the country's name in `language` (CLDR)."""
    names: dict[str, str] = {}
    for code, labels in country_choices():
        name = labels.get(language) or labels.get("en") or code
        names[code] = name
        country = pycountry.countries.get(alpha_3=code)
        if country is not None:
            names[country.alpha_2] = name
    return names


def name_countries(values: Iterable[str | None], language: str) -> dict[str, str] | None:
    """Names for `values` when every one given is a country code (upper-case), else None."""
    names = country_names(language)
    given = [value for value in values if value]
    if not given or any(value not in names for value in given):
        return None
    return {value: names[value] for value in given}


# --------------------------------------------------------------------------- fields across versions


@dataclass
class MergedField:
    """One answer column across every version of a wave, labelled from the newest version that has it."""

    name: str
    type: str
    label: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    repeat: str | None = None  # asked once per entry of this repeat group
    repeat_label: str = ""

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def has_choices(self) -> bool:
        return self.type in CHOICE_TYPES

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES


def _merged_type(types: list[str]) -> str:
    # A field may change type only toward text, so text wins; otherwise the newest type.
    return "text" if "text" in types else types[0]


def merged_fields(instruments: list[Instrument], language: str) -> list[MergedField]:
    """Fields of all `instruments` (newest first) keyed by name: the newest's order, then older-only ones."""
    merged: dict[str, MergedField] = {}
    types: dict[str, list[str]] = {}
    for instrument in instruments:
        for item in instrument.fields.values():
            if item.type in SKIPPED_TYPES:
                continue
            types.setdefault(item.name, []).append(item.type)
            current = merged.get(item.name)
            if current is None:
                label = instrument.text(item.labels, language) or item.name
                current = merged[item.name] = MergedField(item.name, item.type, label, repeat=item.repeat)
                if item.repeat:
                    current.repeat_label = instrument.text(instrument.groups[item.repeat].labels, language)
            known = {name for name, _ in current.choices}
            for choice in instrument.choices_for(item):
                if choice.name not in known:
                    current.choices.append((choice.name, instrument.text(choice.labels, language) or choice.name))
    for name, item in merged.items():
        item.type = _merged_type(types[name])
        if not item.has_choices:
            item.choices = []
    return list(merged.values())


# --------------------------------------------------------------------------- question summaries


@dataclass
class QuestionSummary:
    name: str
    label: str
    type: str
    answered: int = 0
    choices: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, float] | None = None
    texts: list[str] = field(default_factory=list)  # the latest free-text answers (text questions)
    listed: bool = True  # its texts have a page of their own (not a repeat's entries: see the export)

    @property
    def more_texts(self) -> int:
        """Free-text answers not listed under the question."""
        return self.answered - len(self.texts) if self.type in TEXT_TYPES and self.listed else 0


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _selected(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value).split()


def _field_values(fields: list[MergedField], document: dict[str, Any]) -> Iterable[tuple[MergedField, Any]]:
    """Each answer of a response: one per question, one per entry for a question in a repeat."""
    for item in fields:
        if item.repeat is None:
            yield item, document.get(item.name)
            continue
        entries = document.get(item.repeat)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                yield item, entry.get(item.name)


@dataclass
class AnswerTally:
    """What the summaries are made of, kept so that more responses can be added to it: how many
    answered each question, the count of each choice, each number with how often it was given, and
    the latest free-text answers (response id and text, newest first). Labels are not in it: the
    same tally serves every language."""

    answered: Counter = field(default_factory=Counter)
    choices: dict[str, Counter] = field(default_factory=dict)
    numbers: dict[str, Counter] = field(default_factory=dict)
    texts: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    responses: int = 0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def tally_answers(
    fields: list[MergedField], rows: Iterable[tuple[int, dict[str, Any]]], tally: AnswerTally | None = None
) -> AnswerTally:
    """Add responses (id, answers) to `tally` (a new one when None) and return it."""
    tally = tally or AnswerTally()
    for item in fields:
        if item.has_choices:
            tally.choices.setdefault(item.name, Counter())
        elif item.is_numeric:
            tally.numbers.setdefault(item.name, Counter())
    texts: dict[str, list[tuple[int, str]]] = {}
    top_texts = {f.name for f in fields if f.is_text and f.repeat is None}
    for response_id, document in rows:
        tally.responses += 1
        for item, value in _field_values(fields, document or {}):
            if value is None or value == "" or value == []:
                continue
            tally.answered[item.name] += 1
            if item.name in tally.choices:
                selected = _selected(value) if item.type in {"select_multiple", "rank"} else [value]
                tally.choices[item.name].update(selected)
            elif item.name in tally.numbers and (number := _number(value)) is not None:
                tally.numbers[item.name][number] += 1
            elif item.name in top_texts:
                texts.setdefault(item.name, []).append((response_id, _text(value)))
    for name, added in texts.items():
        latest = sorted(tally.texts.get(name, []) + added, key=lambda pair: pair[0], reverse=True)
        tally.texts[name] = latest[:LATEST_TEXTS]
    return tally


def _median(values: Counter) -> float:
    """The median of numbers given with their counts (as statistics.median of the expanded list)."""
    n = sum(values.values())
    middle = [(n - 1) // 2, n // 2]  # the one or two positions in the middle
    found: list[float] = []
    seen = 0
    for value in sorted(values):
        seen += values[value]
        while len(found) < 2 and middle[len(found)] < seen:
            found.append(value)
    return found[0] if n % 2 else (found[0] + found[1]) / 2


def summaries_from_tally(fields: list[MergedField], tally: AnswerTally) -> list[QuestionSummary]:
    """Per-question counts and shares of choices, or n/mean/median/min/max of numbers, and the
    latest free-text answers, labelled by `fields` (the wave's fields in one language)."""
    summaries = []
    for item in fields:
        summary = QuestionSummary(item.name, item.label, item.type, tally.answered[item.name])
        if item.name in tally.choices:
            summary.choices = _choice_rows(item, tally.choices[item.name], summary.answered)
        elif tally.numbers.get(item.name):
            values = tally.numbers[item.name]
            n = sum(values.values())
            summary.stats = {
                "n": n,
                "mean": round(math.fsum(value * count for value, count in values.items()) / n, 2),
                "median": _median(values),
                "min": min(values),
                "max": max(values),
            }
        summary.listed = item.repeat is None  # entries' texts are in the export's repeat table
        if summary.type in TEXT_TYPES and summary.listed:
            summary.texts = [text for _id, text in tally.texts.get(item.name, [])]
        summaries.append(summary)
    return summaries


def summarise_answers(fields: list[MergedField], answers: Iterable[dict[str, Any]]) -> list[QuestionSummary]:
    """Summaries of answer documents (their order stands for their age, oldest first)."""
    return summaries_from_tally(fields, tally_answers(fields, enumerate(answers)))


def _choice_rows(item: MergedField, counts: Counter, answered: int) -> list[dict[str, Any]]:
    labels = dict(item.choices)
    names = [name for name, _ in item.choices] + sorted(set(counts) - set(labels))
    if len(names) > MANY_CHOICES:
        # Most given first; ties by code, so the order does not depend on the order answers came in.
        names = [name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))]
    return [
        {
            "name": name,
            "label": labels.get(name, name),
            "count": counts.get(name, 0),
            "share": round(100 * counts.get(name, 0) / answered, 1) if answered else 0.0,
        }
        for name in names
    ]


# --------------------------------------------------------------------------- one response


@dataclass
class AnswerRow:
    name: str
    label: str
    type: str
    values: list[str]  # one item, several (select_multiple) or in order (rank); empty: no answer
    ordered: bool = False


@dataclass
class AnswerSection:
    label: str
    rows: list[AnswerRow]
    unknown: bool = False  # values the version has no question for


def _answer_values(instrument: Instrument, name: str, value: Any, language: str) -> list[str]:
    item = instrument.fields[name]
    if value is None or value == "" or value == []:
        return []
    if item.type in CHOICE_TYPES:
        labels = {c.name: instrument.text(c.labels, language) or c.name for c in instrument.choices_for(item)}
        codes = _selected(value) if item.type in {"select_multiple", "rank"} else [to_string(value)]
        return [labels.get(code, code) for code in codes]
    return [to_string(value)]


def _entry_sections(instrument: Instrument, page: Any, answers: dict[str, Any], language: str) -> list[AnswerSection]:
    """A page's repeat groups: a section per entry ("Job 2"), its questions by their entry names."""
    sections: list[AnswerSection] = []
    repeats = list(dict.fromkeys(instrument.fields[n].repeat for n in page.fields if instrument.fields[n].repeat))
    for repeat in repeats:
        title = instrument.text(instrument.groups[repeat].labels, language) or repeat
        entries = answers.get(repeat)
        for index, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
            entry = entry if isinstance(entry, dict) else {}
            rows = [
                AnswerRow(
                    name=f"{repeat}[{index}].{item.name}",
                    label=instrument.text(item.labels, language) or item.name,
                    type=item.type,
                    values=_answer_values(instrument, item.name, entry.get(item.name), language),
                    ordered=item.type == "rank",
                )
                for item in instrument.repeat_fields(repeat)
                if item.takes_answer or (item.type == "calculate" and item.name in entry)
            ]
            sections.append(AnswerSection(f"{title} {index}", rows))
    return sections


def response_sections(instrument: Instrument, answers: dict[str, Any], language: str) -> list[AnswerSection]:
    """A response's answers page by page, labelled in `language` (choices by their labels, not codes).

    Every question that takes an answer is listed, unanswered ones with no values; values the
    version does not know (an answer document from elsewhere) come last, under their names.
    """
    sections: list[AnswerSection] = []
    for page in instrument.pages:
        group = instrument.groups.get(page.group) if page.group else None
        rows = []
        for name in page.fields:
            item = instrument.fields[name]
            if item.repeat:
                continue  # listed entry by entry below
            if not item.takes_answer and not (item.type == "calculate" and name in answers):
                continue
            rows.append(
                AnswerRow(
                    name=name,
                    label=instrument.text(item.labels, language) or name,
                    type=item.type,
                    values=_answer_values(instrument, name, answers.get(name), language),
                    ordered=item.type == "rank",
                )
            )
        if rows:
            sections.append(AnswerSection(instrument.text(group.labels, language) if group else "", rows))
        sections += _entry_sections(instrument, page, answers, language)
    unknown = [name for name in answers if name not in instrument.fields and name not in instrument.repeats]
    if unknown:
        rows = [AnswerRow(name, name, "", [to_string(answers[name])]) for name in unknown]
        sections.append(AnswerSection("", rows, unknown=True))
    return sections
