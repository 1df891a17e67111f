"""A workbook as pyxform reads it, written back as the platform's XLSForm-shaped content.

pyxform's conversion (``workbook_to_json``) is the reference reading of XLSForm: it
resolves header aliases and case (``list name``, ``TYPE``, ``label:English``,
``bind:relevant``, ``bind:jr:constraintMsg``), the older type spellings (``select one
from X``, ``select all that apply from X``, ``string``, ``gps``, ``photo`` ...),
straightens curly quotes in expressions, adds what ``or_other`` and ``repeat_count``
imply, and refuses what XLSForm itself refuses. The platform stands on that output: a
form pyxform refuses is refused with pyxform's reason, and a form it converts is
written back here as canonical rows (``select_one list``, ``label::<language>``,
``relevant``, ``constraint_message::<language>`` ...) that the instrument compiler
checks against the platform's own rules. Nothing of the form's logic is left behind:
every binding pyxform read becomes a column the compiler either uses or refuses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
from pyxform.xls2json import workbook_to_json

# The platform's type names, in the order an alias is matched to them (pyxform's own
# dictionary says which spellings mean the same question).
_CANONICAL_TYPES = (
    "text", "integer", "decimal", "date", "time", "dateTime", "note", "calculate", "range", "acknowledge",
    "trigger", "geopoint", "geotrace", "geoshape", "image", "audio", "video", "file", "barcode", "start", "end",
    "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "email", "audit", "xml-external",
    "csv-external", "start-geopoint", "background-audio", "background-geopoint",
)  # fmt: skip
_BY_BINDING = {("string", "input"): "text", ("int", "input"): "integer", ("decimal", "input"): "decimal"}
_SELECTS = {"select one": "select_one", "select all that apply": "select_multiple", "rank": "rank"}
# Bindings pyxform reads and the column each becomes in the platform's content.
_BIND_COLUMNS = {
    "relevant": "relevant",
    "constraint": "constraint",
    "calculate": "calculation",
    "required": "required",
    "readonly": "read_only",
}
_BIND_TEXTS = {"jr:constraintMsg": "constraint_message", "jr:requiredMsg": "required_message"}
_TEXT_KEYS = ("label", "hint", "guidance_hint")
_HANDLED = {
    "type", "name", "children", "bind", "control", "parameters", "itemset", "list_name", "choices",
    "choice_filter", "default", "trigger", "sms_field", "instance", "query", *_TEXT_KEYS,
}  # fmt: skip
_FILE_EXTENSIONS = (".csv", ".xml", ".geojson")
_TABLE_LIST_GENERATED = ("reserved_name_for_field_list_labels_", "generated_table_list_label_")


def canonical_type(kind: str) -> str:
    """A question type as the platform names it: pyxform's aliases resolved by its own dictionary."""
    if kind in _CANONICAL_TYPES or kind == "hidden":
        return "datetime" if kind == "dateTime" else kind
    entry = QUESTION_TYPE_DICT.get(kind)
    if entry is None:
        return kind
    for name in _CANONICAL_TYPES:
        if QUESTION_TYPE_DICT.get(name) == entry:
            return "datetime" if name == "dateTime" else name
    binding = (entry.get("bind", {}).get("type"), entry.get("control", {}).get("tag"))
    if binding in _BY_BINDING:  # e.g. "phone number", "percentage": a text or number with pyxform's extras
        return _BY_BINDING[binding]
    return kind  # metadata (uri:...) and osm: the compiler names the rule that applies


class PyxformRefused(Exception):
    """pyxform could not convert the workbook: ``message`` is its reason, ``sheet`` and ``row``
    where it says; ``crashed`` when it failed with a plain Python error instead of a reason."""

    def __init__(
        self,
        message: str,
        sheet: str = "survey",
        row: int | None = None,
        column: str | None = None,
        crashed: bool = False,
    ):
        super().__init__(message)
        self.message, self.sheet, self.row, self.column, self.crashed = message, sheet, row, column, crashed


_ROW_RE = re.compile(r"\[row\s*:\s*(\d+)\]\s*", re.I)
_COLUMN_RE = re.compile(r"\bthe '([A-Za-z_:]+)' (?:value|column)")
_SHEET_RE = re.compile(r"\b(?:on|in) the '?(choices|settings|survey|entities)'? sheet", re.I)


def convert(book: Any) -> dict[str, Any]:
    """pyxform's reading of a workbook (its JSON form); raises PyxformRefused with its reason."""
    try:
        return workbook_to_json(workbook_dict=book, form_name="data", fallback_form_name="data")
    except PyXFormError as exc:
        text = " ".join(str(exc).split())
        found, sheet, column = _ROW_RE.search(text), _SHEET_RE.search(text), _COLUMN_RE.search(text)
        raise PyxformRefused(
            _ROW_RE.sub("", text).strip(),
            sheet.group(1).lower() if sheet else "survey",
            int(found.group(1)) if found else None,
            column.group(1) if column else None,
        ) from exc
    except Exception as exc:  # pyxform meets some malformed cells with a plain Python error
        raise PyxformRefused(f"{type(exc).__name__}: {str(exc)[:200]}", crashed=True) from exc


class _Rows:
    """Spreadsheet row numbers of the raw sheet, handed out in the order pyxform's elements come."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.items = [(index + 2, row) for index, row in enumerate(rows) if row]
        self.position = 0

    def raw(self, number: int | None) -> dict[str, Any]:
        return next((row for n, row in self.items if n == number), {})

    def take(self, name: str | None, end: bool = False) -> int | None:
        for offset in range(self.position, len(self.items)):
            number, row = self.items[offset]
            values = {str(v).strip() for v in row.values() if v not in (None, "")}
            kinds = " ".join(str(v).lower() for v in row.values() if isinstance(v, str))
            if (end and re.search(r"\bend[ _](group|repeat)\b", kinds)) or (not end and name in values):
                self.position = offset + 1
                return number
        return None


def _texts(column: str, value: Any, out: dict[str, Any]) -> None:
    """A label, hint or message: one text or one per language (pyxform's "default" is the unnamed column)."""
    if value in (None, ""):
        return
    if isinstance(value, dict):
        for language, text in value.items():
            if isinstance(text, dict):  # media by language: not text
                continue
            if text not in (None, ""):
                out[column if language == "default" else f"{column}::{language}"] = text
    else:
        out[column] = value


def _media(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {f"media::{k}": v for k, v in value.items() if not isinstance(v, dict)} | {
        f"media::{kind}::{language}": path
        for language, kinds in value.items()
        if isinstance(kinds, dict)
        for kind, path in kinds.items()
    }


def _parameters(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return str(value or "")


def _is_generated_other(element: dict[str, Any], select: str) -> bool:
    return (
        element.get("name") == f"{select}_other"
        and element.get("type") == "text"
        and "other" in str(element.get("bind", {}).get("relevant", ""))
    )


class _Writer:
    def __init__(self, book: Any, form: dict[str, Any]):
        self.form = form
        self.rows = _Rows(list(book.survey or []))
        self.survey: list[dict[str, Any]] = []
        self.or_other_lists: set[str] = set()
        self.mapped: list[tuple[int | None, str]] = []  # how pyxform's reading differs from the cells

    def walk(self, children: list[dict[str, Any]]) -> None:
        generated_counts = {
            child["name"]: child.get("bind", {}).get("calculate")
            for child in children
            if child.get("type") == "calculate" and str(child.get("name", "")).endswith("_count")
        }
        skip: set[int] = set()
        for index, element in enumerate(children):
            if index in skip:
                continue
            kind = element.get("type")
            if str(element.get("name", "")).startswith(_TABLE_LIST_GENERATED):
                continue  # the header rows pyxform adds to a table-list group: the group itself shows them
            if kind == "group" and element.get("name") == "meta" and element.get("control", {}).get("bodyless"):
                self.meta(element)
                continue
            if kind in ("group", "repeat"):
                self.container(element, generated_counts)
                continue
            if (
                kind == "calculate"
                and element.get("name") in generated_counts
                and self.is_count_of_next(element, children[index + 1 :])
            ):
                continue
            follower = children[index + 1] if index + 1 < len(children) else None
            or_other = bool(follower and kind in _SELECTS and _is_generated_other(follower, element["name"]))
            if or_other:
                skip.add(index + 1)
            self.question(element, or_other)

    @staticmethod
    def is_count_of_next(element: dict[str, Any], rest: list[dict[str, Any]]) -> bool:
        reference = "${" + str(element["name"]) + "}"
        return (
            bool(rest) and rest[0].get("type") == "repeat" and rest[0].get("control", {}).get("jr:count") == reference
        )

    def meta(self, element: dict[str, Any]) -> None:
        # pyxform adds meta/instanceID on its own; questions an author put in meta are read as questions
        for child in element.get("children", []):
            if child.get("name") == "instanceID" and self.rows.take(child.get("name")) is None:
                continue
            self.question(child, False)

    def container(self, element: dict[str, Any], generated_counts: dict[str, Any]) -> None:
        kind = element["type"]
        children = element.get("children", [])
        row = self.base(element, f"begin_{kind}")
        if any(str(child.get("name", "")).startswith(_TABLE_LIST_GENERATED) for child in children):
            # pyxform renders a table-list as a field-list with a header row and label-less rows,
            # moving the group's label and hint onto a generated note; the form said table-list,
            # and the platform draws that as one grid under the group's own label.
            words = [w for w in str(row.get("appearance", "")).split() if w != "field-list"]
            row["appearance"] = " ".join(["table-list", *words])
            for child in children:
                if str(child.get("name", "")).startswith(_TABLE_LIST_GENERATED[1]):
                    for key in ("label", "hint"):
                        _texts(key, child.get(key), row)
            children = [self.table_row(child) for child in children]
        count = element.get("control", {}).get("jr:count")
        if count:
            match = re.fullmatch(r"\$\{([^}]+)\}", str(count))
            if match and match.group(1) in generated_counts:
                count = generated_counts[match.group(1)]
            row["repeat_count"] = count
        self.survey.append(row)
        self.walk(children)
        self.survey.append({"_row": self.rows.take(None, end=True), "type": f"end_{kind}"})

    def note_mapping(self, number: int | None, written_type: str) -> None:
        raw = self.rows.raw(number)
        cell = next((str(v) for k, v in raw.items() if str(k).strip().lower() == "type"), None)
        if cell is not None and " ".join(cell.split()) != written_type:
            self.mapped.append((number, f"type '{' '.join(cell.split())}' read as '{written_type}'"))
        for header in raw:
            text = str(header).strip()
            if text.lower().startswith("bind:") or (":" in text and "::" not in text) or text != text.lower():
                self.mapped.append((number, f"column '{text}' read as pyxform reads it"))

    @staticmethod
    def table_row(element: dict[str, Any]) -> dict[str, Any]:
        control = dict(element.get("control") or {})
        words = [w for w in str(control.get("appearance", "")).split() if w != "list-nolabel"]
        if words:
            control["appearance"] = " ".join(words)
        else:
            control.pop("appearance", None)
        return {**element, "control": control}

    def question(self, element: dict[str, Any], or_other: bool) -> None:
        kind = str(element.get("type", ""))
        if kind in _SELECTS or kind == "select one external":
            written = self.select_type(element, kind)
        else:
            written = canonical_type(kind)
        if or_other:
            written += " or_other"
            self.or_other_lists.add(str(element.get("itemset") or element.get("list_name") or ""))
        self.survey.append(self.base(element, written))

    def select_type(self, element: dict[str, Any], kind: str) -> str:
        source = str(element.get("itemset") or element.get("list_name") or "")
        if kind == "select one external":
            return f"select_one_external {source}"
        head = _SELECTS[kind]
        if source.lower().endswith(_FILE_EXTENSIONS):
            return f"{head}_from_file {source}"
        return f"{head} {source}".strip()

    def base(self, element: dict[str, Any], written_type: str) -> dict[str, Any]:
        row: dict[str, Any] = {"_row": self.rows.take(element.get("name")), "type": written_type}
        self.note_mapping(row["_row"], written_type)
        row["name"] = element.get("name", "")
        for key in _TEXT_KEYS:
            _texts(key, element.get(key), row)
        row.update(_media(element.get("media")))
        bind = dict(element.get("bind") or {})
        for key, column in _BIND_COLUMNS.items():
            if bind.get(key) not in (None, ""):
                row[column] = bind.pop(key)
        for key, column in _BIND_TEXTS.items():
            _texts(column, bind.pop(key, None), row)
        for key, value in bind.items():  # other bindings (jr:preload, odk:...) are named for the compiler
            row[f"bind::{key}"] = value
        control = dict(element.get("control") or {})
        if control.get("appearance"):
            row["appearance"] = control.pop("appearance")
        for key in ("choice_filter", "default", "trigger"):
            if element.get(key) not in (None, ""):
                row[key] = element[key]
        parameters = element.get("parameters")
        if parameters and written_type.split(" ")[0] in ("range", "select_one", "select_multiple", "rank"):
            row["parameters"] = _parameters(parameters)
        for key, value in element.items():  # anything else pyxform carried: the compiler reports it
            if key not in _HANDLED and key != "media" and value not in (None, "", {}, []):
                row[key] = value if isinstance(value, str | int | float) else str(value)
        return row


def _choices(book: Any, form: dict[str, Any], or_other_lists: set[str]) -> list[dict[str, Any]]:
    numbers: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, raw in enumerate(book.choices or []):
        values = [str(v).strip() for v in raw.values() if v not in (None, "")]
        for list_name in values:
            for name in values:
                numbers[(list_name, name)].append(index + 2)
    out: list[dict[str, Any]] = []
    for list_name, choices in (form.get("choices") or {}).items():
        for choice in choices:
            name = str(choice.get("name", ""))
            if list_name in or_other_lists and name == "other" and (list_name, name) not in numbers:
                continue  # the choice pyxform adds for or_other: the compiler adds it, in the form's languages
            found = numbers.get((list_name, name)) or [None]
            row: dict[str, Any] = {"_row": found.pop(0) if len(found) > 1 else found[0], "list_name": list_name}
            row["name"] = name
            _texts("label", choice.get("label"), row)
            row.update(_media(choice.get("media")))
            for key, value in choice.items():
                if key not in ("name", "label", "media") and value not in (None, ""):
                    row[key] = value if isinstance(value, str | int | float) else str(value)
            out.append(row)
    return out


def canonical_content(book: Any) -> dict[str, Any]:
    """The workbook as pyxform reads it, as the platform's content; raises PyxformRefused."""
    form = convert(book)
    writer = _Writer(book, form)
    writer.walk(form.get("children", []))
    return {
        "survey": writer.survey,
        "choices": _choices(book, form, writer.or_other_lists),
        "settings": _settings(book),
        "_mapped": list(dict.fromkeys(writer.mapped)),
    }


_SETTING_ALIASES = {"set_form_title": "form_title", "set_form_id": "form_id"}


def _settings(book: Any) -> dict[str, Any]:
    """The settings row, its headers spelt as pyxform reads them (any case, spaces or underscores)."""
    rows = [row for row in (book.settings or []) if row]
    out: dict[str, Any] = {}
    for header, value in (rows[0] if rows else {}).items():
        base, sep, language = str(header).partition("::")
        key = "_".join(base.strip().lower().split())
        out[_SETTING_ALIASES.get(key, key) + (f"::{language.strip()}" if sep else "")] = value
    return out
