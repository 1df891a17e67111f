"""Respondent pages as data: which pages apply, what each question shows, what a form posted.

Pure functions over a compiled instrument and a dict of answers (no database),
shared by the server-rendered pages and by the JSON check the pages' script
calls, so relevance is decided by the same interpreter everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from config.collation import sorted_by

from .answers import MAX_INSTANCES, validate_answers
from .expressions import Context, ExpressionError, is_empty, to_string
from .instrument import Field, Instrument
from .labels import plain_label, render_label

MANY_CHOICES = 12  # more options than this: a drop-down list instead of radio buttons


@dataclass
class Option:
    value: str
    label: str
    checked: bool = False
    rank: str = ""


@dataclass
class Question:
    name: str
    type: str
    label: str
    hint: str
    required: bool
    visible: bool
    value: Any
    error: str = ""
    options: list[Option] = field(default_factory=list)
    widget: str = "text"
    prefilled: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
    read_only: bool = False  # filled in by the form: shown, never sent
    shown: str = ""  # a read-only question's value as the respondent reads it
    entry: str = ""  # inside a repeat: the entry it belongs to ("Job 2"), for the error summary


@dataclass
class Section:
    """A run of questions on a page: a plain block, or a matrix (rows sharing one scale)."""

    name: str
    label: str
    is_matrix: bool
    visible: bool
    questions: list[Question]
    scale: list[Option] = field(default_factory=list)
    repeat: str = ""  # an entry of this repeat group (index from 1), or its "add an entry" row
    index: int = 0
    entries: int = 0  # on the "add" row: how many entries the page shows
    fixed: bool = False  # the form sets the number of entries: no adding or removing
    is_add: bool = False  # the row under a repeat's entries with its "add" button and entry count
    hint: str = ""  # the repeat's hint, shown by its add button


def relevant_fields(instrument: Instrument, answers: dict[str, Any], today: dt.date) -> set[str]:
    """Names of the questions relevant under these answers (the server's own rules).

    With repeat groups, relevance is what validation works out (it sees each repeated question
    as the node-set sum() and count() read); a repeat's questions count as relevant when the
    repeat is, since each entry decides the rest."""
    if instrument.repeats:
        visible = validate_answers(instrument, answers, complete=False, language=None, today=today).visible
        return {
            item.name
            for item in instrument.fields.values()
            if (item.repeat in visible if item.repeat else item.name in visible)
        }
    values = dict(answers)
    relevant: set[str] = set()
    for item in instrument.fields.values():
        # inside a repeat, whether the page applies rests on the groups; each entry decides the rest
        chain = (
            [e for e in (instrument.groups[g].relevant for g in item.groups) if e is not None]
            if item.repeat
            else instrument.relevance_chain(item)
        )
        try:
            ok = all(expr.test(Context(values=values, today=today)) for expr in chain)
        except ExpressionError:
            ok = True
        if ok:
            relevant.add(item.name)
        else:
            values[item.name] = None
    return relevant


def visible_names(instrument: Instrument, answers: dict[str, Any], today: dt.date) -> set[str]:
    """What the page script shows after a save: the relevant questions, and inside repeats each
    entry's relevant questions by their page names ("jobs[2].employer")."""
    names = relevant_fields(instrument, answers, today)
    if instrument.repeats:
        names |= validate_answers(instrument, answers, complete=False, language=None, today=today).visible
    return names


def shown_fields(instrument: Instrument, page_index: int) -> list[Field]:
    page = instrument.pages[page_index]
    return [instrument.fields[name] for name in page.fields if instrument.fields[name].type != "calculate"]


def applicable_pages(instrument: Instrument, answers: dict[str, Any], today: dt.date) -> list[int]:
    """Indexes of pages with at least one relevant question that takes an answer or shows a note."""
    relevant = relevant_fields(instrument, answers, today)
    return [
        index
        for index in range(len(instrument.pages))
        if any(f.name in relevant for f in shown_fields(instrument, index))
    ]


def page_answers(instrument: Instrument, page_index: int, data: QueryDict) -> dict[str, Any]:
    """The answers a page's form posted, as the API would receive them ('' means no answer)."""
    answers: dict[str, Any] = {}
    for item in shown_fields(instrument, page_index):
        if item.repeat and item.repeat not in answers:
            # each entry's inputs are named "jobs[2].employer", and "jobs__count" says how many
            # entries the page showed; without it (a form from elsewhere) the entries stay as stored
            count = _entry_count(data, item.repeat)
            if count is not None:
                answers[item.repeat] = [{} for _ in range(count)]
        if not item.takes_answer or item.set_by_form:
            continue
        if item.repeat:
            for index, entry in enumerate(answers.get(item.repeat, []), start=1):
                entry[item.name] = _posted(instrument, item, data, f"{item.repeat}[{index}].{item.name}")
            continue
        answers[item.name] = _posted(instrument, item, data, item.name)
    return answers


def _entry_count(data: QueryDict, repeat: str) -> int | None:
    raw = data.get(f"{repeat}__count")
    if raw is None:
        return None
    return min(int(raw), MAX_INSTANCES) if raw.isdecimal() and len(raw) <= 3 else 0


def _posted(instrument: Instrument, item: Field, data: QueryDict, key: str) -> Any:
    if item.type == "select_multiple":
        return [v for v in data.getlist(key) if v]
    if item.type == "rank":
        return _ranking(instrument, item, data, key)
    return data.get(key, "").strip()


def entries_change(answers: dict[str, Any], action: str) -> bool:
    """The page's "add an entry" (``add:jobs``) and "remove entry 2" (``remove:jobs:2``) buttons,
    applied to the posted answers; False when the action is neither."""
    kind, _, rest = action.partition(":")
    repeat, _, number = rest.partition(":")
    entries = answers.get(repeat)
    if kind == "add" and isinstance(entries, list) and len(entries) < MAX_INSTANCES:
        entries.append({})
        return True
    if (
        kind == "remove"
        and isinstance(entries, list)
        and number.isdecimal()
        and len(number) <= 3
        and 1 <= int(number) <= len(entries)
    ):
        del entries[int(number) - 1]
        return True
    return kind in ("add", "remove")


def _ranking(instrument: Instrument, item: Field, data: QueryDict, key: str | None = None) -> list[str] | str:
    key = key or item.name
    ranks = {c.name: data.get(f"{key}__rank__{c.name}", "").strip() for c in instrument.choices_for(item)}
    if not any(ranks.values()):
        return ""
    try:
        return [name for name, _ in sorted(ranks.items(), key=lambda kv: int(kv[1]))]
    except ValueError:
        return ["?"]  # not numbers: reported by validation as an invalid ranking


def merge(stored: dict[str, Any], posted: dict[str, Any]) -> dict[str, Any]:
    merged = dict(stored)
    for name, value in posted.items():
        if value in ("", [], None):
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def page_errors(
    instrument: Instrument, page_index: int, answers: dict[str, Any], *, required: bool, language: str, today: dt.date
) -> dict[str, str]:
    """Errors of one page's questions (required answers only when moving on)."""
    outcome = validate_answers(instrument, answers, complete=required, language=language, today=today)
    return errors_on_page(instrument, page_index, outcome.errors)


def first_page_with_errors(instrument: Instrument, pages: list[int], errors: dict[str, str]) -> int:
    """The first page whose questions have errors: among the pages that apply, else any page
    (an error must always be shown where it can be fixed, never lead back to an empty page)."""
    for candidate in [*pages, *range(len(instrument.pages))]:
        if errors_on_page(instrument, candidate, errors):
            return candidate
    return pages[0] if pages else 0


def errors_on_page(instrument: Instrument, page_index: int, errors: dict[str, str]) -> dict[str, str]:
    """The errors of a page's questions (a repeat's entries' errors, "jobs[2].end", included)."""
    keys = set()
    for item in shown_fields(instrument, page_index):
        keys.add(item.repeat or item.name)
    return {key: message for key, message in errors.items() if key.split("[", 1)[0] in keys}


def build_sections(
    instrument: Instrument,
    page_index: int,
    values: dict[str, Any],
    errors: dict[str, str],
    language: str,
    today: dt.date,
    prefilled: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[Section]:
    """What the page template renders: sections of questions with labels, options and state."""
    outcome = validate_answers(instrument, values, complete=False, language=None, today=today)
    relevant = relevant_fields(instrument, outcome.answers, today)
    # what the form fills in (read-only, computed) shows as the server works it out now
    values = {**values, **{f.name: outcome.answers.get(f.name) for f in instrument.top_fields() if f.set_by_form}}
    sections: list[Section] = []
    current_group = None
    done: set[str] = set()
    for item in shown_fields(instrument, page_index):
        if item.repeat:
            if item.repeat not in done:
                done.add(item.repeat)
                sections += _entries(instrument, page_index, item.repeat, values, outcome, errors, language, relevant)
            current_group = None
            continue
        group_name = item.groups[-1] if item.groups else None
        group = instrument.groups.get(group_name) if group_name else None
        if group is not None and group.is_matrix:
            if current_group != group_name:
                shown = _shown(instrument, language, values)
                scale = [Option(c.name, shown(c.labels)) for c in instrument.choices_for(item)]
                label = shown(group.labels)
                sections.append(Section(group_name, label, True, True, [], scale))
                current_group = group_name
        elif not sections or sections[-1].is_matrix or sections[-1].repeat:
            sections.append(Section("", "", False, True, []))
            current_group = None
        question = _question(instrument, item, values, errors, language, item.name in relevant, prefilled)
        sections[-1].questions.append(question)
    for section in sections:
        if section.questions:
            section.visible = any(q.visible for q in section.questions)
    return sections


def _entries(
    instrument: Instrument,
    page_index: int,
    repeat: str,
    values: dict[str, Any],
    outcome: Any,
    errors: dict[str, str],
    language: str,
    relevant: set[str],
) -> list[Section]:
    """A repeat group's entries, each a section of its questions named "jobs[2].employer", and
    the row that adds one (with the count the page posts back)."""
    group = instrument.groups[repeat]
    stored = values.get(repeat)
    entries = [e if isinstance(e, dict) else {} for e in stored] if isinstance(stored, list) else []
    fixed = group.repeat_count is not None
    if fixed:  # as many entries as the form asks for
        wanted = len(outcome.answers.get(repeat) or [])
        entries = entries[:wanted] + [{} for _ in range(wanted - len(entries))]
    on_page = {f.name for f in shown_fields(instrument, page_index)}
    inside = [f for f in instrument.repeat_fields(repeat) if f.name in on_page]
    title = plain_label(instrument.text(group.labels, language)) or repeat
    group_shown = any(f.name in relevant for f in inside)
    sections = []
    computed = outcome.answers.get(repeat) or []
    for index, entry in enumerate(entries, start=1):
        worked_out = computed[index - 1] if index - 1 < len(computed) else {}
        filled = {f.name: worked_out.get(f.name) for f in inside if f.set_by_form}
        scope = ChainMap(filled, entry, values)
        questions = []
        for item in inside:
            key = f"{repeat}[{index}].{item.name}"
            question = _question(instrument, item, scope, {}, language, key in outcome.visible, set())
            question.name, question.error, question.entry = key, errors.get(key, ""), f"{title} {index}"
            questions.append(question)
        section = Section(f"{repeat}[{index}]", f"{title} {index}", False, True, questions, repeat=repeat, index=index)
        section.fixed = fixed
        sections.append(section)
    add = Section(
        f"{repeat}__add", title, False, group_shown, [], repeat=repeat, entries=len(entries), fixed=fixed, is_add=True
    )
    add.hint = render_label(instrument.text(group.hints, language))
    return [*sections, add]


def _question(
    instrument: Instrument,
    item: Field,
    values: dict[str, Any],
    errors: dict[str, str],
    language: str,
    visible: bool,
    prefilled: set[str],
) -> Question:
    value = values.get(item.name, "")
    shown = _shown(instrument, language, values)
    question = Question(
        name=item.name,
        type=item.type,
        label=shown(item.labels),
        hint=shown(item.hints),
        required=item.required or item.required_if is not None,
        visible=visible,
        value=value,
        error=errors.get(item.name, ""),
        prefilled=item.name in prefilled,
        read_only=item.set_by_form,
    )
    choices = instrument.choices_for(item)
    selected = set(value) if isinstance(value, list) else {to_string(value)}
    if item.type == "rank":
        order = value if isinstance(value, list) else []
        question.options = [
            Option(
                c.name,
                shown(c.labels),
                rank=str(order.index(c.name) + 1) if c.name in order else "",
            )
            for c in choices
        ]
    elif choices:
        question.options = [Option(c.name, shown(c.labels), c.name in selected) for c in choices]
        if item.type == "country":
            question.options = sorted_by(question.options, language, key=lambda o: o.label)
    question.widget = _widget(item, len(question.options))
    if question.widget in ("month", "year") and isinstance(value, str) and len(value) == 10:
        question.value = value[:7] if question.widget == "month" else value[:4]
    if item.type in ("select_one", "select_multiple") and "likert" in item.appearance.split():
        question.widget = "likert" if item.type == "select_one" else question.widget
    if item.type == "range":
        start, end, step = (item.parameters[k] for k in ("start", "end", "step"))
        steps = int(round((end - start) / step)) + 1
        if 0 < steps <= 11:
            question.options = [
                Option(_plain(start + i * step), _plain(start + i * step), _plain(start + i * step) == to_string(value))
                for i in range(steps)
            ]
            question.widget = "radio"
        else:
            question.attrs = {"min": _plain(min(start, end)), "max": _plain(max(start, end)), "step": _plain(step)}
    if question.read_only:
        checked = [plain_label(o.label) for o in question.options if o.checked]
        question.shown = ", ".join(checked) if question.options else ("" if is_empty(value) else to_string(value))
        question.widget = "read_only"
    return question


def answer_text(instrument: Instrument, language: str, values: dict[str, Any], name: str) -> str:
    """An answer as a respondent reads it in a label's ${name}: the chosen choices' labels, or the value."""
    item = instrument.fields.get(name)
    value = values.get(name)
    if item is None or is_empty(value):
        return ""
    chosen = (
        value if isinstance(value, list) else to_string(value).split() if item.type == "select_multiple" else [value]
    )
    choices = {c.name: c for c in instrument.choices_for(item)}
    if choices:
        found = [choices[to_string(v)] for v in chosen if to_string(v) in choices]
        return ", ".join(plain_label(instrument.text(c.labels, language)) for c in found)
    return to_string(value)


def _shown(instrument: Instrument, language: str, values: dict[str, Any]):
    """Texts of the form as HTML: its formatting rendered and sanitised, ${name} showing answers."""

    def shown(texts: dict[str, str]) -> str:
        return render_label(
            instrument.text(texts, language), lambda name: answer_text(instrument, language, values, name)
        )

    return shown


def _widget(item: Field, option_count: int) -> str:
    if item.type == "note":
        return "note"
    if item.type == "select_multiple":
        return "checkbox"
    if item.type == "rank":
        return "rank"
    if item.type in ("select_one", "country"):
        minimal = "minimal" in item.appearance.split()
        return "dropdown" if item.type == "country" or minimal or option_count > MANY_CHOICES else "radio"
    if item.type == "integer":
        return "integer"
    if item.type == "decimal":
        return "decimal"
    if item.type == "date" and "month-year" in item.appearance.split():
        return "month"
    if item.type == "date" and "year" in item.appearance.split():
        return "year"
    if item.type in ("date", "time"):
        return item.type
    if item.type == "datetime":
        return "datetime-local"
    if item.type == "text" and "multiline" in item.appearance.split():
        return "textarea"
    return "text"


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# --------------------------------------------------------------------------- a page change, nothing stored


@dataclass
class PageStep:
    """The outcome of a page's form: the answers to keep, errors to show, the page to go to."""

    answers: dict[str, Any]
    errors: dict[str, str]
    page: int
    finished: bool = False


def page_step(
    instrument: Instrument,
    stored: dict[str, Any],
    page_index: int,
    posted: dict[str, Any],
    *,
    action: str,
    language: str,
    today: dt.date,
) -> PageStep:
    """What saving a page does to the answers, as the respondent service rules it, without storing.

    Valid answers are kept even when others on the page are not; moving on ("next",
    "finish") needs the page's required answers, and finishing needs every required
    answer (the first page with a problem is shown). Used by the staff preview.
    """
    merged = merge(stored, posted)
    moving_on = action in ("next", "finish")
    errors = page_errors(instrument, page_index, merged, required=moving_on, language=language, today=today)
    keep = {name: value for name, value in merged.items() if name not in errors}
    cleaned = validate_answers(instrument, keep, complete=False, language=language, today=today).answers
    if errors:
        return PageStep(cleaned, errors, page_index)
    pages = applicable_pages(instrument, cleaned, today)
    if action == "back":
        earlier = [p for p in pages if p < page_index]
        return PageStep(cleaned, {}, earlier[-1] if earlier else (pages[0] if pages else page_index))
    later = [p for p in pages if p > page_index]
    if action == "next" and later:
        return PageStep(cleaned, {}, later[0])
    if not moving_on:
        return PageStep(cleaned, {}, page_index)
    outcome = validate_answers(instrument, cleaned, complete=True, language=language, today=today)
    if outcome.errors:
        first = first_page_with_errors(instrument, pages, outcome.errors)
        return PageStep(cleaned, errors_on_page(instrument, first, outcome.errors), first)
    return PageStep(outcome.answers, {}, page_index, finished=True)


def page_view(
    instrument: Instrument,
    page_index: int,
    stored: dict[str, Any],
    shown: dict[str, Any],
    errors: dict[str, str],
    language: str,
    today: dt.date,
    prefilled: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The page model the respondent page template renders (besides the links and languages):
    position among the pages that apply under the `stored` answers, and the `shown` values."""
    pages = applicable_pages(instrument, stored, today) or [page_index]
    if page_index not in pages:
        pages = sorted({*pages, page_index})
    position = pages.index(page_index)
    group = instrument.pages[page_index].group
    return {
        "page": page_index,
        "page_title": plain_label(instrument.text(instrument.groups[group].labels, language)) if group else "",
        "sections": build_sections(instrument, page_index, shown, errors, language, today, prefilled),
        "errors": errors,
        "position": position + 1,
        "page_count": len(pages),
        "percent": round(100 * position / len(pages)),
        "is_first": position == 0,
        "is_last": position == len(pages) - 1,
    }
