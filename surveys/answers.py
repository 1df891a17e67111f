"""Server-side validation of answers against the exact version a respondent answered.

Checks types, choices (after choice filters), required answers, constraints
and relevance; answers to questions that are not relevant are dropped, and
calculations are recomputed here, never taken from the client. Messages are
in the respondent's language: the form's own messages where it has them, the
platform's translated defaults otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .countries import country_codes
from .expressions import Context, ExpressionError, Nodeset, is_empty, to_number, to_string
from .instrument import Choice, Field, Instrument

MAX_TEXT_LENGTH = 10_000
MAX_MAGNITUDE = 10**15
_INTEGER_RE = re.compile(r"^[+-]?\d{1,18}$")
_DECIMAL_RE = re.compile(r"^[+-]?(\d{1,18}(\.\d{0,12})?|\.\d{1,12})$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
_MAX_RELEVANCE_PASSES = 5
MAX_INSTANCES = 50  # entries of one repeat group in one response

MESSAGES = {
    "required": _("This question requires an answer."),
    "integer": _("Enter a whole number."),
    "number": _("Enter a number."),
    "too_large": _("The number is too large."),
    "range": _("Choose a value from %(start)s to %(end)s."),
    "step": _("Choose a value in steps of %(step)s."),
    "choice": _("“%(value)s” is not one of the options."),
    "choice_list": _("Choose one or more of the options."),
    "duplicate_choice": _("Each option can be chosen only once."),
    "rank": _("Put every option in order, each exactly once."),
    "text": _("Enter text."),
    "text_long": _("The text is too long (at most %(max)s characters)."),
    "text_characters": _("The text contains characters that are not allowed."),
    "date": _("Enter a date as YYYY-MM-DD."),
    "time": _("Enter a time as HH:MM."),
    "datetime": _("Enter a date and time as YYYY-MM-DDTHH:MM."),
    "country": _("Choose a country from the list."),
    "constraint": _("This answer is not valid."),
    "unknown_field": _("This is not a question of this survey version."),
    "expression": _("This answer could not be checked: %(reason)s"),
    "repeat": _("Send the entries of a repeated section as a list of objects."),
    "repeat_many": _("At most %(max)s entries can be given."),
}


class AnswerError(ValueError):
    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(str(MESSAGES[code] % params) if params else str(MESSAGES[code]))

    def message(self) -> str:
        text = MESSAGES[self.code]
        return str(text % self.params) if self.params else str(text)


@dataclass
class Outcome:
    answers: dict[str, Any]
    errors: dict[str, str]
    # questions that apply under these answers: names, and "jobs[2].employer" inside repeats
    visible: set[str] = field(default_factory=set)

    @property
    def valid(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- coercion


def coerce_answer(item: Field, raw: Any, choices: list[Choice]) -> Any:
    """The typed value of one answer; raises AnswerError (a ValueError)."""
    kind = item.type
    if kind == "integer":
        return _integer(raw)
    if kind == "decimal":
        return _decimal(raw)
    if kind == "range":
        return _range(item, raw)
    if kind == "text":
        return _text(raw)
    if kind == "date":
        return _date(_date_part(item, raw))
    if kind == "time":
        return _time(raw)
    if kind == "datetime":
        return _datetime(raw)
    if kind == "country":
        return _country(raw)
    if kind == "select_one":
        return _choice(raw, choices)
    if kind == "select_multiple":
        return _choice_list(raw, choices)
    if kind == "rank":
        return _rank(raw, choices)
    raise AnswerError("unknown_field")


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise AnswerError("integer")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and _INTEGER_RE.match(raw.strip()):
        raw = int(raw.strip())
    if not isinstance(raw, int):
        raise AnswerError("integer")
    if abs(raw) > MAX_MAGNITUDE:
        raise AnswerError("too_large")
    return raw


def _decimal(raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise AnswerError("number")
    if isinstance(raw, str) and _DECIMAL_RE.match(raw.strip()):
        raw = float(raw.strip())
    if not isinstance(raw, int | float) or (isinstance(raw, float) and not math.isfinite(raw)):
        raise AnswerError("number")
    if abs(raw) > MAX_MAGNITUDE:
        raise AnswerError("too_large")
    return int(raw) if isinstance(raw, float) and raw.is_integer() else raw


def _range(item: Field, raw: Any) -> int | float:
    value = _decimal(raw)
    start, end, step = item.parameters["start"], item.parameters["end"], item.parameters["step"]
    low, high = min(start, end), max(start, end)
    if not low <= value <= high:
        raise AnswerError("range", start=_plain(start), end=_plain(end))
    steps = (value - start) / step
    if not math.isfinite(steps) or abs(steps - round(steps)) > 1e-9:
        raise AnswerError("step", step=_plain(step))
    return value


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _text(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise AnswerError("text")
    text = str(raw)
    if len(text) > MAX_TEXT_LENGTH:
        raise AnswerError("text_long", max=MAX_TEXT_LENGTH)
    if not storable_text(text):
        raise AnswerError("text_characters")
    return text


def storable_text(text: str) -> bool:
    """No NUL bytes or lone surrogates: PostgreSQL cannot store them in text or JSON."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
_YEAR_RE = re.compile(r"^\d{4}$")


def _date_part(item: Field, raw: Any) -> Any:
    """A date asked as a month or a year (appearances month-year and year) is stored as its
    first day, as ODK does: "2024-03" is 2024-03-01, "2024" is 2024-01-01."""
    words = item.appearance.split()
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else raw
    if "month-year" in words and isinstance(text, str) and _MONTH_RE.match(text):
        return f"{text}-01"
    if "year" in words and isinstance(text, str) and _YEAR_RE.match(text):
        return f"{text}-01-01"
    return raw


def _date(raw: Any) -> dt.date:
    if isinstance(raw, str) and raw.strip().endswith(" 00:00:00"):
        raw = raw.strip()[:10]  # a spreadsheet date cell, as an XLSForm default
    if not isinstance(raw, str) or len(raw.strip()) != 10:
        raise AnswerError("date")
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise AnswerError("date") from None


def _time(raw: Any) -> str:
    if not isinstance(raw, str) or not _TIME_RE.match(raw.strip()):
        raise AnswerError("time")
    return raw.strip()


def _datetime(raw: Any) -> str:
    if not isinstance(raw, str) or not 16 <= len(raw.strip()) <= 40:
        raise AnswerError("datetime")
    try:
        return dt.datetime.fromisoformat(raw.strip()).isoformat()
    except ValueError:
        raise AnswerError("datetime") from None


def _country(raw: Any) -> str:
    if not isinstance(raw, str) or raw.strip().upper() not in country_codes():
        raise AnswerError("country")
    return raw.strip().upper()


def _choice_name(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise AnswerError("choice_list")
    return str(raw).strip()


def _choice(raw: Any, choices: list[Choice]) -> str:
    value = _choice_name(raw)
    if value not in {c.name for c in choices}:
        raise AnswerError("choice", value=value[:80])
    return value


def _choice_list(raw: Any, choices: list[Choice]) -> list[str]:
    items = raw.split() if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise AnswerError("choice_list")
    values = [_choice_name(v) for v in items]
    if len(set(values)) != len(values):
        raise AnswerError("duplicate_choice")
    names = {c.name for c in choices}
    for value in values:
        if value not in names:
            raise AnswerError("choice", value=value[:80])
    return values


def _rank(raw: Any, choices: list[Choice]) -> list[str]:
    values = _choice_list(raw, choices)
    if sorted(values) != sorted(c.name for c in choices):
        raise AnswerError("rank")
    return values


# --------------------------------------------------------------------------- validation


_INTERFACE_LANGUAGES = ("kk", "ru", "en")


def validate_answers(
    instrument: Instrument,
    raw: dict[str, Any],
    *,
    complete: bool,
    language: str | None,
    today: dt.date,
) -> Outcome:
    """Clean `raw` answers against `instrument`; errors are keyed by field name."""
    # The platform's messages in the form's language where the interface has it, English otherwise.
    wanted = language or instrument.default_language
    interface = wanted if wanted in _INTERFACE_LANGUAGES else "en"
    with translation.override(interface):
        return _Validation(instrument, raw, complete, language, today).run()


class _Validation:
    """One response's answers checked against the version.

    Questions inside a repeat group are answered once per instance: the answers arrive as a
    list of objects under the repeat's name, each instance is checked with its own values in
    scope (``${name}`` inside the instance is that instance's answer, ``position(..)`` its
    number from 1), and errors are keyed ``jobs[2].employer``. Seen from outside, a repeated
    question is a node-set (``sum(${salary})``) and the repeat's name its instances.
    """

    def __init__(
        self, instrument: Instrument, raw: dict[str, Any], complete: bool, language: str | None, today: dt.date
    ):
        self.instrument = instrument
        self.raw = raw
        self.complete = complete
        self.language = language
        self.today = today
        self.errors: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.relevant: dict[str, bool] = {}
        self.instances: dict[str, list[dict[str, Any]]] = {}  # coerced answers per repeat instance
        self.settled: dict[str, list[dict[str, Any]]] = {}  # after relevance and calculations
        self.instance_relevant: dict[str, list[dict[str, bool]]] = {}
        self.scope: Any = self.values  # the values expressions see (an instance's, inside a repeat)
        self.prefix = ""  # "jobs[2]." while an instance is checked
        self.position: int | None = None

    def run(self) -> Outcome:
        self.coerce_all()
        self.settle_relevance()
        if self.instrument.repeats:
            self.settle_repeats()
            self.settle_relevance()  # once more: sums and counts over the repeats are now known
        for name, relevant in self.relevant.items():
            if name in self.instrument.repeats:
                continue
            if not relevant:
                self.errors.pop(name, None)
                continue
            item = self.instrument.fields[name]
            if item.takes_answer and name not in self.errors:
                self.check(item)
        return Outcome(self.cleaned(), self.errors, self.visible())

    def visible(self) -> set[str]:
        shown = {name for name, relevant in self.relevant.items() if relevant}
        for name, instances in self.instance_relevant.items():
            for index, relevant in enumerate(instances, start=1):
                shown.update(f"{name}[{index}].{field}" for field, ok in relevant.items() if ok)
        return shown

    def context(self, current: Any = None, choice: dict[str, Any] | None = None) -> Context:
        return Context(
            values=self.scope,
            current=current,
            today=self.today,
            choice=choice,
            choice_label=self.choice_label,
            position=self.position,
        )

    def choice_label(self, field_name: str, value: str) -> str:
        """jr:choice-name(): a choice's label in the respondent's language ('' when not a choice)."""
        item = self.instrument.fields.get(field_name)
        if item is None:
            return ""
        for choice in self.instrument.choices_for(item):
            if choice.name == value:
                return self.instrument.text(choice.labels, self.language)
        return ""

    def coerce_all(self) -> None:
        fields = self.instrument.fields
        repeats = self.instrument.repeats
        for name, value in self.raw.items():
            if name in repeats:
                self.coerce_repeat(name, value)
                continue
            item = fields.get(name)
            if item is None or item.repeat is not None:
                self.errors[str(name)[:100]] = str(MESSAGES["unknown_field"])
            elif item.takes_answer and not item.set_by_form and value not in (None, "", []):
                try:
                    self.values[name] = coerce_answer(item, value, self.instrument.choices_for(item))
                except AnswerError as exc:
                    self.errors[name] = exc.message()

    def coerce_repeat(self, name: str, value: Any) -> None:
        if value in (None, "", []):
            return
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            self.errors[name] = str(MESSAGES["repeat"])
            return
        if len(value) > MAX_INSTANCES:
            self.errors[name] = str(MESSAGES["repeat_many"] % {"max": MAX_INSTANCES})
            return
        inside = {f.name: f for f in self.instrument.repeat_fields(name)}
        coerced: list[dict[str, Any]] = []
        for index, entry in enumerate(value, start=1):
            answers: dict[str, Any] = {}
            for key, answer in entry.items():
                item = inside.get(key)
                where = f"{name}[{index}].{str(key)[:100]}"
                if item is None:
                    self.errors[where] = str(MESSAGES["unknown_field"])
                elif item.takes_answer and not item.set_by_form and answer not in (None, "", []):
                    try:
                        answers[key] = coerce_answer(item, answer, self.instrument.choices_for(item))
                    except AnswerError as exc:
                        self.errors[where] = exc.message()
            coerced.append(answers)
        self.instances[name] = coerced

    def expose_repeats(self) -> None:
        """Each repeated question as a node-set, and each repeat as its instances, for the form's
        expressions outside the repeat."""
        for name in self.instrument.repeats:
            instances = self.settled.get(name, self.instances.get(name, []))
            self.values[name] = Nodeset(instances)
            for item in self.instrument.repeat_fields(name):
                self.values[item.name] = Nodeset(instance.get(item.name) for instance in instances)

    def settle_relevance(self) -> None:
        """Relevance and calculations in document order, repeated until stable.

        One pass suffices for forms that only look backwards; a question whose
        relevance reads a later answer settles in a further pass.
        """
        self.expose_repeats()
        answered = dict(self.values)
        top = self.instrument.top_fields()
        for _pass in range(_MAX_RELEVANCE_PASSES if self.instrument.looks_ahead else 1):
            previous = dict(self.relevant)
            for item in top:
                relevant = self.is_relevant(item)
                self.relevant[item.name] = relevant
                if not relevant:
                    self.values[item.name] = None
                elif item.calculation is not None:
                    self.values[item.name] = self.evaluate(item, item.calculation)
                elif item.read_only:
                    self.values[item.name] = item.default
                else:
                    self.values[item.name] = answered.get(item.name)
            if self.relevant == previous:
                break

    def settle_repeats(self) -> None:
        for name, group in self.instrument.repeats.items():
            chain = [self.instrument.groups[g].relevant for g in self.ancestors(name)] + [group.relevant]
            relevant = self.all_hold([expr for expr in chain if expr is not None], name)
            self.relevant[name] = relevant
            instances = self.instances.get(name, []) if relevant else []
            if relevant and group.repeat_count is not None:
                wanted = self.count_of(group, name)
                if wanted is not None:
                    instances = instances[:wanted] + [{} for _ in range(wanted - len(instances))]
            self.settled[name] = []
            self.instance_relevant[name] = []
            # what was said about entries that no longer count (the repeat does not apply, or
            # repeat_count cut them off) is not the respondent's to fix
            for key in [k for k in self.errors if k == name or k.startswith(f"{name}[")]:
                index = key[len(name) + 1 :].split("]", 1)[0]
                if not relevant or (index.isdecimal() and int(index) > len(instances)):
                    del self.errors[key]
            for index, answers in enumerate(instances, start=1):
                self.settle_instance(name, index, answers)
            self.scope, self.prefix, self.position = self.values, "", None

    def ancestors(self, name: str) -> list[str]:
        found, parent = [], self.instrument.groups[name].parent
        while parent:
            found.insert(0, parent)
            parent = self.instrument.groups[parent].parent
        return found

    def count_of(self, group: Any, name: str) -> int | None:
        try:
            number = to_number(group.repeat_count.evaluate(self.context()))
        except ExpressionError as exc:
            self.errors[name] = str(MESSAGES["expression"] % {"reason": exc})
            return None
        return int(max(0, min(MAX_INSTANCES, number))) if math.isfinite(number) else 0

    def all_hold(self, chain: list[Any], key: str) -> bool:
        for expression in chain:
            try:
                if not expression.test(self.context()):
                    return False
            except ExpressionError as exc:
                self.errors[key] = str(MESSAGES["expression"] % {"reason": exc})
                return True
        return True

    def settle_instance(self, name: str, index: int, answers: dict[str, Any]) -> None:
        values: dict[str, Any] = {}
        self.scope = ChainMap(values, self.values)
        self.prefix, self.position = f"{name}[{index}].", index
        inside = self.instrument.repeat_fields(name)
        relevant: dict[str, bool] = {}
        for _pass in range(_MAX_RELEVANCE_PASSES if self.instrument.looks_ahead else 1):
            previous = dict(relevant)
            for item in inside:
                relevant[item.name] = self.is_relevant(item)
                if not relevant[item.name]:
                    values[item.name] = None
                elif item.calculation is not None:
                    values[item.name] = self.evaluate(item, item.calculation)
                elif item.read_only:
                    values[item.name] = item.default
                else:
                    values[item.name] = answers.get(item.name)
            if relevant == previous:
                break
        for item in inside:
            key = self.prefix + item.name
            if not relevant[item.name]:
                self.errors.pop(key, None)
            elif item.takes_answer and key not in self.errors:
                self.check(item)
        self.settled[name].append(values)
        self.instance_relevant[name].append(relevant)

    def is_relevant(self, item: Field) -> bool:
        for expression in self.instrument.relevance_chain(item):
            try:
                if not expression.test(self.context()):
                    return False
            except ExpressionError as exc:
                self.errors[self.prefix + item.name] = str(MESSAGES["expression"] % {"reason": exc})
                return True
        return True

    def evaluate(self, item: Field, expression: Any) -> Any:
        try:
            return expression.evaluate(self.context())
        except ExpressionError as exc:
            self.errors[self.prefix + item.name] = str(MESSAGES["expression"] % {"reason": exc})
            return None

    def check(self, item: Field) -> None:
        key = self.prefix + item.name
        value = self.scope.get(item.name)
        try:
            if is_empty(value):
                if self.complete and not item.set_by_form and self.is_required(item):
                    self.errors[key] = self.instrument.text(item.required_message, self.language) or str(
                        MESSAGES["required"]
                    )
                return
            self.check_filter(item, value)
            if item.constraint is not None and {self.prefix + r for r in item.constraint.refs} & self.errors.keys():
                return  # it reads an answer already reported as invalid: one message is enough
            if item.constraint is not None and not item.constraint.test(self.context(current=value)):
                self.errors[key] = self.instrument.text(item.constraint_message, self.language) or str(
                    MESSAGES["constraint"]
                )
        except AnswerError as exc:
            self.errors[key] = exc.message()
        except ExpressionError as exc:
            self.errors[key] = str(MESSAGES["expression"] % {"reason": exc})

    def is_required(self, item: Field) -> bool:
        if item.required_if is not None:
            return item.required_if.test(self.context())
        return item.required

    def check_filter(self, item: Field, value: Any) -> None:
        if item.choice_filter is None:
            return
        allowed = {
            choice.name
            for choice in self.instrument.choices_for(item)
            if item.choice_filter.test(self.context(choice={**choice.columns, "name": choice.name}))
        }
        for chosen in value if isinstance(value, list) else [value]:
            if chosen not in allowed:
                raise AnswerError("choice", value=str(chosen)[:80])

    def cleaned(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = {}
        for item in self.instrument.top_fields():
            if not self.relevant.get(item.name) or item.name in self.errors:
                continue
            value = self.values.get(item.name)
            if item.type == "note" or is_empty(value):
                continue
            cleaned[item.name] = json_value(value)
        for name in self.instrument.repeats:
            if not self.relevant.get(name) or not self.settled.get(name):
                continue
            rows = []
            for index, values in enumerate(self.settled[name], start=1):
                row = {}
                for item in self.instrument.repeat_fields(name):
                    value = values.get(item.name)
                    if item.type == "note" or is_empty(value) or f"{name}[{index}].{item.name}" in self.errors:
                        continue
                    row[item.name] = json_value(value)
                rows.append(row)
            cleaned[name] = rows
        return cleaned


def json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return to_string(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    return value
