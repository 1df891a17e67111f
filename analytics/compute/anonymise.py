"""k-anonymity and distinct l-diversity for a research file: generalise first, then suppress the least.

    table = pd.DataFrame({"age": [...], "country": [...], "salary": [...], "n": [...]})
    plan = anonymise(table, {"age": AGE, "country": COUNTRY}, sensitive=["salary"], k=5, l=2)
    plan.lookup      # one row per distinct combination of the raw quasi-identifiers: their output values
    plan.report      # k and l achieved, levels per variable, records and cells suppressed, loss, risk

The input is a *count table*, not the records: one row per distinct combination of the raw
quasi-identifier values and sensitive values seen in the data, with its number of records
`n` (a research export counts them chunk by chunk, so memory follows the number of distinct
combinations, never the number of records). Values are text; a missing value is the empty
string and is a value of its own (a group of non-answers is a group of people too).

Each quasi-identifier has a hierarchy (``Hierarchy``): level 0 is the value, each next level
coarser, the last is "*" (suppressed). A *node* is one level per variable (global recoding,
as sdcMicro's globalRecode and ARX's lattice). For each node the records fall into equivalence
classes (equal output values); a class is *bad* when it has fewer than k records or, for some
sensitive variable, fewer than l distinct values (missing counts as one value). A node is
*feasible* when its bad records are at most ``max_suppressed`` of all records. Among feasible
nodes the one that suppresses the fewest variables entirely, then the least information loss, wins: the loss of a cell is Iyengar's LM,
(values merged into its output value - 1) / (distinct values - 1), 1 for a suppressed cell,
averaged over records and variables. Small lattices are searched whole (a node whose
predecessor already has no bad records is skipped: it can only lose more); larger ones greedily
from the bottom, raising the level that removes most bad records per unit of loss.

The chosen node's bad records are then suppressed locally, the fewest cells first: for each
variable in turn (most distinct values first) the bad records whose values with that one
variable set to "*" form groups that are themselves k-anonymous and l-diverse keep everything
else; the rest have every quasi-identifier suppressed, and if even that group is too small or
not diverse its records are left out of the file. Every output class is therefore k-anonymous
and l-diverse by plain equality of the published values ("*" included), which is what an
independent checker (pycanon) tests.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SUPPRESSED = "*"
EXHAUSTIVE_LIMIT = 2000  # nodes: above this the lattice is searched greedily
SEARCH_CELLS = 50_000_000  # nodes x table rows: above this too


class AnonymityError(ValueError):
    """k and l cannot be met for this table (the message says why)."""


@dataclass(frozen=True)
class Hierarchy:
    """A variable's generalisation steps: `steps[i]` maps a value to its label at level i + 1."""

    kind: str
    level_names: tuple[str, ...]  # the names of levels 1.. (level 0 is the value, the last is "*")
    steps: tuple[Callable[[str], str], ...] = ()
    fixed: bool = False  # never generalised nor suppressed (the wave of a several-wave file)

    @property
    def top(self) -> int:
        return len(self.steps) + 1

    def labels(self, values: np.ndarray, level: int) -> np.ndarray:
        if level == 0:
            return values
        if level >= self.top:
            return np.full(len(values), SUPPRESSED, dtype=object)
        step = self.steps[level - 1]
        return np.array([value if value == "" else step(value) for value in values], dtype=object)

    def level_name(self, level: int) -> str:
        if level == 0:
            return "value"
        if level >= self.top:
            return "suppressed"
        return self.level_names[level - 1]


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _band(width: int) -> Callable[[str], str]:
    def band(value: str) -> str:
        number = _number(value)
        if number is None:
            return SUPPRESSED
        low = int(number // width * width)
        return f"{low}-{low + width - 1}"

    return band


def _date_part(length: int) -> Callable[[str], str]:
    return lambda value: value[:length] if len(value) >= length else SUPPRESSED


def _isced_broad(value: str) -> str:
    digits = "".join(itertools.takewhile(str.isdigit, value.lstrip("fF")))
    return digits[:2] if len(digits) >= 2 else SUPPRESSED


def hierarchy_for(kind: str, country_groups: Sequence[dict[str, str]] = ()) -> Hierarchy:
    """The hierarchy of a kind of variable; country groups: {code: group} maps, finest first."""
    if kind == "age":
        return Hierarchy(kind, ("5-year band", "10-year band"), (_band(5), _band(10)))
    if kind == "year":
        return Hierarchy(kind, ("5-year band", "10-year band"), (_band(5), _band(10)))
    if kind == "date":
        return Hierarchy(kind, ("month", "year"), (_date_part(7), _date_part(4)))
    if kind == "field":
        return Hierarchy(kind, ("broad field (ISCED-F 2013)",), (_isced_broad,))
    if kind == "country":
        steps = tuple((lambda groups: lambda value: groups.get(value, SUPPRESSED))(g) for g in country_groups)
        names = ("world sub-region", "world region", "human-development tier")[: len(steps)]
        return Hierarchy(kind, names, steps)
    if kind == "fixed":
        return Hierarchy(kind, (), fixed=True)
    return Hierarchy(kind, ())  # the value, then "*"


def number_text(number: float) -> str:
    """A number as the text every step compares and publishes: whole numbers without a decimal point,
    others exactly (repr), so a top code and an answer equal as numbers are equal as text."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


# --------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    levels: dict[str, int]
    lookup: pd.DataFrame  # raw QI columns, then "out:<qi>" output values and "dropped"
    top_codes: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Encoded:
    """The count table's quasi-identifiers as integer codes at every level of their hierarchy."""

    names: list[str]
    codes: list[list[np.ndarray]]  # codes[q][level]: one code per table row
    sizes: list[list[int]]  # sizes[q][level]: number of distinct codes
    labels: list[list[np.ndarray]]  # labels[q][level]: label per code
    loss: list[list[np.ndarray]]  # loss[q][level]: LM loss per code
    counts: np.ndarray
    sensitive: list[np.ndarray]  # codes of each sensitive variable per table row


def _encode(
    table: pd.DataFrame, hierarchies: dict[str, Hierarchy], sensitive: list[str], domains: dict[str, np.ndarray] | None
) -> _Encoded:
    counts = table["n"].to_numpy(dtype=np.int64)
    names, all_codes, all_sizes, all_labels, all_loss = [], [], [], [], []
    for name, hierarchy in hierarchies.items():
        if domains is not None:  # the column holds codes into domains[name]
            raw_codes, domain = table[name].to_numpy(dtype=np.int64), np.asarray(domains[name], dtype=object)
        else:
            raw_codes, domain = pd.factorize(table[name].astype(str), sort=True)
            domain = np.asarray(domain, dtype=object)
        codes, sizes, labels, losses = [], [], [], []
        for level in range(hierarchy.top + 1):
            mapped = hierarchy.labels(domain, level)
            group, group_labels = pd.factorize(pd.Series(mapped, dtype=object), sort=True)
            merged = np.bincount(group, minlength=len(group_labels))  # domain values per output value
            loss = (merged - 1) / max(len(domain) - 1, 1)
            if level == hierarchy.top:
                loss = np.ones(len(group_labels))
            codes.append(group[raw_codes])
            sizes.append(len(group_labels))
            labels.append(np.asarray(group_labels, dtype=object))
            losses.append(loss)
        names.append(name)
        all_codes.append(codes)
        all_sizes.append(sizes)
        all_labels.append(labels)
        all_loss.append(losses)
    sens = [pd.factorize(table[s])[0] for s in sensitive]
    return _Encoded(names, all_codes, all_sizes, all_labels, all_loss, counts, sens)


def _keys(enc: _Encoded, columns: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One int64 class key per table row from per-variable codes (mixed radix, re-factorised if large)."""
    key = np.zeros(len(enc.counts), dtype=np.int64)
    radix = 1
    for codes, size in zip(columns, sizes, strict=True):
        if radix * max(size, 1) > 2**62:
            key = pd.factorize(key)[0].astype(np.int64)
            radix = int(key.max()) + 1 if len(key) else 1
        key = key * max(size, 1) + codes
        radix *= max(size, 1)
    return key


def _bad_rows(enc: _Encoded, key: np.ndarray, k: int, l_div: int) -> np.ndarray:
    """Table rows in classes with fewer than k records or fewer than l distinct sensitive values."""
    inverse, classes = pd.factorize(key)
    sizes = np.bincount(inverse, weights=enc.counts, minlength=len(classes))
    bad = sizes < k
    for values in enc.sensitive:
        if l_div <= 1:
            break
        width = int(values.max(initial=0)) + 1
        pairs = pd.unique(inverse.astype(np.int64) * width + values)
        distinct = np.bincount(pairs // width, minlength=len(classes))
        bad |= distinct < l_div
    return bad[inverse]


def _node_state(enc: _Encoded, node: tuple[int, ...], k: int, l_div: int) -> tuple[np.ndarray, float]:
    columns = [enc.codes[q][level] for q, level in enumerate(node)]
    sizes = [enc.sizes[q][level] for q, level in enumerate(node)]
    bad = _bad_rows(enc, _keys(enc, columns, sizes), k, l_div)
    total = enc.counts.sum()
    # LM loss: generalisation loss of the kept records, 1 per variable for the suppressed ones
    # (an upper bound: local suppression usually blanks fewer cells).
    cell_loss = sum(enc.loss[q][level][enc.codes[q][level]] for q, level in enumerate(node))
    n_vars = max(len(node), 1)
    loss = (np.sum(np.where(bad, n_vars, cell_loss) * enc.counts) / (total * n_vars)) if total else 0.0
    return bad, float(loss)


def _search(enc: _Encoded, tops: list[int], k: int, l_div: int, max_suppressed: float) -> tuple[tuple, str, int]:
    total = int(enc.counts.sum())
    budget = max_suppressed * total
    lattice = math.prod(top + 1 for top in tops)
    # A node costs a pass over the table: large tables get the greedy search.
    if lattice <= EXHAUSTIVE_LIMIT and lattice * len(enc.counts) <= SEARCH_CELLS:
        nodes = sorted(itertools.product(*[range(top + 1) for top in tops]), key=lambda node: (sum(node), node))
        clean: set[tuple[int, ...]] = set()
        best, best_score, checked = tuple(tops), (math.inf, math.inf), 0
        for node in nodes:
            parents = (node[:q] + (node[q] - 1,) + node[q + 1 :] for q in range(len(node)) if node[q] > 0)
            if any(parent in clean for parent in parents):
                clean.add(node)  # more general than a node without bad records: never better
                continue
            bad, loss = _node_state(enc, node, k, l_div)
            checked += 1
            suppressed = int(enc.counts[bad].sum())
            if suppressed == 0:
                clean.add(node)
            score = (_wholly_suppressed(node, tops), loss)
            if suppressed <= budget and score < best_score:
                best, best_score = node, score
        return best, "exhaustive", checked
    # Greedy: from the bottom, raise the level that removes most bad records per unit of loss.
    node, checked = tuple(0 for _ in tops), 0
    bad, loss = _node_state(enc, node, k, l_div)
    while enc.counts[bad].sum() > budget and node != tuple(tops):
        options = []
        for q, top in enumerate(tops):
            if node[q] < top:
                candidate = node[:q] + (node[q] + 1,) + node[q + 1 :]
                cand_bad, cand_loss = _node_state(enc, candidate, k, l_div)
                checked += 1
                gain = enc.counts[bad].sum() - enc.counts[cand_bad].sum()
                cost = cand_loss - loss + _wholly_suppressed(candidate, tops) - _wholly_suppressed(node, tops)
                options.append((-(gain + 1) / (cost + 1e-9), candidate, cand_bad, cand_loss))
        _, node, bad, loss = min(options, key=lambda option: option[0])
    return node, "greedy", checked


def _wholly_suppressed(node: tuple[int, ...], tops: list[int]) -> int:
    """Variables a node suppresses entirely: a researcher loses the variable, so any node that keeps
    every variable is preferred, whatever its loss (then the least loss)."""
    return sum(level >= top for level, top in zip(node, tops, strict=True) if top > 0)


def _group_ok(enc: _Encoded, rows: np.ndarray, key: np.ndarray, k: int, l_div: int) -> np.ndarray:
    """For the table rows `rows` grouped by `key`: whether each row's group is k-anonymous and l-diverse."""
    sub = _Encoded(enc.names, [], [], [], [], enc.counts[rows], [values[rows] for values in enc.sensitive])
    return ~_bad_rows(sub, key, k, l_div)


def top_code(table: pd.DataFrame, column: str, order: Sequence[str] | None, k: int, share: float = 0.01) -> Any:
    """The top code of an income variable: values above it are published as it.

    Numbers: the largest value with at least max(k, share of the answers) answers at or above
    it. Ordered categories (`order`, lowest first): the lowest category from which the top
    categories together hold at least k answers. None when nothing needs recoding.
    """
    counts = table.groupby(column, sort=False)["n"].sum()
    counts = counts[counts.index.astype(str) != ""]
    if counts.empty:
        return None
    needed = max(k, math.ceil(share * counts.sum()))
    if order:
        ranked = [value for value in order if value in counts.index]
        if not ranked:
            return None  # no answer is an amount (everyone preferred not to say)
        running = 0
        for position in range(len(ranked) - 1, -1, -1):
            running += counts[ranked[position]]
            if running >= k:
                return ranked[position] if position < len(ranked) - 1 else None
        return ranked[0]
    numbers = pd.Series(counts.values, index=pd.to_numeric(counts.index, errors="coerce")).dropna().sort_index()
    if numbers.empty:
        return None
    above = numbers[::-1].cumsum()[::-1]  # answers at or above each value
    eligible = above[above >= needed]
    cut = float(eligible.index.max()) if not eligible.empty else float(numbers.index.min())
    return None if cut >= numbers.index.max() else cut


def apply_top_code(values: pd.Series, code: Any, order: Sequence[str] | None) -> pd.Series:
    """`values` (text) with everything above the top code replaced by it."""
    if code is None:
        return values
    if order:
        rank = {value: index for index, value in enumerate(order)}
        limit = rank[code]
        above = values.map(lambda v: rank.get(v, -1) > limit)
        return values.where(~above, code)
    numbers = pd.to_numeric(values, errors="coerce")
    return values.where(~(numbers >= code), number_text(code))


def anonymise(
    table: pd.DataFrame,
    hierarchies: dict[str, Hierarchy],
    *,
    sensitive: Sequence[str] = (),
    k: int = 5,
    l_div: int = 2,
    max_suppressed: float = 0.05,
    domains: dict[str, np.ndarray] | None = None,
) -> Plan:
    """The generalisation levels and local suppressions that make `table` k-anonymous and l-diverse."""
    sensitive = list(sensitive)
    total = int(table["n"].sum())
    qi = list(hierarchies)
    if not qi:
        # No quasi-identifier: the whole file is one group, which must itself be k-anonymous and l-diverse.
        distinct = min((table.loc[table["n"] > 0, s].nunique() for s in sensitive), default=None)
        if total < k or (distinct is not None and distinct < l_div):
            raise AnonymityError(
                f"The file would be one group of {total} records"
                + (f" with {distinct} distinct sensitive values" if distinct is not None else "")
                + f"; k = {k} and l = {l_div} cannot be met. Add a wave or variables, or leave a sensitive variable out."
            )
        lookup = pd.DataFrame({"dropped": [False]})
        report = {"k": k, "l": l_div, "records": total, "records_published": total, "records_removed": 0,
                  "cells_suppressed": 0, "k_achieved": total, "l_achieved": distinct, "information_loss": 0.0,
                  "variables": [], "quasi_identifiers": [], "search": "none",
                  "risk_before": {"sample_uniques": 0, "records_below_k": 0, "share_below_2k": float(total < 2 * k)},
                  "risk_after": {"share_below_2k": float(total < 2 * k), "max_individual_risk": round(1 / total, 4)}}  # fmt: skip
        return Plan({}, lookup, report=report)
    enc = _encode(table, hierarchies, sensitive, domains)
    tops = [0 if hierarchies[name].fixed else hierarchies[name].top for name in qi]
    fixed = [q for q, name in enumerate(qi) if hierarchies[name].fixed]
    free = [q for q, name in enumerate(qi) if not hierarchies[name].fixed]
    before_bad, _ = _node_state(enc, tuple(0 for _ in qi), k, l_div)
    node, search, checked = _search(enc, tops, k, l_div, max_suppressed)
    bad, _ = _node_state(enc, node, k, l_div)

    # Output codes per table row; local suppression replaces codes by the "*" code (-1).
    out = np.stack([enc.codes[q][level] for q, level in enumerate(node)], axis=1)
    sizes = [enc.sizes[q][level] for q, level in enumerate(node)]
    pending = np.flatnonzero(bad)
    order = sorted(range(len(qi)), key=lambda q: -sizes[q])
    for q in order:
        if not len(pending) or node[q] == tops[q]:
            continue
        trial = out[pending].copy()
        trial[:, q] = -1
        columns = [trial[:, j] + 1 for j in range(len(qi))]
        key = _pending_key(columns)
        ok = _group_ok(enc, pending, key, k, l_div)
        out[pending[ok], q] = -1
        pending = pending[~ok]
    dropped = np.zeros(len(table), dtype=bool)
    if len(pending):
        for q in free:
            out[pending, q] = -1
        # Every other value suppressed: one group per value of the fixed variables (the wave).
        full = _pending_key([out[pending, q] for q in fixed]) if fixed else np.zeros(len(pending), dtype=np.int64)
        ok = _group_ok(enc, pending, full, k, l_div)
        # The all-suppressed group may also hold rows suppressed on every variable above
        # only if the groups are equal; they are not (those kept one value), so it stands alone.
        if not ok.all():
            dropped[pending] = True

    lookup = table[qi].copy() if domains is not None else table[qi].astype(str)
    for q, name in enumerate(qi):
        labels = enc.labels[q][node[q]]
        codes = out[:, q]
        lookup[f"out:{name}"] = np.where(codes >= 0, labels[np.clip(codes, 0, None)], SUPPRESSED)
    lookup["dropped"] = dropped
    lookup["n"] = enc.counts
    lookup = lookup.groupby(qi, sort=False, as_index=False).agg(
        {**{f"out:{name}": "first" for name in qi}, "dropped": "first", "n": "sum"}
    )
    plan = Plan(dict(zip(qi, node, strict=True)), lookup)
    plan.report = _report(enc, table, plan, hierarchies, out, dropped, before_bad, k, l_div, search, checked)
    return plan


def _pending_key(columns: list[np.ndarray]) -> np.ndarray:
    frame = pd.DataFrame({str(i): column for i, column in enumerate(columns)})
    return frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy(dtype=np.int64)


def _classes(table: pd.DataFrame, columns: list[str]) -> pd.Series:
    return table.groupby(columns, sort=False)["n"].transform("sum")


def _report(enc, table, plan, hierarchies, out, dropped, before_bad, k, l_div, search, checked) -> dict[str, Any]:
    qi = enc.names
    total = int(enc.counts.sum())
    kept = ~dropped
    published = pd.DataFrame({f"q{q}": out[:, q] for q in range(len(qi))})
    published["n"] = enc.counts
    published = published[kept]
    sizes_after = (
        _classes(published, [f"q{q}" for q in range(len(qi))]) if len(published) else pd.Series([], dtype=float)
    )
    before = pd.DataFrame({f"q{q}": enc.codes[q][0] for q in range(len(qi))})
    before["n"] = enc.counts
    sizes_before = _classes(before, [f"q{q}" for q in range(len(qi))])
    l_after = None
    if enc.sensitive and len(published):
        l_after = total
        keys = published.groupby([f"q{q}" for q in range(len(qi))], sort=False).ngroup().to_numpy()
        for values in enc.sensitive:
            distinct = pd.DataFrame({"c": keys, "s": values[kept]}).groupby("c")["s"].nunique()
            l_after = min(l_after, int(distinct.min()))
    suppressed_cells = {name: int(enc.counts[(out[:, q] < 0) & kept & (plan.levels[name] < hierarchies[name].top)].sum())
                        for q, name in enumerate(qi)}  # fmt: skip
    variables = []
    for q, name in enumerate(qi):
        level = plan.levels[name]
        codes = out[:, q]
        loss = np.where(codes >= 0, enc.loss[q][level][np.clip(codes, 0, None)], 1.0)
        records = enc.counts[kept].sum()
        variables.append(
            {
                "variable": name,
                "hierarchy": hierarchies[name].kind,
                "level": level,
                "level_name": hierarchies[name].level_name(level),
                "levels": hierarchies[name].top,
                "cells_suppressed": suppressed_cells[name],
                "information_loss": round(float((loss[kept] * enc.counts[kept]).sum() / records), 4)
                if records
                else 0.0,
            }
        )
    kept_records = int(enc.counts[kept].sum())
    return {
        "k": k,
        "l": l_div,
        "records": total,
        "records_published": kept_records,
        "records_removed": int(enc.counts[dropped].sum()),
        "records_with_suppression": int(enc.counts[kept & (out < 0).any(axis=1)].sum()),
        "cells_suppressed": int(sum(suppressed_cells.values())),
        "k_achieved": int(sizes_after.min()) if len(sizes_after) else 0,
        "l_achieved": l_after,
        "search": search,
        "nodes_checked": checked,
        "information_loss": round(float(np.mean([v["information_loss"] for v in variables])), 4) if variables else 0.0,
        "variables": variables,
        "risk_before": {
            "sample_uniques": int(enc.counts[sizes_before.to_numpy() == 1].sum()),
            "records_below_k": int(enc.counts[before_bad].sum()),
            "share_below_2k": round(float(enc.counts[sizes_before.to_numpy() < 2 * k].sum() / total), 4)
            if total
            else 0.0,
        },
        "risk_after": {
            "share_below_2k": round(float((published["n"][sizes_after.to_numpy() < 2 * k]).sum() / kept_records), 4)
            if kept_records
            else 0.0,
            "max_individual_risk": round(1 / float(sizes_after.min()), 4) if len(sizes_after) else 0.0,
        },
    }
