"""Validation of an import: each row against the code lists, then the rows together.

Pure functions (no database): raw rows in, clean rows and `Issue`s out. An issue is
an *error* (the file is refused, nothing is written), a *warning* (the rows are
stored and carry the warning in `Observation.flags`), or a *note* (reported only).

Rows together
-------------
**Same key twice.** Two rows with the same dimensions (a figure reported twice with
different values, such as 2023 departures 16,094 and 12,732 (E)) are both kept: the
first in the import's vintage of rank 1, the next in rank 2, and so on. Both rows get
a `conflicting_value` warning naming the other. Two rows identical in value and status
are an error (a copy, not a second report).

**Components against their total** (`check_breakdowns`). For each breakdown dimension
(counterpart_area, sex, age, education, specialty, scope), a *total* row has `_T` in it
and its *components* are the rows equal to the total on every other dimension, the
unit and the flow, with another code there. Flow is part of that key, so a component
check never mixes flows with stocks or one flow with another. Values are compared in
units (value x 10^unit_mult). Only additive units are checked (not PT, RATIO, ...).

The tolerance is what rounding can explain plus a small relative slack:
half a unit of the last printed digit of each component and of the total, plus
`RELATIVE_TOLERANCE` (0.1 %) of the total. Beyond it:

- components **exceed** the total: always inconsistent -> warning `components_exceed_total`;
- components fall **short** of the total and the breakdown claims to be **complete** ->
  warning `components_short_of_total`. A breakdown is complete when it has an `_O` row
  ("all others"), or covers one of the closed lists of its dimension (`CLOSED_LISTS`:
  sex M+F; scope URBAN+RURAL or INTERREGIONAL+INTRAREGIONAL; education HIGHER, SEC_PROF,
  GEN_SEC, BASIC_SEC and NONE), or is CIS + NON_CIS;
- components fall short and the breakdown does not claim completeness (the top 12
  destinations, say) -> it is *partial*: a note with its coverage, no flag.

For NET flows components may be negative, so "short" says nothing: only complete
breakdowns are checked, in both directions. Named aggregates among counterpart areas
(CIS, NON_CIS) are checked as their own breakdown, never summed with countries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from . import codes
from .codes import BREAKDOWNS, OTHERS, TOTAL

DIMENSIONS = (
    "indicator_code",
    "ref_area",
    "counterpart_area",
    "flow",
    "time_period",
    "sex",
    "age",
    "education",
    "specialty",
    "scope",
)
RELATIVE_TOLERANCE = Decimal("0.001")
# Codes that are never a component of a total: not applicable, and the world.
NOT_COMPONENTS = {"_Z", "WLD"}
CLOSED_LISTS: dict[str, list[frozenset[str]]] = {
    "sex": [frozenset({"M", "F"})],
    "scope": [frozenset({"URBAN", "RURAL"}), frozenset({"INTERREGIONAL", "INTRAREGIONAL"})],
    "education": [frozenset({"HIGHER", "SEC_PROF", "GEN_SEC", "BASIC_SEC", "NONE"})],
    "counterpart_area": [frozenset({"CIS", "NON_CIS"})],
}


@dataclass
class Issue:
    level: str  # error, warning, note
    code: str
    message: str
    row: int | None = None
    column: str = ""
    rows: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CleanRow:
    row: int
    values: dict  # the model's fields: dimensions as str, obs_value Decimal | None, unit_mult int, ...
    rank: int = 1
    flags: list[dict] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(self.values[d] for d in DIMENSIONS)


def clean_row(number: int, raw: dict[str, str]) -> tuple[dict | None, list[Issue]]:
    """One raw row checked against the code lists: the model's field values, or the errors."""
    errors: list[Issue] = []

    def error(column: str, message: str) -> None:
        errors.append(Issue("error", "invalid_value", message, row=number, column=column))

    if raw.get("__extra__", "").startswith("\x00"):
        error("", _("the row has more values than the header has columns"))
    values = {c: (raw.get(c) or "").strip() or codes.DEFAULTS.get(c, "") for c in codes.COLUMNS}
    for column in codes.REQUIRED_COLUMNS:
        if not values[column] and not (column == "obs_value" and values["obs_status"] in codes.MISSING_STATUSES):
            error(column, _("%(column)s is empty") % {"column": column})
    checks = [
        ("ref_area", codes.check_area(values["ref_area"], "ref_area") if values["ref_area"] else None),
        ("counterpart_area", codes.check_area(values["counterpart_area"], "counterpart_area")),
        ("flow", codes.check_flow(values["flow"])),
        ("time_period", codes.check_period(values["time_period"]) if values["time_period"] else None),
        ("sex", codes.check_sex(values["sex"])),
        ("obs_status", codes.check_status(values["obs_status"])),
        ("source_type", codes.check_source_type(values["source_type"])),
    ]
    for column in ("indicator_code", "age", "education", "specialty", "scope", "unit_measure"):
        if values[column]:
            checks.append((column, codes.check_code(values[column], column)))
    for column, message in checks:
        if message:
            error(column, message)
    for column, parse in (("obs_value", codes.parse_value), ("unit_mult", codes.parse_unit_mult)):
        if not values[column]:
            values[column] = None
            continue
        try:
            values[column] = parse(values[column])
        except ValueError as exc:
            error(column, str(exc))
    if errors:
        return None, errors
    values["unit_mult"] = values["unit_mult"] or 0
    return values, []


def clean_rows(rows: list[tuple[int, dict[str, str]]]) -> tuple[list[CleanRow], list[Issue]]:
    """Every row checked; then rows with the same key ranked (first value 1, next 2, ...)."""
    cleaned: list[CleanRow] = []
    issues: list[Issue] = []
    for number, raw in rows:
        values, errors = clean_row(number, raw)
        issues.extend(errors)
        if values is not None:
            cleaned.append(CleanRow(number, values))
    issues.extend(rank_repeated_keys(cleaned))
    return cleaned, issues


def rank_repeated_keys(rows: list[CleanRow]) -> list[Issue]:
    """Give each further value of a key the next rank; flag conflicts, refuse copies."""
    issues: list[Issue] = []
    seen: dict[tuple, list[CleanRow]] = defaultdict(list)
    for row in rows:
        earlier = seen[row.key]
        copy = next((e for e in earlier if _same_value(e, row)), None)
        if copy is not None:
            message = _("the same key and value as row %(other)s: a copy, not a second report") % {"other": copy.row}
            issues.append(Issue("error", "duplicate_row", message, row=row.row))
            continue
        row.rank = len(earlier) + 1
        earlier.append(row)
    for group in seen.values():
        if len(group) < 2:
            continue
        listed = "; ".join(f"{_show(r.values['obs_value'])} ({r.values['obs_status']}, row {r.row})" for r in group)
        message = _("%(key)s has %(count)d values: %(values)s. All are kept, each in its own vintage.") % {
            "key": _key_label(group[0].values),
            "count": len(group),
            "values": listed,
        }
        rows_ = [r.row for r in group]
        for row in group:
            row.flags.append({"code": "conflicting_value", "message": message, "rows": rows_})
        issues.append(Issue("warning", "conflicting_value", message, row=group[0].row, rows=rows_))
    return issues


def _same_value(a: CleanRow, b: CleanRow) -> bool:
    keys = ("obs_value", "unit_mult", "obs_status")
    return all(a.values[k] == b.values[k] for k in keys)


def _show(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():,f}"


def _key_label(values: dict) -> str:
    parts = [values["indicator_code"], values["ref_area"], values["time_period"], values["flow"]]
    parts += [f"{d}={values[d]}" for d in BREAKDOWNS if values[d] != TOTAL]
    return " ".join(parts)


def _half_unit(value: Decimal, unit_mult: int) -> Decimal:
    """Half a unit of the last printed digit, in units: what rounding alone can explain."""
    exponent = value.as_tuple().exponent
    exponent = exponent if isinstance(exponent, int) else 0
    return Decimal(5).scaleb(exponent - 1 + unit_mult)


def _units(row: CleanRow) -> Decimal:
    return row.values["obs_value"].scaleb(row.values["unit_mult"])


def is_complete(dimension: str, component_codes: set[str]) -> bool:
    """Whether a breakdown claims to cover its total: an `_O` row, or a whole closed list."""
    if OTHERS in component_codes:
        return True
    return any(closed <= component_codes for closed in CLOSED_LISTS.get(dimension, []))


def check_breakdowns(rows: list[CleanRow]) -> list[Issue]:
    """Components against their `_T` totals, one breakdown dimension at a time (rank-1 values only)."""
    usable = [
        r
        for r in rows
        if r.rank == 1
        and r.values["obs_value"] is not None
        and r.values["unit_measure"] not in codes.NON_ADDITIVE_UNITS
    ]
    issues: list[Issue] = []
    for dimension in BREAKDOWNS:
        others = [d for d in DIMENSIONS if d != dimension]
        totals: dict[tuple, CleanRow] = {}
        parts: dict[tuple, list[CleanRow]] = defaultdict(list)
        for row in usable:
            group = (*(row.values[d] for d in others), row.values["unit_measure"])
            code = row.values[dimension]
            if code == TOTAL:
                totals[group] = row
            elif code not in NOT_COMPONENTS:
                kind = "aggregate" if code in codes.AGGREGATE_AREAS else "leaf"
                parts[(*group, kind)].append(row)
        for (*group, _kind), components in parts.items():
            total = totals.get(tuple(group))
            if total is not None:
                issue = _check_one(dimension, total, components)
                if issue is not None:
                    issues.append(issue)
    return issues


def _check_one(dimension: str, total: CleanRow, components: list[CleanRow]) -> Issue | None:
    component_codes = {c.values[dimension] for c in components}
    complete = is_complete(dimension, component_codes)
    if total.values["flow"] == "NET" and not complete:
        return None
    parts_sum = sum((_units(c) for c in components), Decimal(0))
    total_units = _units(total)
    tolerance = sum((_half_unit(c.values["obs_value"], c.values["unit_mult"]) for c in components), Decimal(0))
    tolerance += _half_unit(total.values["obs_value"], total.values["unit_mult"])
    tolerance += abs(total_units) * RELATIVE_TOLERANCE
    difference = parts_sum - total_units
    rows = sorted([total.row, *(c.row for c in components)])
    scale = Decimal(1).scaleb(total.values["unit_mult"])
    context = {
        "key": _key_label(total.values),
        "dimension": dimension,
        "codes": ", ".join(sorted(component_codes)),
        "sum": _show(parts_sum / scale),
        "total": _show(total.values["obs_value"]),
        "status": total.values["obs_status"],
        "row": total.row,
    }
    if abs(difference) <= tolerance:
        return None
    if difference > 0:
        code = "components_exceed_total"
        message = _("%(key)s: the components by %(dimension)s (%(codes)s) add up to %(sum)s, more than the total "
                    "%(total)s (%(status)s, row %(row)s).") % context  # fmt: skip
    elif complete:
        code = "components_short_of_total"
        message = _("%(key)s: the components by %(dimension)s (%(codes)s) cover the whole breakdown but add up "
                    "to %(sum)s, not the total %(total)s (%(status)s, row %(row)s).") % context  # fmt: skip
    else:
        coverage = f"{parts_sum / total_units:.1%}" if total_units else "—"
        message = _(
            "%(key)s: a partial breakdown by %(dimension)s (%(count)d categories, no _O row) covers "
            "%(sum)s of %(total)s (%(coverage)s); not flagged."
        ) % {  # fmt: skip
            **context,
            "count": len(components),
            "coverage": coverage,
        }
        return Issue("note", "partial_breakdown", message, row=total.row, rows=rows)
    flag = {"code": code, "message": message, "rows": rows}
    for row in [total, *components]:
        row.flags.append(flag)
    return Issue("warning", code, message, row=total.row, rows=rows)
