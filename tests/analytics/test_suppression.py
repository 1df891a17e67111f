"""Small-cell suppression: primary threshold, secondary by lines, the exact audit, and a property
test that checks every suppressed entry with linear programs (independently of the module)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from analytics.compute.estimates import proportions
from analytics.compute.suppression import TOTAL, publishable, recoverable_cells, suppress


def _table(rows: dict[str, list[int]], cols: str = "xyz") -> pd.DataFrame:
    """Cells of a table given as {row label: counts by column}."""
    return pd.DataFrame([(r, c, n) for r, counts in rows.items() for c, n in zip(cols, counts, strict=True)],
                        columns=["g", "c", "n"])  # fmt: skip


def _flags(table) -> dict[tuple[str, str], str]:
    """The suppressed cells and margins of a result: {(row, col): reason}, TOTAL for margins."""
    flags = {(r.g, r.c): r.reason for r in table.cells.itertuples() if r.suppressed}
    if table.row_totals is not None:
        flags |= {(r.g, TOTAL): r.reason for r in table.row_totals.itertuples() if r.suppressed}
    if table.col_totals is not None:
        flags |= {(TOTAL, r.c): r.reason for r in table.col_totals.itertuples() if r.suppressed}
    if table.grand_total is not None and table.grand_total.suppressed:
        flags[(TOTAL, TOTAL)] = table.grand_total.reason
    return flags


def _lp_ranges(table) -> dict[tuple, float]:
    """For every suppressed cell and margin: max - min of its value over all non-negative tables
    that agree with every published cell and margin (scipy linprog, HiGHS); inf when unbounded."""
    cells = table.cells
    unknown = cells.loc[cells["suppressed"], ["g", "c"]].apply(tuple, axis=1).tolist()

    def over_unknowns(in_line) -> np.ndarray:
        return np.array([1.0 if in_line(g, c) else 0.0 for g, c in unknown])

    def known_sum(in_line) -> int:
        mask = ~cells["suppressed"].to_numpy() & np.array(
            [in_line(g, c) for g, c in zip(cells["g"], cells["c"], strict=True)]
        )
        return int(cells.loc[mask, "n"].sum())

    lines = {}  # every margin (published or not) as (which cells it sums, its value, published?)
    if table.row_totals is not None:
        for r in table.row_totals.itertuples():
            lines[(r.g, TOTAL)] = ((lambda g, c, row=r.g: g == row), r.n, not r.suppressed)
    if table.col_totals is not None:
        for r in table.col_totals.itertuples():
            lines[(TOTAL, r.c)] = ((lambda g, c, col=r.c: c == col), r.n, not r.suppressed)
    if table.grand_total is not None:
        grand = table.grand_total
        lines[(TOTAL, TOTAL)] = ((lambda g, c: True), grand.n, not grand.suppressed)
    equations = [(over_unknowns(f), n - known_sum(f)) for f, n, published in lines.values() if published]
    a_eq = np.array([a for a, _ in equations]) if equations else None
    b_eq = np.array([b for _, b in equations]) if equations else None

    def value_range(objective: np.ndarray) -> float:
        if not objective.any():
            return 0.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert low.status == 0, low.message  # the true table is always feasible
        return np.inf if high.status == 3 else -high.fun - low.fun

    ranges = {key: value_range(np.eye(len(unknown))[i]) for i, key in enumerate(unknown)}
    ranges |= {key: value_range(over_unknowns(f)) for key, (f, _, published) in lines.items() if not published}
    return ranges


def test_cells_below_the_public_threshold_are_suppressed():
    cells = _table({"all": [3, 7, 12, 40]}, cols="wxyz")

    table = suppress(cells, row="g", col="c", threshold=10, publish_col_totals=False)

    assert _flags(table) == {("all", "w"): "primary", ("all", "x"): "primary"}
    assert (table.n_primary, table.n_secondary) == (2, 0)


def test_the_threshold_is_a_parameter():
    cells = _table({"all": [3, 7, 12, 40]}, cols="wxyz")

    table = suppress(cells, row="g", col="c", threshold=5, publish_col_totals=False)

    assert _flags(table) == {("all", "w"): "primary", ("all", "x"): "secondary"}


def test_zero_cells_are_published_and_never_chosen_as_complements():
    cells = _table({"all": [0, 3, 20, 25]}, cols="wxyz")

    table = suppress(cells, row="g", col="c", threshold=10, publish_col_totals=False)

    assert _flags(table) == {("all", "x"): "primary", ("all", "y"): "secondary"}


def test_a_row_with_one_small_cell_gets_a_second_suppression():
    cells = _table({"A": [3, 20, 30], "B": [15, 25, 40], "C": [12, 14, 50]})

    table = suppress(cells, row="g", col="c", threshold=10)

    row_a = {key for key in _flags(table) if key[0] == "A"}
    assert ("A", "x") in row_a and len(row_a) >= 2
    assert ("A", "y") in row_a  # the smaller published cell of the row


def test_a_column_with_one_small_cell_gets_a_second_suppression():
    cells = _table({"A": [30, 20, 3], "B": [40, 25, 15], "C": [50, 14, 12]})

    table = suppress(cells, row="g", col="c", threshold=10)

    column_z = {key for key in _flags(table) if key[1] == "z"}
    assert ("A", "z") in column_z and ("C", "z") in column_z  # the smallest published cell of the column


def test_secondary_suppression_closes_a_rectangle():
    cells = _table({"A": [3, 20, 30], "B": [15, 25, 40], "C": [12, 14, 50]})

    table = suppress(cells, row="g", col="c", threshold=10)

    assert _flags(table) == {("A", "x"): "primary", ("A", "y"): "secondary", ("C", "x"): "secondary",
                             ("C", "y"): "secondary"}  # fmt: skip
    assert recoverable_cells(table) == set()


def test_a_margin_below_the_threshold_is_suppressed_with_a_partner():
    cells = _table({"A": [2, 3, 0], "B": [15, 25, 40], "C": [12, 14, 50]})

    table = suppress(cells, row="g", col="c", threshold=10)

    flags = _flags(table)
    assert flags[("A", TOTAL)] == "primary"
    assert flags[("A", "x")] == flags[("A", "y")] == "primary"
    assert sum(1 for key in flags if key[1] == TOTAL and key[0] != TOTAL) >= 2  # the row totals' line
    assert recoverable_cells(table) == set()


def test_missing_combinations_are_zero_cells():
    cells = pd.DataFrame({"g": ["A", "A", "B"], "c": ["x", "y", "x"], "n": [12, 30, 25]})

    table = suppress(cells, row="g", col="c", threshold=10)

    assert len(table.cells) == 4
    assert table.cells.set_index(["g", "c"]).loc[("B", "y"), "n"] == 0
    assert not table.cells["suppressed"].any()


def test_duplicate_cells_are_refused():
    cells = pd.DataFrame({"g": ["A", "A"], "c": ["x", "x"], "n": [12, 30]})

    with pytest.raises(ValueError, match="one row per"):
        suppress(cells, row="g", col="c", threshold=10)


def test_the_audit_finds_a_cell_that_every_line_hides_but_subtraction_recovers():
    # Two suppressed rectangles joined by one suppressed cell (B, y): every line holds 0 or 2+
    # suppressed entries, yet rows A+B minus columns w+x isolates (B, y).
    counts = {"A": [20, 21, 22, 23], "B": [24, 25, 26, 27], "C": [28, 29, 30, 31], "D": [32, 33, 34, 35]}
    clean = suppress(_table(counts, cols="wxyz"), row="g", col="c", threshold=1)
    hidden = {
        ("A", "w"),
        ("A", "x"),
        ("B", "w"),
        ("B", "x"),
        ("C", "y"),
        ("C", "z"),
        ("D", "y"),
        ("D", "z"),
        ("B", "y"),
    }
    flagged = clean.cells.assign(
        suppressed=[(g, c) in hidden for g, c in zip(clean.cells.g, clean.cells.c, strict=True)]
    )
    table = dataclasses.replace(clean, cells=flagged)

    assert recoverable_cells(table) == {("B", "y")}
    assert _lp_ranges(table)[("B", "y")] == pytest.approx(0, abs=1e-9)


def test_publishable_blanks_suppressed_counts_and_the_rates_of_suppressed_groups():
    frame = pd.DataFrame(
        {
            "cohort": ["2019"] * 60 + ["2020"] * 6 + ["2021"] * 62,
            "answer": ["yes"] * 40 + ["no"] * 17 + ["maybe"] * 3 + ["yes"] * 4 + ["no"] * 2
            + ["yes"] * 30 + ["no"] * 20 + ["maybe"] * 12,
        }
    )  # fmt: skip
    estimates = proportions(frame, "answer", ["cohort"], None)
    table = suppress(estimates, row="cohort", col="category", threshold=10)

    published = publishable(estimates, table)

    hidden_groups = set(table.row_totals.loc[table.row_totals["suppressed"], "cohort"])
    assert "2020" in hidden_groups  # its total, 6, is below the threshold
    for before, after, cell in zip(
        estimates.itertuples(), published.itertuples(), table.cells.itertuples(), strict=True
    ):
        assert after.suppressed == cell.suppressed
        assert pd.isna(after.n) if cell.suppressed else after.n == before.n
        rates_hidden = cell.suppressed or after.cohort in hidden_groups
        assert pd.isna(after.estimate) and pd.isna(after.ci_low) if rates_hidden else after.estimate == before.estimate
        assert pd.isna(after.n_group) and pd.isna(after.n_eff) if after.cohort in hidden_groups else after.n_group > 0
    kept = published.set_index(["cohort", "category"]).loc[("2021", "no")]
    assert (kept["n"], kept["n_group"], kept["estimate"]) == (20, 62, pytest.approx(20 / 62))
    assert str(published["n"].dtype) == "Int64"


def test_publishable_blanks_estimates_without_a_cell_in_the_table():
    estimates = pd.DataFrame({"g": ["A", "B"], "c": ["x", "x"], "n": [40, 50], "estimate": [0.4, 0.5]})
    table = suppress(estimates[estimates["g"] == "A"], row="g", col="c", threshold=10)

    published = publishable(estimates, table).set_index("g")

    assert pd.isna(published.loc["B", "estimate"]) and published.loc["B", "suppressed"]
    assert published.loc["A", "estimate"] == 0.4


@st.composite
def tables(draw) -> tuple[pd.DataFrame, int, dict[str, bool]]:
    """Random tables of 1..6 x 1..6 counts in 0..30 (often small), a threshold of 3..10, the
    margins published or not, and zero cells sometimes left out of the frame."""
    n_rows, n_cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    count = st.one_of(st.integers(0, 30), st.integers(0, 6))
    counts = draw(st.lists(count, min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    cells = pd.DataFrame(
        [(f"r{i}", f"c{j}", counts[i * n_cols + j]) for i in range(n_rows) for j in range(n_cols)],
        columns=["g", "c", "n"],
    )
    if draw(st.booleans()):
        cells = cells[cells["n"] > 0] if (cells["n"] > 0).any() else cells
    publish = dict(
        zip(
            ["publish_row_totals", "publish_col_totals", "publish_grand_total"],
            draw(st.tuples(st.booleans(), st.booleans(), st.booleans())),
            strict=True,
        )
    )
    return cells, draw(st.integers(3, 10)), publish


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_small_count_is_published_or_recoverable(case):
    cells, threshold, publish = case

    table = suppress(cells, row="g", col="c", threshold=threshold, **publish)

    published = [table.cells.loc[~table.cells["suppressed"], "n"]]
    published += [t.loc[~t["suppressed"], "n"] for t in (table.row_totals, table.col_totals) if t is not None]
    if table.grand_total is not None and not table.grand_total.suppressed:
        published.append(pd.Series([table.grand_total.n]))
    values = pd.concat(published)
    assert not ((values > 0) & (values < threshold)).any()
    assert not (table.cells["suppressed"] & (table.cells["n"] == 0)).any()  # zeros stay published
    assert recoverable_cells(table) == set()
    ranges = _lp_ranges(table)
    assert all(spread > 1e-6 for spread in ranges.values()), {k: v for k, v in ranges.items() if v <= 1e-6}


def test_forced_cells_are_hidden_with_their_column_total_and_stay_unrecoverable():
    # The whole-sample table hides column "y": every breakdown hides its cells of "y" as well.
    cells = _table({"a": [40, 30, 25], "b": [35, 22, 41], "c": [50, 18, 33]})
    cells["force"] = cells["c"] == "y"
    table = suppress(cells, row="g", col="c", threshold=10, force="force")
    flags = _flags(table)
    assert {key for key, reason in flags.items() if reason == "linked"} == {
        ("a", "y"),
        ("b", "y"),
        ("c", "y"),
        (TOTAL, "y"),
    }
    assert recoverable_cells(table) == set()
    assert all(width > 0 for width in _lp_ranges(table).values())
