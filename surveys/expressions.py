"""XLSForm expressions: parsed once into an AST, evaluated by our own interpreter.

The language is the XPath 1.0 subset that XLSForm authors write in the
`relevant`, `constraint`, `calculation` and `choice_filter` columns:
`${field}` references, `.` (the value being checked), comparisons,
`and`/`or`, arithmetic (`+ - * div mod`), string and number literals, and a
fixed table of functions. Nothing here calls `eval`; every input is bounded
(length, tokens, nesting, number size, regex run time), so a hostile
expression gets an `ExpressionError` and never a crash or a hang.

Values follow XPath: an unanswered question is the empty string, a
select_multiple answer is a space-separated list, comparisons with a number
compare numerically, and a division by zero gives NaN (no value), which
compares false with everything, rather than an error.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import regex

MAX_LENGTH = 4000
MAX_TOKENS = 1000
MAX_DEPTH = 48
MAX_TREE_DEPTH = 128
MAX_NUMBER_LITERAL = 32
MAX_MAGNITUDE = 1e300
MAX_PATTERN_LENGTH = 500
MAX_STRING_LENGTH = 100_000
REGEX_TIMEOUT_SECONDS = 0.2


class ExpressionError(ValueError):
    """The expression cannot be parsed or evaluated; the message says why."""


# --------------------------------------------------------------------------- lexer

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{(?P<refname>[^}]*)\})
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.:-]*)
  | (?P<parent>\.\.)
  | (?P<dot>\.)
    """,
    re.VERBOSE,
)
_FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_KEYWORD_OPS = {"and", "or", "div", "mod"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # ref, number, string, op, name, dot, end
    value: str
    pos: int


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is too long ({len(text)} characters, at most {MAX_LENGTH})")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise ExpressionError(f"unexpected character {text[pos]!r} at position {pos + 1}")
        kind = match.lastgroup
        if kind == "refname":  # pragma: no cover - inner group never last
            kind = "ref"
        if kind != "ws":
            tokens.append(_make_token(match, kind, pos))
            if len(tokens) > MAX_TOKENS:
                raise ExpressionError(f"expression has too many parts (at most {MAX_TOKENS})")
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _make_token(match: re.Match[str], kind: str, pos: int) -> Token:
    if kind == "ref":
        name = match.group("refname").strip()
        if not _FIELD_NAME_RE.match(name):
            raise ExpressionError(f"invalid field reference ${{{name}}} at position {pos + 1}")
        return Token("ref", name, pos)
    if kind == "string":
        return Token("string", match.group(0)[1:-1], pos)
    if kind == "number" and len(match.group(0)) > MAX_NUMBER_LITERAL:
        raise ExpressionError(f"number at position {pos + 1} is too long (at most {MAX_NUMBER_LITERAL} digits)")
    if kind == "name" and match.group(0) in _KEYWORD_OPS:
        return Token("op", match.group(0), pos)
    return Token(kind, match.group(0), pos)


# --------------------------------------------------------------------------- AST


@dataclass(slots=True)
class Context:
    """What an expression can see while it is evaluated."""

    values: Mapping[str, Any]
    current: Any = None
    today: dt.date = field(default_factory=dt.date.today)
    choice: Mapping[str, Any] | None = None
    # jr:choice-name(): the label of a choice of a question, in the respondent's language
    choice_label: Callable[[str, str], str] | None = None
    position: int | None = None  # position(..): the repeat instance being evaluated, from 1


class Nodeset(list):
    """The values of a question inside a repeat group, one per instance, seen from outside the
    instance (what XPath calls a node-set): sum(), count(), min(), max(), join() and
    indexed-repeat() read it; a repeat group's own name gives its instances."""


class Node:
    __slots__ = ()

    def evaluate(self, ctx: Context) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(slots=True)
class Literal(Node):
    value: Any

    def evaluate(self, ctx: Context) -> Any:
        return self.value


@dataclass(slots=True)
class FieldRef(Node):
    name: str

    def evaluate(self, ctx: Context) -> Any:
        return ctx.values.get(self.name)


@dataclass(slots=True)
class Current(Node):
    def evaluate(self, ctx: Context) -> Any:
        return ctx.current


@dataclass(slots=True)
class ChoiceColumn(Node):
    """A bare name in a choice_filter: a column of the choice being filtered."""

    name: str

    def evaluate(self, ctx: Context) -> Any:
        if ctx.choice is None:
            raise ExpressionError(f"'{self.name}' can only be used in a choice_filter")
        return ctx.choice.get(self.name)


@dataclass(slots=True)
class Negate(Node):
    operand: Node

    def evaluate(self, ctx: Context) -> Any:
        return _checked(-to_number(self.operand.evaluate(ctx)))


@dataclass(slots=True)
class BinaryOp(Node):
    op: str
    left: Node
    right: Node

    def evaluate(self, ctx: Context) -> Any:
        if self.op == "or":
            return to_bool(self.left.evaluate(ctx)) or to_bool(self.right.evaluate(ctx))
        if self.op == "and":
            return to_bool(self.left.evaluate(ctx)) and to_bool(self.right.evaluate(ctx))
        left, right = self.left.evaluate(ctx), self.right.evaluate(ctx)
        if self.op in ("=", "!="):
            equal = values_equal(left, right)
            return equal if self.op == "=" else not equal
        if self.op in ("<", "<=", ">", ">="):
            return _relational(self.op, left, right)
        return _arithmetic(self.op, to_number(left), to_number(right))


@dataclass(slots=True)
class Call(Node):
    name: str
    args: list[Node]

    def evaluate(self, ctx: Context) -> Any:
        return FUNCTIONS[self.name].impl(ctx, self.args)


@dataclass(slots=True)
class Expression:
    """A parsed expression: its source, its AST and the fields it reads."""

    source: str
    root: Node
    refs: frozenset[str]
    uses_current: bool
    choice_columns: frozenset[str]

    def evaluate(self, ctx: Context) -> Any:
        try:
            return self.root.evaluate(ctx)
        except RecursionError:  # pragma: no cover - depth is bounded at parse time
            raise ExpressionError("expression is nested too deeply") from None
        except (ArithmeticError, ValueError, TypeError) as exc:
            # A backstop: whatever the arithmetic of an odd answer raises, the caller
            # gets the one error type it handles, never a crash.
            if isinstance(exc, ExpressionError):
                raise
            raise ExpressionError(f"cannot compute this ({type(exc).__name__})") from None

    def test(self, ctx: Context) -> bool:
        return to_bool(self.evaluate(ctx))


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0
        self.refs: set[str] = set()
        self.uses_current = False
        self.choice_columns: set[str] = set()

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        if self.token.kind != "op" or self.token.value != value:
            raise ExpressionError(f"expected '{value}' at position {self.token.pos + 1}, found {self._describe()}")
        self.advance()

    def _describe(self) -> str:
        return "the end of the expression" if self.token.kind == "end" else f"'{self.token.value}'"

    def parse(self) -> Expression:
        if self.token.kind == "end":
            raise ExpressionError("expression is empty")
        root = self.binary(0)
        if self.token.kind != "end":
            raise ExpressionError(f"unexpected {self._describe()} at position {self.token.pos + 1}")
        if _tree_depth(root) > MAX_TREE_DEPTH:
            raise ExpressionError(f"expression is nested too deeply (at most {MAX_TREE_DEPTH} levels)")
        return Expression(self.source, root, frozenset(self.refs), self.uses_current, frozenset(self.choice_columns))

    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("or",),
        ("and",),
        ("=", "!="),
        ("<", "<=", ">", ">="),
        ("+", "-"),
        ("*", "div", "mod"),
    )

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.token.kind == "op" and self.token.value in self._LEVELS[level]:
            op = self.advance().value
            node = BinaryOp(op, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        if self.token.kind == "op" and self.token.value == "-":
            self.advance()
            with self._nested():
                return Negate(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.advance()
            return Literal(_parse_number(token.value))
        if token.kind == "string":
            self.advance()
            return Literal(token.value)
        if token.kind == "ref":
            self.advance()
            self.refs.add(token.value)
            return FieldRef(token.value)
        if token.kind == "dot":
            self.advance()
            self.uses_current = True
            return Current()
        if token.kind == "op" and token.value == "(":
            self.advance()
            with self._nested():
                node = self.binary(0)
            self.expect(")")
            return node
        if token.kind == "name":
            self.advance()
            if self.token.kind == "op" and self.token.value == "(":
                return self.call(token)
            self.choice_columns.add(token.value)
            return ChoiceColumn(token.value)
        raise ExpressionError(f"expected a value at position {token.pos + 1}, found {self._describe()}")

    def call(self, name_token: Token) -> Node:
        name = name_token.value
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise UnsupportedFeature(
                f"{name[:60]}(): not supported; it is not one of the XLSForm functions the platform evaluates"
            )
        self.expect("(")
        if name == "position":  # position(..): the only use of '..', the current repeat instance
            if self.token.kind != "parent":
                raise ExpressionError("position() takes '..' (the repeat instance), as in position(..)")
            self.advance()
            self.expect(")")
            return Call(name, [])
        args: list[Node] = []
        with self._nested():
            if not (self.token.kind == "op" and self.token.value == ")"):
                args.append(self.binary(0))
                while self.token.kind == "op" and self.token.value == ",":
                    self.advance()
                    args.append(self.binary(0))
        self.expect(")")
        if not spec.min_args <= len(args) <= spec.max_args:
            raise ExpressionError(f"{name}() takes {spec.arity_text()}, not {len(args)}")
        if spec.check is not None:
            spec.check(args)
        if name == "jr:choice-name":  # the question named in quotes is a reference like any other
            self.refs.add(_CHOICE_REF_RE.fullmatch(to_string(args[1].value)).group(1))  # type: ignore[attr-defined,union-attr]
        return Call(name, args)

    def _nested(self) -> _Depth:
        return _Depth(self)


class _Depth:
    def __init__(self, parser: _Parser):
        self.parser = parser

    def __enter__(self) -> None:
        self.parser.depth += 1
        if self.parser.depth > MAX_DEPTH:
            raise ExpressionError(f"expression is nested too deeply (at most {MAX_DEPTH} levels)")

    def __exit__(self, *exc: object) -> None:
        self.parser.depth -= 1


class UnsupportedFeature(ExpressionError):
    """The expression uses an XLSForm feature the platform does not support; the message names it."""


# XLSForm features that need what a server-side form does not have, named in the author's terms.
UNSUPPORTED_FEATURES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"\bpulldata\s*\("), "pulldata()", "it reads a CSV file attached to the form on the phone, and "
     "the platform has no attached files: put the values in the form or prefill them from the panel"),
    (re.compile(r"\binstance\s*\("), "instance('...') lookups", "choice lists, external data and entities are "
     "read only through the question types"),
    (re.compile(r"\$\{last-saved#"), "${last-saved#...}", "there is no form saved earlier on a device: prefill "
     "from the panel instead"),
    (re.compile(r"\b(?:random|randomize|uuid)\s*\("), "random(), randomize() and uuid()", "the server recomputes "
     "calculations from the answers, so their value would change on every save"),
    (re.compile(r"\b(?:area|distance|geofence)\s*\("), "area(), distance() and geofence()", "they need location "
     "questions, which are left out"),
    (re.compile(r"\b(?:digest|base64-decode|encrypt-string|jr:itext|property)\s*\("),
     "digest(), base64-decode(), encrypt-string(), jr:itext() and property()", "they have no meaning on the server"),
)  # fmt: skip


# Functions that read a repeat's node-set (the argument positions that may name one).
NODESET_ARGUMENTS = {
    "sum": {0}, "count": {0}, "count-non-empty": {0}, "min": None, "max": None, "join": None,
    "indexed-repeat": {0, 1},
}  # fmt: skip


def loose_references(root: Node) -> set[str]:
    """The ${name}s not read through a node-set function (sum(), count(), indexed-repeat() ...):
    outside a repeat, a repeated question may only be read through one of those."""
    found: set[str] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, aggregated = stack.pop()
        if isinstance(node, FieldRef):
            if not aggregated:
                found.add(node.name)
        elif isinstance(node, Call):
            positions = NODESET_ARGUMENTS.get(node.name, set())
            for index, arg in enumerate(node.args):
                stack.append((arg, positions is None or index in positions))
        elif isinstance(node, BinaryOp):
            stack += [(node.left, False), (node.right, False)]
        elif isinstance(node, Negate):
            stack.append((node.operand, False))
    return found


def parse(source: str) -> Expression:
    """Parse an expression; raises ExpressionError with a readable reason."""
    if not isinstance(source, str):
        raise ExpressionError("expression must be text")
    for pattern, feature, why in UNSUPPORTED_FEATURES:
        if pattern.search(source):
            raise UnsupportedFeature(
                f"{feature}: not supported, as {why}"
                if why[:4] in ("it r", "the ", "they")
                else f"{feature}: not supported; {why}"
            )
    try:
        return _Parser(source).parse()
    except RecursionError:
        raise ExpressionError("expression is nested too deeply") from None


def _tree_depth(root: Node) -> int:
    # Iterative, so that measuring a pathological tree cannot itself recurse too deep.
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, BinaryOp):
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, Negate):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, Call):
            stack += [(arg, depth + 1) for arg in node.args]
    return deepest


def _parse_number(text: str) -> int | float:
    if "." in text:
        return _checked(float(text))
    return _checked(int(text))


# --------------------------------------------------------------------------- values


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, float) and math.isnan(value))


def to_number(value: Any) -> int | float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, dt.date):
        return (value - dt.date(1970, 1, 1)).days
    if isinstance(value, list):
        return to_number(value[0]) if len(value) == 1 else math.nan
    text = str(value).strip()
    if not text or len(text) > MAX_NUMBER_LITERAL:
        return math.nan
    try:
        number = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return math.nan
    return number if math.isfinite(number) and abs(number) <= MAX_MAGNITUDE else math.nan


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return " ".join(to_string(v) for v in value)
    return str(value)


def to_bool(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, dt.date):
        return True
    return value != ""


def to_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def values_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return to_bool(left) == to_bool(right)
    if _is_number(left) or _is_number(right):
        return to_number(left) == to_number(right)
    if isinstance(left, dt.date) or isinstance(right, dt.date):
        return to_date(left) == to_date(right)
    return to_string(left) == to_string(right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _relational(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, dt.date) or isinstance(right, dt.date):
        ldate, rdate = to_date(left), to_date(right)
        if ldate is not None and rdate is not None:
            return _compare(op, ldate, rdate)
    lnum, rnum = to_number(left), to_number(right)
    if math.isnan(lnum) or math.isnan(rnum):
        return False
    return _compare(op, lnum, rnum)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def _arithmetic(op: str, left: int | float, right: int | float) -> int | float:
    if op == "+":
        return _checked(left + right)
    if op == "-":
        return _checked(left - right)
    if op == "*":
        return _checked(left * right)
    if op == "div":
        if right == 0 or math.isnan(left) or math.isnan(right):
            return math.nan
        result = left / right
        return _checked(
            int(result) if isinstance(result, float) and result.is_integer() and abs(result) < 2**53 else result
        )
    # mod: XPath keeps the sign of the dividend.
    if right == 0 or math.isnan(left) or math.isnan(right) or math.isinf(left):
        return math.nan
    return _checked(
        math.fmod(left, right) if isinstance(left, float) or isinstance(right, float) else _int_mod(left, right)
    )


def _int_mod(left: int, right: int) -> int:
    result = abs(left) % abs(right)
    return -result if left < 0 else result


def _checked(number: int | float) -> int | float:
    """Keep numbers in a range every later operation can handle quickly."""
    if isinstance(number, int) and not isinstance(number, bool):
        if abs(number) <= 2**63:
            return number
        try:
            number = float(number)
        except OverflowError:
            raise ExpressionError("number is too large") from None
    if math.isnan(number):
        return number
    if math.isinf(number) or abs(number) > MAX_MAGNITUDE:
        raise ExpressionError("number is too large")
    return number


# --------------------------------------------------------------------------- functions


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    impl: Callable[[Context, list[Node]], Any]
    min_args: int
    max_args: int
    check: Callable[[list[Node]], None] | None = None

    def arity_text(self) -> str:
        if self.min_args == self.max_args:
            return f"{self.min_args} argument{'s' if self.min_args != 1 else ''}"
        if self.max_args > 99:
            return f"at least {self.min_args} arguments"
        return f"{self.min_args} to {self.max_args} arguments"


def _arg_values(ctx: Context, args: list[Node]) -> list[Any]:
    return [arg.evaluate(ctx) for arg in args]


def _items(value: Any) -> list[str]:
    if isinstance(value, list):
        return [to_string(v) for v in value]
    return to_string(value).split()


def _fn_selected(ctx: Context, args: list[Node]) -> bool:
    container, wanted = _arg_values(ctx, args)
    return to_string(wanted).strip() in _items(container)


def _fn_count_selected(ctx: Context, args: list[Node]) -> int:
    return len(_items(args[0].evaluate(ctx)))


def _fn_selected_at(ctx: Context, args: list[Node]) -> str:
    container, index = _arg_values(ctx, args)
    items, position = _items(container), to_number(index)
    if math.isnan(position) or not 0 <= position < len(items):
        return ""
    return items[int(position)]


def _fn_string_length(ctx: Context, args: list[Node]) -> int:
    value = args[0].evaluate(ctx) if args else ctx.current
    return len(to_string(value))


def _fn_if(ctx: Context, args: list[Node]) -> Any:
    condition, then, otherwise = args
    return then.evaluate(ctx) if to_bool(condition.evaluate(ctx)) else otherwise.evaluate(ctx)


def _fn_coalesce(ctx: Context, args: list[Node]) -> Any:
    first = args[0].evaluate(ctx)
    return args[1].evaluate(ctx) if is_empty(first) else first


def _check_regex(args: list[Node]) -> None:
    pattern = args[1]
    if isinstance(pattern, Literal):
        _compile_pattern(to_string(pattern.value))


def _compile_pattern(pattern: str) -> regex.Pattern[str]:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ExpressionError(f"regular expression is too long (at most {MAX_PATTERN_LENGTH} characters)")
    try:
        return _cached_pattern(pattern)
    except regex.error as exc:
        raise ExpressionError(f"invalid regular expression {pattern!r}: {exc}") from None


_PATTERNS: dict[str, regex.Pattern[str]] = {}


def _cached_pattern(pattern: str) -> regex.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        if len(_PATTERNS) > 1000:
            _PATTERNS.clear()
        compiled = _PATTERNS[pattern] = regex.compile(pattern)
    return compiled


def _fn_regex(ctx: Context, args: list[Node]) -> bool:
    value, pattern = (to_string(v) for v in _arg_values(ctx, args))
    if len(value) > MAX_STRING_LENGTH:
        raise ExpressionError("text is too long to match against a regular expression")
    compiled = _compile_pattern(pattern)
    try:
        return compiled.search(value, timeout=REGEX_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        raise ExpressionError(f"regular expression {pattern!r} took too long to match") from None


def _fn_today(ctx: Context, args: list[Node]) -> dt.date:
    return ctx.today


def _fn_not(ctx: Context, args: list[Node]) -> bool:
    return not to_bool(args[0].evaluate(ctx))


def _fn_number(ctx: Context, args: list[Node]) -> int | float:
    return to_number(args[0].evaluate(ctx))


def _fn_int(ctx: Context, args: list[Node]) -> int | float:
    number = to_number(args[0].evaluate(ctx))
    return number if not math.isfinite(number) else _checked(int(number))


def _fn_round(ctx: Context, args: list[Node]) -> int | float:
    values = _arg_values(ctx, args)
    number = to_number(values[0])
    wanted = to_number(values[1]) if len(values) > 1 else 0
    places = int(max(-15, min(15, wanted))) if math.isfinite(wanted) else 0
    if not math.isfinite(number):
        return number
    scale = 10**places
    rounded = math.floor(_checked(number * scale) + 0.5) / scale
    return _checked(int(rounded)) if places <= 0 else _checked(rounded)


def _fn_abs(ctx: Context, args: list[Node]) -> int | float:
    return abs(to_number(args[0].evaluate(ctx)))


def _fn_pow(ctx: Context, args: list[Node]) -> int | float:
    base, exponent = (to_number(v) for v in _arg_values(ctx, args))
    if math.isnan(base) or math.isnan(exponent):
        return math.nan
    if abs(exponent) > 1000:
        raise ExpressionError("exponent is too large (at most 1000)")
    try:
        return _checked(math.pow(base, exponent))
    except (OverflowError, ValueError):
        raise ExpressionError("number is too large") from None


def _flat(values: list[Any]) -> list[Any]:
    """Arguments with each repeat's node-set spread out (its empty answers left out)."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, Nodeset):
            out.extend(v for v in value if not is_empty(v))
        else:
            out.append(value)
    return out


def _fn_min(ctx: Context, args: list[Node]) -> int | float:
    numbers = [to_number(v) for v in _flat(_arg_values(ctx, args))]
    return math.nan if not numbers or any(math.isnan(n) for n in numbers) else min(numbers)


def _fn_max(ctx: Context, args: list[Node]) -> int | float:
    numbers = [to_number(v) for v in _flat(_arg_values(ctx, args))]
    return math.nan if not numbers or any(math.isnan(n) for n in numbers) else max(numbers)


def _fn_sum(ctx: Context, args: list[Node]) -> int | float:
    value = args[0].evaluate(ctx)
    numbers = [to_number(v) for v in (value if isinstance(value, Nodeset) else [value]) if not is_empty(v)]
    return _checked(sum(numbers)) if all(math.isfinite(n) for n in numbers) else math.nan


def _fn_count(ctx: Context, args: list[Node]) -> int:
    value = args[0].evaluate(ctx)
    if isinstance(value, Nodeset):
        return len(value)
    return 0 if is_empty(value) else 1


def _fn_count_non_empty(ctx: Context, args: list[Node]) -> int:
    value = args[0].evaluate(ctx)
    return sum(1 for v in (value if isinstance(value, Nodeset) else [value]) if not is_empty(v))


def _fn_indexed_repeat(ctx: Context, args: list[Node]) -> Any:
    value = args[0].evaluate(ctx)
    index = to_number(args[2].evaluate(ctx))
    if not isinstance(value, Nodeset) or not math.isfinite(index) or not 1 <= index <= len(value):
        return ""
    return value[int(index) - 1]


def _fn_position(ctx: Context, args: list[Node]) -> int | float:
    return ctx.position if ctx.position is not None else math.nan


def _fn_string(ctx: Context, args: list[Node]) -> str:
    return to_string(args[0].evaluate(ctx))


def _fn_boolean(ctx: Context, args: list[Node]) -> bool:
    return to_bool(args[0].evaluate(ctx))


def _fn_concat(ctx: Context, args: list[Node]) -> str:
    text = "".join(to_string(v) for v in _arg_values(ctx, args))
    if len(text) > MAX_STRING_LENGTH:
        raise ExpressionError("text is too long")
    return text


def _fn_contains(ctx: Context, args: list[Node]) -> bool:
    haystack, needle = (to_string(v) for v in _arg_values(ctx, args))
    return needle in haystack


def _fn_starts_with(ctx: Context, args: list[Node]) -> bool:
    text, prefix = (to_string(v) for v in _arg_values(ctx, args))
    return text.startswith(prefix)


def _fn_ends_with(ctx: Context, args: list[Node]) -> bool:
    text, suffix = (to_string(v) for v in _arg_values(ctx, args))
    return text.endswith(suffix)


def _fn_substr(ctx: Context, args: list[Node]) -> str:
    values = _arg_values(ctx, args)
    text = to_string(values[0])
    start = to_number(values[1])
    end = to_number(values[2]) if len(values) > 2 else len(text)
    if math.isnan(start) or math.isnan(end):
        return ""
    return text[max(0, int(start)) : max(0, int(end))]


def _fn_normalize_space(ctx: Context, args: list[Node]) -> str:
    return " ".join(to_string(args[0].evaluate(ctx)).split())


_EPOCH = dt.date(1970, 1, 1)
_FIRST_DAY = (dt.date.min - _EPOCH).days
_LAST_DAY = (dt.date.max - _EPOCH).days


def _fn_date(ctx: Context, args: list[Node]) -> Any:
    value = args[0].evaluate(ctx)
    if _is_number(value) and math.isfinite(value):
        days = int(value)
        if not _FIRST_DAY <= days <= _LAST_DAY:
            raise ExpressionError("date is out of range")
        return _EPOCH + dt.timedelta(days=days)
    parsed = to_date(value)
    return parsed if parsed is not None else ""


def _fn_true(ctx: Context, args: list[Node]) -> bool:
    return True


def _fn_false(ctx: Context, args: list[Node]) -> bool:
    return False


def _unary_math(function: Callable[[float], float]) -> Callable[[Context, list[Node]], int | float]:
    def apply(ctx: Context, args: list[Node]) -> int | float:
        number = to_number(args[0].evaluate(ctx))
        if not math.isfinite(number):
            return math.nan
        try:
            return _checked(function(number))
        except (ValueError, OverflowError):
            return math.nan  # outside the function's domain: no value, as XPath gives NaN

    return apply


def _fn_atan2(ctx: Context, args: list[Node]) -> int | float:
    y, x = (to_number(v) for v in _arg_values(ctx, args))
    return math.nan if math.isnan(y) or math.isnan(x) else math.atan2(y, x)


def _fn_pi(ctx: Context, args: list[Node]) -> float:
    return math.pi


def _fn_once(ctx: Context, args: list[Node]) -> Any:
    # On a phone once() keeps the first value; the server recomputes calculations from the
    # answers, and a value that depends only on them is the same every time.
    return args[0].evaluate(ctx)


def _fn_now(ctx: Context, args: list[Node]) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _to_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if _is_number(value) and math.isfinite(value) and _FIRST_DAY <= value <= _LAST_DAY:
        return dt.datetime(1970, 1, 1) + dt.timedelta(days=float(value))
    return None


_DATE_FORMAT_RE = re.compile(r"%(.)")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _fn_format_date(ctx: Context, args: list[Node]) -> str:
    """ODK's format-date(): %Y %y %m %n %b %d %e %a %H %h %M %S %3, other text as written."""
    values = _arg_values(ctx, args)
    moment = _to_datetime(values[0])
    if moment is None:
        return ""
    codes = {
        "Y": f"{moment.year:04d}", "y": f"{moment.year % 100:02d}", "m": f"{moment.month:02d}",
        "n": str(moment.month), "b": _MONTHS[moment.month - 1], "d": f"{moment.day:02d}", "e": str(moment.day),
        "a": _DAYS[moment.weekday()], "H": f"{moment.hour:02d}", "h": str(moment.hour),
        "M": f"{moment.minute:02d}", "S": f"{moment.second:02d}", "3": f"{moment.microsecond // 1000:03d}",
        "%": "%",
    }  # fmt: skip
    return _DATE_FORMAT_RE.sub(lambda m: codes.get(m.group(1), m.group(0)), to_string(values[1])[:200])


def _fn_decimal_date_time(ctx: Context, args: list[Node]) -> int | float:
    moment = _to_datetime(args[0].evaluate(ctx))
    if moment is None:
        return math.nan
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return (moment - dt.datetime(1970, 1, 1)).total_seconds() / 86400


def _fn_decimal_time(ctx: Context, args: list[Node]) -> int | float:
    text = to_string(args[0].evaluate(ctx))
    try:
        moment = dt.time.fromisoformat(text.strip()[:8])
    except ValueError:
        return math.nan
    return (moment.hour * 3600 + moment.minute * 60 + moment.second) / 86400


def _fn_date_time(ctx: Context, args: list[Node]) -> Any:
    moment = _to_datetime(args[0].evaluate(ctx))
    return moment if moment is not None else ""


def _fn_substring_before(ctx: Context, args: list[Node]) -> str:
    text, part = (to_string(v) for v in _arg_values(ctx, args))
    return text.split(part, 1)[0] if part and part in text else ""


def _fn_substring_after(ctx: Context, args: list[Node]) -> str:
    text, part = (to_string(v) for v in _arg_values(ctx, args))
    return text.split(part, 1)[1] if part in text else ""


def _fn_translate(ctx: Context, args: list[Node]) -> str:
    text, source, target = (to_string(v) for v in _arg_values(ctx, args))
    table = {ord(c): (target[i] if i < len(target) else None) for i, c in reversed(list(enumerate(source)))}
    return text.translate(table)


def _fn_boolean_from_string(ctx: Context, args: list[Node]) -> bool:
    return to_string(args[0].evaluate(ctx)).strip() in ("true", "1")


def _fn_checklist(ctx: Context, args: list[Node]) -> bool:
    values = _arg_values(ctx, args)
    low, high = to_number(values[0]), to_number(values[1])
    count = sum(1 for v in values[2:] for item in (v if isinstance(v, list) else [v]) if to_bool(item))
    return (low < 0 or math.isnan(low) or count >= low) and (high < 0 or math.isnan(high) or count <= high)


def _fn_weighted_checklist(ctx: Context, args: list[Node]) -> bool:
    values = _arg_values(ctx, args)
    if len(values) % 2:
        raise ExpressionError("weighted-checklist() takes a minimum, a maximum, then pairs of value and weight")
    low, high = to_number(values[0]), to_number(values[1])
    total = sum(to_number(values[i + 1]) for i in range(2, len(values), 2) if to_bool(values[i]))
    return (low < 0 or math.isnan(low) or total >= low) and (high < 0 or math.isnan(high) or total <= high)


def _fn_substring(ctx: Context, args: list[Node]) -> str:
    """XPath's substring(text, start, length): positions from 1, rounded."""
    values = _arg_values(ctx, args)
    text = to_string(values[0])
    start = to_number(values[1])
    length = to_number(values[2]) if len(values) > 2 else math.inf
    if math.isnan(start) or math.isnan(length):
        return ""
    first = _xpath_round(start)
    last = first + _xpath_round(length) if math.isfinite(length) else math.inf
    return "".join(c for i, c in enumerate(text, start=1) if first <= i < last)


def _xpath_round(number: float) -> float:
    return math.floor(number + 0.5) if math.isfinite(number) else number


def _fn_join(ctx: Context, args: list[Node]) -> str:
    values = _arg_values(ctx, args)
    parts = [to_string(item) for item in _flat(values[1:])]
    text = to_string(values[0]).join(parts)
    if len(text) > MAX_STRING_LENGTH:
        raise ExpressionError("text is too long")
    return text


def _fn_choice_name(ctx: Context, args: list[Node]) -> str:
    value = to_string(args[0].evaluate(ctx))
    field_name = _CHOICE_REF_RE.fullmatch(to_string(args[1].value)).group(1)  # type: ignore[attr-defined,union-attr]
    return ctx.choice_label(field_name, value) if ctx.choice_label and value else ""


_CHOICE_REF_RE = re.compile(r"\s*\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}\s*")


def _check_choice_name(args: list[Node]) -> None:
    if not (isinstance(args[1], Literal) and _CHOICE_REF_RE.fullmatch(to_string(args[1].value))):
        raise ExpressionError("jr:choice-name() takes the question as '${name}' in quotes, as its second argument")


def _fn_year(ctx: Context, args: list[Node]) -> int | float:
    parsed = to_date(args[0].evaluate(ctx))
    return parsed.year if parsed is not None else math.nan


FUNCTIONS: dict[str, FunctionSpec] = {
    "selected": FunctionSpec(_fn_selected, 2, 2),
    "count-selected": FunctionSpec(_fn_count_selected, 1, 1),
    "selected-at": FunctionSpec(_fn_selected_at, 2, 2),
    "string-length": FunctionSpec(_fn_string_length, 0, 1),
    "today": FunctionSpec(_fn_today, 0, 0),
    "if": FunctionSpec(_fn_if, 3, 3),
    "regex": FunctionSpec(_fn_regex, 2, 2, _check_regex),
    "coalesce": FunctionSpec(_fn_coalesce, 2, 2),
    "not": FunctionSpec(_fn_not, 1, 1),
    "true": FunctionSpec(_fn_true, 0, 0),
    "false": FunctionSpec(_fn_false, 0, 0),
    "boolean": FunctionSpec(_fn_boolean, 1, 1),
    "number": FunctionSpec(_fn_number, 1, 1),
    "int": FunctionSpec(_fn_int, 1, 1),
    "round": FunctionSpec(_fn_round, 1, 2),
    "abs": FunctionSpec(_fn_abs, 1, 1),
    "pow": FunctionSpec(_fn_pow, 2, 2),
    "min": FunctionSpec(_fn_min, 1, 100),
    "max": FunctionSpec(_fn_max, 1, 100),
    "string": FunctionSpec(_fn_string, 1, 1),
    "concat": FunctionSpec(_fn_concat, 1, 100),
    "contains": FunctionSpec(_fn_contains, 2, 2),
    "starts-with": FunctionSpec(_fn_starts_with, 2, 2),
    "ends-with": FunctionSpec(_fn_ends_with, 2, 2),
    "substr": FunctionSpec(_fn_substr, 2, 3),
    "normalize-space": FunctionSpec(_fn_normalize_space, 1, 1),
    "date": FunctionSpec(_fn_date, 1, 1),
    "year": FunctionSpec(_fn_year, 1, 1),
    "sqrt": FunctionSpec(_unary_math(math.sqrt), 1, 1),
    "exp": FunctionSpec(_unary_math(math.exp), 1, 1),
    "exp10": FunctionSpec(_unary_math(lambda x: math.pow(10, x)), 1, 1),
    "log": FunctionSpec(_unary_math(math.log), 1, 1),
    "log10": FunctionSpec(_unary_math(math.log10), 1, 1),
    "sin": FunctionSpec(_unary_math(math.sin), 1, 1),
    "cos": FunctionSpec(_unary_math(math.cos), 1, 1),
    "tan": FunctionSpec(_unary_math(math.tan), 1, 1),
    "asin": FunctionSpec(_unary_math(math.asin), 1, 1),
    "acos": FunctionSpec(_unary_math(math.acos), 1, 1),
    "atan": FunctionSpec(_unary_math(math.atan), 1, 1),
    "atan2": FunctionSpec(_fn_atan2, 2, 2),
    "pi": FunctionSpec(_fn_pi, 0, 0),
    "floor": FunctionSpec(_unary_math(math.floor), 1, 1),
    "ceiling": FunctionSpec(_unary_math(math.ceil), 1, 1),
    "once": FunctionSpec(_fn_once, 1, 1),
    "sum": FunctionSpec(_fn_sum, 1, 1),
    "count": FunctionSpec(_fn_count, 1, 1),
    "count-non-empty": FunctionSpec(_fn_count_non_empty, 1, 1),
    "indexed-repeat": FunctionSpec(_fn_indexed_repeat, 3, 3),
    "position": FunctionSpec(_fn_position, 0, 0),
    "now": FunctionSpec(_fn_now, 0, 0),
    "format-date": FunctionSpec(_fn_format_date, 2, 2),
    "format-date-time": FunctionSpec(_fn_format_date, 2, 2),
    "decimal-date-time": FunctionSpec(_fn_decimal_date_time, 1, 1),
    "decimal-time": FunctionSpec(_fn_decimal_time, 1, 1),
    "date-time": FunctionSpec(_fn_date_time, 1, 1),
    "substring-before": FunctionSpec(_fn_substring_before, 2, 2),
    "substring-after": FunctionSpec(_fn_substring_after, 2, 2),
    "translate": FunctionSpec(_fn_translate, 3, 3),
    "boolean-from-string": FunctionSpec(_fn_boolean_from_string, 1, 1),
    "checklist": FunctionSpec(_fn_checklist, 3, 100),
    "weighted-checklist": FunctionSpec(_fn_weighted_checklist, 4, 100),
    "substring": FunctionSpec(_fn_substring, 2, 3),
    "join": FunctionSpec(_fn_join, 2, 100),
    "jr:choice-name": FunctionSpec(_fn_choice_name, 2, 2, _check_choice_name),
}
