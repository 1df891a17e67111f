"""A survey version's content, compiled: fields, pages, choice lists, parsed expressions.

Content is XLSForm-shaped (``{"settings": {...}, "survey": [rows],
"choices": [rows]}``, each row keeping its spreadsheet row number in
``_row``). ``compile_instrument`` checks all of it and returns every problem
at once, each naming sheet, row and column, so an author fixes a form in one
round trip. XLSForm features the platform does not support are handled by the
rules in ``UNSUPPORTED_TYPES`` and reported as notes, never dropped silently.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import expressions
from .countries import COUNTRY_FILE_NAMES, country_choices
from .expressions import Expression, ExpressionError

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_LANG_CODE_RE = re.compile(r"\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*)\)\s*$")

TRANSLATABLE = ("label", "hint", "required_message", "constraint_message")
SETTING_LIMITS = {"form_title": 200, "form_id": 80, "version": 100}
EXPRESSION_COLUMNS = ("relevant", "constraint", "calculation", "choice_filter", "required")
SURVEY_COLUMNS = {
    "type",
    "name",
    "appearance",
    "default",
    "parameters",
    "read_only",
    "repeat_count",
    *EXPRESSION_COLUMNS,
}
CHOICE_COLUMNS = {"list_name", "name"}
# Columns of other XLSForm features: read, reported as ignored.
IGNORED_COLUMNS = {
    "guidance_hint": "guidance hints are for printed forms; they are not shown",
    "trigger": "triggers are not supported; calculations are recomputed on every change",
    "media": "media (images, audio, video) in questions are not shown",
    "image": "media (images, audio, video) in questions are not shown",
    "audio": "media (images, audio, video) in questions are not shown",
    "video": "media (images, audio, video) in questions are not shown",
}

TYPE_ALIASES = {
    "begin group": "begin_group",
    "end group": "end_group",
    "begin repeat": "begin_repeat",
    "end repeat": "end_repeat",
    "int": "integer",
    "datetime": "datetime",
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "select multiple": "select_multiple",
}
SIMPLE_TYPES = {"integer", "decimal", "range", "text", "date", "time", "datetime", "note", "calculate", "country"}
LIST_TYPES = {"select_one", "select_multiple", "rank"}
ANSWER_TYPES = SIMPLE_TYPES - {"note", "calculate"} | LIST_TYPES
OMITTED_TYPES = {
    "geopoint": "location questions are not supported",
    "geotrace": "location questions are not supported",
    "geoshape": "location questions are not supported",
    "image": "file uploads are not supported",
    "audio": "file uploads are not supported",
    "video": "file uploads are not supported",
    "file": "file uploads are not supported",
    "background-audio": "recordings are not supported",
    "background-geopoint": "location questions are not supported",
    "barcode": "barcode scanning is not supported",
    "acknowledge": "acknowledge questions are not supported",
    "trigger": "acknowledge questions are not supported",
    "xml-external": "external data is not supported",
    "csv-external": "external data is not supported",
    "start": "the platform records when a response starts and ends itself",
    "end": "the platform records when a response starts and ends itself",
    "today": "the platform records when a response starts and ends itself",
    "deviceid": "device metadata is not collected",
    "subscriberid": "device metadata is not collected",
    "simserial": "device metadata is not collected",
    "phonenumber": "device metadata is not collected",
    "username": "the platform records the respondent's account itself",
    "email": "the platform records the respondent's account itself",
    "audit": "audit logs of form use are not collected",
    "start-geopoint": "location questions are not supported",
}
# The rules, in words, for the import report and the documentation.
UNSUPPORTED_TYPES = {
    **{name: f"left out of the version: {why}" for name, why in OMITTED_TYPES.items()},
    "select_one_from_file": "refused unless the file is countries.csv (the built-in ISO 3166 list)",
    "select_multiple_from_file": "refused: choice lists from external files are not supported",
    "select_one_external": "refused: external choice lists are not supported",
}


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [f"{self.sheet} sheet"]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


class InstrumentError(Exception):
    """The content is not a valid instrument; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem], notes: list[Problem] | None = None):
        self.problems = problems
        self.notes = notes or []
        super().__init__("; ".join(str(p) for p in problems[:5]) + (" ..." if len(problems) > 5 else ""))


@dataclass
class Choice:
    name: str
    labels: dict[str, str]
    columns: dict[str, str]
    row: int | None = None


@dataclass
class Field:
    name: str
    type: str
    row: int | None
    labels: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    required: bool = False
    required_if: Expression | None = None
    required_message: dict[str, str] = field(default_factory=dict)
    relevant: Expression | None = None
    constraint: Expression | None = None
    constraint_message: dict[str, str] = field(default_factory=dict)
    calculation: Expression | None = None
    choice_filter: Expression | None = None
    appearance: str = ""
    list_name: str | None = None
    default: Any = None
    parameters: dict[str, float] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    or_other: bool = False
    read_only: bool = False
    repeat: str | None = None  # the repeat group the question is asked in, once per instance

    @property
    def takes_answer(self) -> bool:
        return self.type in ANSWER_TYPES

    @property
    def set_by_form(self) -> bool:
        """A question the form fills in (read-only, or computed by a calculation): the respondent
        sees its value but never sends it; the server computes or defaults it."""
        return self.takes_answer and (self.read_only or self.calculation is not None)


@dataclass
class Group:
    name: str
    row: int | None
    labels: dict[str, str] = field(default_factory=dict)
    relevant: Expression | None = None
    appearance: str = ""
    parent: str | None = None
    hints: dict[str, str] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)
    is_matrix: bool = False
    is_repeat: bool = False
    repeat_count: Expression | None = None  # a fixed number of instances, when the form sets one


@dataclass
class Page:
    """One screen: a top-level group, or a run of questions outside any group."""

    group: str | None
    fields: list[str]


@dataclass
class Instrument:
    title: str
    form_id: str
    version_label: str
    languages: list[str]
    default_language: str
    fields: dict[str, Field]
    groups: dict[str, Group]
    pages: list[Page]
    choice_lists: dict[str, list[Choice]]
    notes: list[Problem]
    titles: dict[str, str] = field(default_factory=dict)
    relevance: dict[str, list[Expression]] = field(default_factory=dict)
    looks_ahead: bool = False
    language_names: dict[str, str] = field(default_factory=dict)  # code -> the name the form gives it

    def __post_init__(self) -> None:
        # Precomputed once per version: each question's relevance chain (its groups'
        # conditions, then its own), and whether any condition or calculation reads a
        # question placed after it, which is the only case needing a second pass.
        position = {name: index for index, name in enumerate(self.fields)}
        for index, (name, item) in enumerate(self.fields.items()):
            chain = [self.groups[g].relevant for g in item.groups] + [item.relevant, item.calculation]
            exprs = [expr for expr in chain if expr is not None]
            self.relevance[name] = [expr for expr in exprs if expr is not item.calculation]
            if any(position.get(ref, -1) >= index for expr in exprs for ref in expr.refs):
                self.looks_ahead = True

    def title_in(self, language: str | None) -> str:
        """The form's title in a language (settings columns `form_title::<language>`); else the
        untranslated `form_title`, the one the author wrote as the title; else another language's."""
        if language and self.titles.get(language):
            return self.titles[language]
        return self.title or self.text(self.titles, language)

    def text(self, texts: dict[str, str], language: str | None) -> str:
        """A label or message in `language`, falling back to the default language."""
        for lang in (language, self.default_language, *self.languages):
            if lang and texts.get(lang):
                return texts[lang]
        return ""

    @cached_property
    def repeats(self) -> dict[str, Group]:
        return {name: group for name, group in self.groups.items() if group.is_repeat}

    @cached_property
    def _top_fields(self) -> list[Field]:
        return [f for f in self.fields.values() if f.repeat is None]

    @cached_property
    def _repeat_fields(self) -> dict[str, list[Field]]:
        found: dict[str, list[Field]] = {name: [] for name in self.repeats}
        for item in self.fields.values():
            if item.repeat is not None:
                found.setdefault(item.repeat, []).append(item)
        return found

    def top_fields(self) -> list[Field]:
        """Questions answered once per response (outside any repeat group)."""
        return self._top_fields

    def repeat_fields(self, repeat: str) -> list[Field]:
        return self._repeat_fields.get(repeat, [])

    def choices_for(self, item: Field) -> list[Choice]:
        return self.choice_lists.get(item.list_name or "", [])

    def relevance_chain(self, item: Field) -> list[Expression]:
        return self.relevance[item.name]

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"name": f.name, "type": f.type, "list_name": f.list_name, "required": f.required, "groups": list(f.groups)}
            for f in self.fields.values()
        ]


# --------------------------------------------------------------------------- columns


def language_of(column_language: str) -> str:
    """`Қазақша (kk)` -> `kk`; a language without a code keeps its name."""
    match = _LANG_CODE_RE.search(column_language)
    return match.group(1).lower() if match else column_language.strip().lower()


def split_column(header: str) -> tuple[str, str | None]:
    base, sep, language = header.partition("::")
    return base.strip().lower(), (language.strip() if sep else None)


def normalise_type(raw: str) -> tuple[str, str | None, bool]:
    """`select_one yes_no or_other` -> ("select_one", "yes_no", True)."""
    text = " ".join(raw.split())
    lowered = text.lower()
    if lowered in TYPE_ALIASES:
        return TYPE_ALIASES[lowered], None, False
    parts = text.split(" ")
    head = TYPE_ALIASES.get(parts[0].lower(), parts[0].lower())
    if head == "datetime" or parts[0] == "dateTime":
        head = "datetime"
    or_other = len(parts) == 3 and parts[2].lower() == "or_other"
    argument = parts[1] if len(parts) >= 2 else None
    return head, argument, or_other


# --------------------------------------------------------------------------- compiler


class _Compiler:
    def __init__(self, content: dict[str, Any]):
        self.content = content
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []
        self.settings: dict[str, str] = dict(content.get("settings") or {})
        self.survey_rows: list[dict[str, Any]] = list(content.get("survey") or [])
        self.choice_rows: list[dict[str, Any]] = list(content.get("choices") or [])
        self.languages: list[str] = []
        self.language_names: dict[str, str] = {}
        self.default_language = "default"
        self.fields: dict[str, Field] = {}
        self.groups: dict[str, Group] = {}
        self.pages: list[Page] = []
        self.choice_lists: dict[str, list[Choice]] = {}
        self.choice_columns: dict[str, set[str]] = {}
        self.pending: list[tuple[Field | Group, str, Expression, dict[str, Any]]] = []
        self.reserved: set[str] = set()

    def error(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(sheet, row, column, message))

    def note(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.notes.append(Problem(sheet, row, column, message))

    def compile(self) -> Instrument:
        if not self.survey_rows:
            self.error("survey", None, None, "the survey sheet is missing or has no questions")
        self.read_languages()
        self.read_choices()
        self.read_survey()
        self.check_expressions()
        self.check_lengths()
        if not any(f.takes_answer for f in self.fields.values()) and self.survey_rows:
            self.error("survey", None, None, "the form has no question that takes an answer")
        if self.problems:
            raise InstrumentError(self.problems, self.notes)
        return Instrument(
            title=self.settings.get("form_title", "") or self.settings.get("form_id", ""),
            form_id=self.settings.get("form_id", ""),
            version_label=str(self.settings.get("version", "")),
            languages=self.languages,
            default_language=self.default_language,
            fields=self.fields,
            groups=self.groups,
            pages=self.pages,
            choice_lists=self.choice_lists,
            notes=self.notes,
            language_names=self.language_names,
            titles={
                language_of(split_column(key)[1] or ""): str(value)
                for key, value in self.settings.items()
                if split_column(key)[0] == "form_title" and split_column(key)[1] and value
            },
        )

    def check_lengths(self) -> None:
        for key, limit in SETTING_LIMITS.items():
            value = str(self.settings.get(key) or "")
            if len(value) > limit:
                self.error("settings", 2, key, f"{key} is too long ({len(value)} characters, at most {limit})")
        for language in self.languages:
            if len(language) > 16:
                self.error("survey", 1, None, f"language '{language[:40]}' needs a short code, e.g. 'English (en)'")

    # -- languages

    def read_languages(self) -> None:
        found: dict[str, str] = {}
        for sheet, rows in (("survey", self.survey_rows), ("choices", self.choice_rows)):
            # Column order decides language order (dicts keep first appearance).
            headers = list(dict.fromkeys(key for row in rows for key in row if key != "_row"))
            plain = [h for h in headers if split_column(h) in ((a, None) for a in TRANSLATABLE)]
            named = [h for h in headers if split_column(h)[0] in TRANSLATABLE and split_column(h)[1]]
            for header in named:
                name = split_column(header)[1] or ""
                found.setdefault(language_of(name), name)
            for header in plain:
                base = split_column(header)[0]
                if any(split_column(n)[0] == base for n in named):
                    self.error(
                        sheet,
                        1,
                        header,
                        f"both '{header}' and '{base}::<language>' columns are present: "
                        "name the language of every column (e.g. 'label::English (en)')",
                    )
        self.languages = list(found) or ["default"]
        self.language_names = {code: _LANG_CODE_RE.sub("", name).strip() or code for code, name in found.items()}
        wanted = str(self.settings.get("default_language") or "").strip()
        if wanted:
            code = language_of(wanted)
            if found and code not in found:
                self.error("settings", 2, "default_language", f"default language {wanted!r} has no label columns")
            self.default_language = code
        else:
            self.default_language = self.languages[0]

    def texts(self, row: dict[str, Any], attribute: str) -> dict[str, str]:
        texts: dict[str, str] = {}
        for header, value in row.items():
            base, language = split_column(header)
            if base == attribute and value not in (None, ""):
                texts[language_of(language) if language else self.default_language] = str(value)
        return texts

    # -- choices

    @property
    def duplicates_allowed(self) -> bool:
        """XLSForm's allow_choice_duplicates setting: the same name twice in a list, each shown."""
        return str(self.settings.get("allow_choice_duplicates") or "").strip().lower() in ("yes", "true", "true()")

    def read_choices(self) -> None:
        for row in self.choice_rows:
            number = row.get("_row")
            list_name = str(row.get("list_name") or "").strip()
            name = str(row.get("name") or "").strip()
            if not list_name and not name:
                continue
            if not list_name:
                self.error("choices", number, "list_name", "a choice needs a list_name")
                continue
            if not name:
                self.error("choices", number, "name", f"a choice of list '{list_name}' needs a name")
                continue
            choices = self.choice_lists.setdefault(list_name, [])
            if not self.duplicates_allowed and any(c.name == name for c in choices):
                self.error("choices", number, "name", f"duplicate choice name '{name}' in list '{list_name}'")
                continue
            labels = self.texts(row, "label")
            if not labels:
                self.error("choices", number, "label", f"choice '{name}' of list '{list_name}' has no label")
            columns = {k: str(v) for k, v in row.items() if k != "_row" and split_column(k)[0] not in TRANSLATABLE}
            self.choice_columns.setdefault(list_name, set()).update(columns)
            choices.append(Choice(name, labels, columns, number))

    # -- survey

    def read_survey(self) -> None:
        self.check_survey_columns()
        stack: list[Group] = []
        for row in self.survey_rows:
            raw_type = str(row.get("type") or "").strip()
            if not raw_type:
                if any(k not in ("_row",) and v not in (None, "") for k, v in row.items()):
                    self.error("survey", row.get("_row"), "type", "the row has no type")
                continue
            kind, argument, or_other = normalise_type(raw_type)
            self.read_row(row, kind, argument, or_other, raw_type, stack)
        for group in stack:
            self.error("survey", group.row, "type", f"group '{group.name}' is never closed with end_group")

    def check_survey_columns(self) -> None:
        seen: set[str] = set()
        for row in self.survey_rows:
            for header in row:
                if header == "_row" or header in seen:
                    continue
                seen.add(header)
                base, _ = split_column(header)
                if base in SURVEY_COLUMNS or base in TRANSLATABLE:
                    continue
                why = IGNORED_COLUMNS.get(base, "the platform does not use this column")
                self.note("survey", 1, header, f"column ignored: {why}")

    def read_row(
        self, row: dict[str, Any], kind: str, argument: str | None, or_other: bool, raw: str, stack: list[Group]
    ) -> None:
        number = row.get("_row")
        if kind in ("end_group", "end_repeat"):
            if not stack:
                self.error("survey", number, "type", f"'{raw}' without a matching begin_group")
            else:
                self.close_group(stack.pop())
            return
        if kind in ("begin_group", "begin_repeat"):
            if kind == "begin_repeat" and any(g.is_repeat for g in stack):
                self.error(
                    "survey",
                    number,
                    "type",
                    f"repeat '{row.get('name', '')}' is inside another repeat: repeats within repeats are not supported",
                )
            stack.append(self.open_group(row, stack, is_repeat=kind == "begin_repeat"))
            return
        if kind == "hidden":  # ODK's hidden question: a calculate; without a calculation it holds nothing
            if row.get("calculation") in (None, ""):
                self.note("survey", number, "type", f"hidden question '{row.get('name', '')}' has no calculation: "
                          "left out of the version")  # fmt: skip
                return
            kind = "calculate"
        if kind in OMITTED_TYPES:
            self.note(
                "survey", number, "type", f"question '{row.get('name', '')}' of type {raw} {UNSUPPORTED_TYPES[kind]}"
            )
            return
        if kind in ("select_one_from_file", "select_multiple_from_file", "select_one_external"):
            if kind == "select_one_from_file" and (argument or "").lower() in COUNTRY_FILE_NAMES:
                kind, argument = "country", None
            else:
                self.error(
                    "survey",
                    number,
                    "type",
                    f"'{raw}': choice lists from external files are not supported; "
                    "put the choices on the choices sheet (countries.csv is the only built-in file)",
                )
                return
        if kind not in SIMPLE_TYPES and kind not in LIST_TYPES and _pyxform_knows(raw):
            # a question type pyxform knows that the platform has no use for (uri: metadata, osm ...)
            self.note("survey", number, "type", f"question '{row.get('name', '')}' of type {raw} left out of the "
                      "version: the platform has no such question")  # fmt: skip
            return
        if kind not in SIMPLE_TYPES and kind not in LIST_TYPES:
            self.error("survey", number, "type", f"unknown question type '{raw}'")
            name = self.claim_name(row, "question")  # still reserved, so a later duplicate is reported too
            if name:
                self.reserved.add(name)
            return
        self.add_field(row, kind, argument, or_other, stack)

    def claim_name(self, row: dict[str, Any], what: str, stack: list[Group] | None = None) -> str | None:
        number = row.get("_row")
        name = str(row.get("name") or "").strip()
        if not name:
            self.error("survey", number, "name", f"the {what} has no name")
            return None
        if not NAME_RE.match(name):
            self.error(
                "survey",
                number,
                "name",
                f"'{name}' is not a valid name: use letters, digits, '_', '-' or '.', starting with a letter or '_'",
            )
            return None
        if name in self.fields or name in self.groups or name in self.reserved:
            scoped = self.scoped_name(name, stack or [])
            if scoped is not None:
                self.note(
                    "survey",
                    number,
                    "name",
                    f"'{name}' is also the name of a question in another group, as XLSForm allows; "
                    f"its answers are stored as '{scoped}'",
                )
                return scoped
            self.error("survey", number, "name", f"duplicate name '{name}'")
            return None
        return name

    def scoped_name(self, name: str, stack: list[Group]) -> str | None:
        """XLSForm scopes names by group: a name used again in another group is kept under the
        group's name. Unique within its own group, and never referred to (pyxform refuses a
        reference to a name that appears twice), so nothing else changes."""
        earlier = self.fields.get(name)
        if not stack or earlier is None or (earlier.groups and earlier.groups[-1] == stack[-1].name):
            return None
        scoped = f"{stack[-1].name}.{name}"
        taken = scoped in self.fields or scoped in self.groups or scoped in self.reserved
        return None if taken or not NAME_RE.match(scoped) else scoped

    def open_group(self, row: dict[str, Any], stack: list[Group], is_repeat: bool = False) -> Group:
        name = self.claim_name(row, "group") or f"__group_row_{row.get('_row')}"
        group = Group(
            name=name,
            row=row.get("_row"),
            labels=self.texts(row, "label"),
            appearance=str(row.get("appearance") or ""),
            parent=stack[-1].name if stack else None,
            hints=self.texts(row, "hint"),
        )
        group.is_matrix = "table-list" in group.appearance.split() and not is_repeat
        group.is_repeat = is_repeat
        self.groups[name] = group
        if stack:
            stack[-1].children.append(name)
        else:
            self.pages.append(Page(group=name, fields=[]))
        self.queue_expression(group, "relevant", row)
        if is_repeat:
            self.queue_expression(group, "repeat_count", row)
        elif row.get("repeat_count") not in (None, ""):
            self.error("survey", group.row, "repeat_count", "only a repeat takes a repeat_count")
        return group

    def close_group(self, group: Group) -> None:
        if not group.is_matrix:
            return
        rows = [self.fields[name] for name in group.children if name in self.fields]
        lists = {f.list_name for f in rows}
        if not rows or len(lists) != 1 or any(f.type not in ("select_one", "select_multiple") for f in rows):
            self.error(
                "survey",
                group.row,
                "appearance",
                f"matrix group '{group.name}' (table-list) must hold only select_one or select_multiple "
                "questions that share one choice list",
            )

    def add_field(
        self, row: dict[str, Any], kind: str, argument: str | None, or_other: bool, stack: list[Group]
    ) -> None:
        number = row.get("_row")
        name = self.claim_name(row, "question", stack)
        if name is None:
            return
        item = Field(
            name=name,
            type=kind,
            row=number,
            labels=self.texts(row, "label"),
            hints=self.texts(row, "hint"),
            required_message=self.texts(row, "required_message"),
            constraint_message=self.texts(row, "constraint_message"),
            appearance=str(row.get("appearance") or ""),
            groups=tuple(g.name for g in stack),
            or_other=or_other,
            repeat=next((g.name for g in reversed(stack) if g.is_repeat), None),
        )
        if kind in LIST_TYPES:
            self.attach_list(item, argument, or_other)
        if kind == "range":
            item.parameters = self.range_parameters(row)
        if not item.labels and kind != "calculate":
            self.error("survey", number, "label", f"question '{name}' has no label")
        self.read_required(item, row)
        for column in ("relevant", "constraint", "calculation", "choice_filter"):
            if column != "choice_filter" or kind in LIST_TYPES:
                self.queue_expression(item, column, row)
        if kind == "calculate" and not row.get("calculation"):
            self.error("survey", number, "calculation", f"calculate '{name}' needs a calculation")
        self.read_read_only(item, row)
        if kind not in LIST_TYPES and row.get("choice_filter") not in (None, ""):
            # as pyxform does: a choice_filter filters choices, and this question has none
            self.note(
                "survey", number, "choice_filter", "ignored: only select and rank questions have choices to filter"
            )
        self.register(item, stack)
        if row.get("default") not in (None, ""):
            item.default = self.check_default(item, str(row["default"]))
        if or_other and item.list_name:
            self.add_other_text(item, stack)

    def register(self, item: Field, stack: list[Group]) -> None:
        self.fields[item.name] = item
        if stack:
            stack[-1].children.append(item.name)
            self.page_of(stack[0].name).fields.append(item.name)
        else:
            if not self.pages or self.pages[-1].group is not None:
                self.pages.append(Page(group=None, fields=[]))
            self.pages[-1].fields.append(item.name)

    def page_of(self, group_name: str) -> Page:
        return next(p for p in self.pages if p.group == group_name)

    def attach_list(self, item: Field, argument: str | None, or_other: bool) -> None:
        if not argument:
            self.error("survey", item.row, "type", f"'{item.type}' needs a choice list name")
            return
        if argument not in self.choice_lists:
            self.error("survey", item.row, "type", f"choice list '{argument}' is not on the choices sheet")
            return
        item.list_name = argument
        if or_other:
            if item.type == "rank":
                self.error("survey", item.row, "type", "or_other cannot be used with rank")
            elif any(c.name == "other" for c in self.choice_lists[argument]):
                self.error(
                    "survey",
                    item.row,
                    "type",
                    f"list '{argument}' already has a choice named 'other'; remove it or drop or_other",
                )

    def add_other_text(self, item: Field, stack: list[Group]) -> None:
        list_name = f"{item.list_name}__or_other"
        if list_name not in self.choice_lists:
            other = Choice("other", {lang: OTHER_LABELS.get(lang, "Other") for lang in self.languages}, {})
            self.choice_lists[list_name] = [*self.choice_lists[item.list_name or ""], other]
        item.list_name = list_name
        extra_name = f"{item.name}_other"
        if extra_name in self.fields or extra_name in self.groups:
            self.error("survey", item.row, "name", f"or_other adds '{extra_name}', which is already a name")
            return
        extra = Field(
            name=extra_name,
            type="text",
            row=item.row,
            groups=item.groups,
            required=True,
            labels={lang: OTHER_SPECIFY_LABELS.get(lang, "Please specify") for lang in self.languages},
            relevant=expressions.parse(f"selected(${{{item.name}}}, 'other')"),
            repeat=item.repeat,
        )
        self.register(extra, stack)

    def range_parameters(self, row: dict[str, Any]) -> dict[str, float]:
        params = {"start": 1.0, "end": 10.0, "step": 1.0}
        raw = str(row.get("parameters") or "")
        for part in raw.replace(";", " ").replace(",", " ").split():
            key, _, value = part.partition("=")
            if key not in params:
                self.error("survey", row.get("_row"), "parameters", f"unknown range parameter '{key}'")
                continue
            try:
                params[key] = float(value)
            except ValueError:
                params[key] = math.nan
            if not math.isfinite(params[key]) or abs(params[key]) > 1e9:
                self.error(
                    "survey",
                    row.get("_row"),
                    "parameters",
                    f"range parameter {key} must be a number between -1e9 and 1e9",
                )
        if math.isfinite(params["step"]) and params["step"] < 1e-6:
            self.error("survey", row.get("_row"), "parameters", "range step must be at least 0.000001")
        if params["start"] == params["end"]:
            self.error("survey", row.get("_row"), "parameters", "range start and end must differ")
        return params

    def read_read_only(self, item: Field, row: dict[str, Any]) -> None:
        raw = str(row.get("read_only") or "").strip().lower()
        if raw in ("yes", "true", "true()", "1"):
            item.read_only = True
        elif raw not in ("", "no", "false", "false()", "0"):
            self.error(
                "survey",
                item.row,
                "read_only",
                f"read_only as a condition ({raw[:80]!r}) is not supported: write yes or no",
            )

    def read_required(self, item: Field, row: dict[str, Any]) -> None:
        raw = str(row.get("required") or "").strip()
        lowered = raw.lower()
        if lowered in ("yes", "true", "true()", "1"):
            item.required = True
        elif lowered in ("", "no", "false", "false()", "0"):
            item.required = False
        else:
            self.queue_expression(item, "required", row)

    def check_default(self, item: Field, raw: str) -> Any:
        from .answers import coerce_answer  # a cycle otherwise: answers needs Instrument

        try:
            return coerce_answer(item, raw, self.choice_lists.get(item.list_name or "", []))
        except ValueError as exc:
            self.error("survey", item.row, "default", f"default {raw!r} is not valid for '{item.name}': {exc}")
            return None

    # -- expressions

    def queue_expression(self, owner: Field | Group, column: str, row: dict[str, Any]) -> None:
        source = row.get(column)
        if source in (None, ""):
            return
        try:
            parsed = expressions.parse(str(source))
        except expressions.UnsupportedFeature as exc:
            self.error("survey", row.get("_row"), column, str(exc))
            return
        except ExpressionError as exc:
            self.error("survey", row.get("_row"), column, f"invalid expression: {exc}")
            return
        self.pending.append((owner, column, parsed, row))

    def check_expressions(self) -> None:
        known = set(self.fields) | {name for name, group in self.groups.items() if group.is_repeat}
        for owner, column, parsed, row in self.pending:
            number = row.get("_row")
            for ref in sorted(parsed.refs - known):
                hint = " (it is a group)" if ref in self.groups else ""
                self.error("survey", number, column, f"reference to unknown field ${{{ref}}}{hint}")
            self.check_repeat_references(owner, column, parsed, number)
            if parsed.choice_columns and not (isinstance(owner, Field) and owner.type not in LIST_TYPES):
                self.check_choice_columns(owner, column, parsed, number)
            if column == "required":
                owner.required_if = parsed  # type: ignore[union-attr]
            else:
                setattr(owner, column, parsed)

    def check_repeat_references(self, owner: Field | Group, column: str, parsed: Expression, number: Any) -> None:
        """A question asked in a repeat has one answer per entry: outside that repeat it is read
        through sum(), count(), min(), max(), join() or indexed-repeat(), never alone."""
        if isinstance(owner, Field):
            inside = owner.repeat
        else:
            chain = [owner.name, *self.ancestors_of(owner.name)]
            inside = next((g for g in chain if self.groups[g].is_repeat), None)
            if column == "repeat_count":
                inside = self.groups[owner.name].parent and next(
                    (g for g in self.ancestors_of(owner.name) if self.groups[g].is_repeat), None
                )
        for ref in sorted(expressions.loose_references(parsed.root)):
            item = self.fields.get(ref)
            repeat = item.repeat if item is not None else (ref if ref in self.groups else None)
            if repeat is not None and repeat != inside:
                self.error(
                    "survey",
                    number,
                    column,
                    f"${{{ref}}} is asked once per entry of repeat '{repeat}': outside the repeat, read it "
                    "through sum(), count(), min(), max(), join() or indexed-repeat() (a single value "
                    "is not supported)",
                )

    def ancestors_of(self, name: str) -> list[str]:
        found, parent = [], self.groups[name].parent
        while parent:
            found.append(parent)
            parent = self.groups[parent].parent
        return found

    def check_choice_columns(self, owner: Field | Group, column: str, parsed: Expression, number: Any) -> None:
        if column != "choice_filter" or not isinstance(owner, Field):
            names = ", ".join(sorted(parsed.choice_columns))
            self.error(
                "survey",
                number,
                column,
                f"'{names}' is not a value: write field references as ${{name}} and text in quotes",
            )
            return
        base_list = (owner.list_name or "").removesuffix("__or_other")
        available = self.choice_columns.get(base_list, set())
        for name in sorted(parsed.choice_columns - available):
            self.error(
                "survey",
                number,
                column,
                f"choice_filter uses '{name}', which is not a column of list '{base_list}' on the choices sheet",
            )


OTHER_LABELS = {"kk": "Басқа", "ru": "Другое", "en": "Other"}
OTHER_SPECIFY_LABELS = {"kk": "Нақтылаңыз", "ru": "Уточните", "en": "Please specify"}


def _pyxform_knows(raw: str) -> bool:
    from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

    return " ".join(raw.split()) in QUESTION_TYPE_DICT


def compile_instrument(content: dict[str, Any]) -> Instrument:
    """Compile content; raises InstrumentError listing every problem."""
    instrument = _Compiler(content).compile()
    _attach_countries(instrument)
    return instrument


def _attach_countries(instrument: Instrument) -> None:
    if any(f.type == "country" for f in instrument.fields.values()):
        instrument.choice_lists["__countries__"] = [
            Choice(code, dict(labels), {}) for code, labels in country_choices()
        ]
        for item in instrument.fields.values():
            if item.type == "country":
                item.list_name = "__countries__"


_CACHE: OrderedDict[str, Instrument] = OrderedDict()
_CACHE_SIZE = 64
_CACHE_LOCK = threading.Lock()


def instrument_for(content_hash: str, content: dict[str, Any]) -> Instrument:
    """The compiled instrument for content identified by its hash (LRU cached).

    Published versions never change, so their compiled form is shared by every
    request a process serves instead of being rebuilt per submission.
    """
    with _CACHE_LOCK:
        instrument = _CACHE.get(content_hash)
        if instrument is not None:
            _CACHE.move_to_end(content_hash)
            return instrument
    instrument = compile_instrument(content)
    with _CACHE_LOCK:
        _CACHE[content_hash] = instrument
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return instrument
