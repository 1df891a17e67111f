"""Estimates from per-cell sufficient statistics equal the row-level estimates, and add up."""

import numpy as np
import pandas as pd
import pytest

from analytics.compute.cubes import add_stats, estimate, estimate_many, table_stats
from analytics.compute.estimates import indicator_proportions, means, proportions


@pytest.fixture
def frame():
    rng = np.random.default_rng(3)
    n = 4000
    cell = rng.integers(-1, 4, n)  # -1: outside the weighting
    data = pd.DataFrame(
        {
            "group": rng.choice(["a", "b", "c", None], n, p=[0.4, 0.3, 0.25, 0.05]),
            "answer": rng.choice(["x", "y", "z", None], n, p=[0.5, 0.3, 0.15, 0.05]),
            "item1": np.where(rng.random(n) < 0.9, rng.integers(0, 2, n), np.nan),
            "item2": np.where(rng.random(n) < 0.8, rng.integers(0, 2, n), np.nan),
            "score1": np.where(rng.random(n) < 0.9, rng.integers(1, 6, n), np.nan),
            "score2": np.where(rng.random(n) < 0.7, rng.integers(1, 6, n), np.nan),
        }
    )
    factors = {"c0": 0.7, "c1": 1.9, "c2": 0.4, "c3": 1.2}
    data["w"] = np.array([factors.get(f"c{c}", 0.0) for c in cell])
    return data, cell, factors


def _stats(data, cell, kind, columns):
    return table_stats(data, kind, columns, by="group", cells=cell, cell_labels=["c0", "c1", "c2", "c3"])


def _compare(ours, theirs, columns):
    merged = ours.merge(theirs, on=["group", "col"], suffixes=("", "_ref"))
    assert len(merged) == len(theirs)
    for column in columns:
        np.testing.assert_allclose(merged[column].astype(float), merged[f"{column}_ref"].astype(float), rtol=1e-9,
                                   atol=1e-12, equal_nan=True)  # fmt: skip


@pytest.mark.parametrize("weighted", [False, True])
def test_shares_equal_the_row_level_estimate(frame, weighted):
    data, cell, factors = frame
    rows = data[data["w"] > 0] if weighted else data
    ours = estimate(_stats(data, cell, "distribution", ["answer"]), "distribution", factors if weighted else None)
    theirs = proportions(rows, "answer", by=["group"], weight="w" if weighted else None).rename(
        columns={"category": "col"}
    )
    _compare(ours, theirs, ["n", "n_group", "estimate", "ci_low", "ci_high", "n_eff", "deff"])


@pytest.mark.parametrize("weighted", [False, True])
def test_indicator_shares_equal_the_row_level_estimate(frame, weighted):
    data, cell, factors = frame
    rows = data[data["w"] > 0] if weighted else data
    ours = estimate(_stats(data, cell, "multi", ["item1", "item2"]), "multi", factors if weighted else None)
    theirs = indicator_proportions(rows, ["item1", "item2"], by=["group"], weight="w" if weighted else None).rename(
        columns={"item": "col"}
    )
    _compare(ours, theirs, ["n", "n_group", "estimate", "ci_low", "ci_high", "n_eff", "deff"])


@pytest.mark.parametrize("weighted", [False, True])
def test_means_equal_the_row_level_estimate(frame, weighted):
    data, cell, factors = frame
    rows = data[data["w"] > 0] if weighted else data
    ours = estimate(_stats(data, cell, "mean", ["score1", "score2"]), "mean", factors if weighted else None)
    theirs = means(rows, ["score1", "score2"], by=["group"], weight="w" if weighted else None).rename(
        columns={"item": "col"}
    )
    _compare(ours, theirs, ["n", "estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "rank"])


def test_statistics_add_up_and_take_away(frame):
    data, cell, _factors = frame
    whole = _stats(data, cell, "mean", ["score1"])
    first, second = (
        _stats(data[:1500], cell[:1500], "mean", ["score1"]),
        _stats(data[1500:], cell[1500:], "mean", ["score1"]),
    )
    pd.testing.assert_frame_equal(add_stats((first, 1), (second, 1)), add_stats((whole, 1)), check_dtype=False)
    pd.testing.assert_frame_equal(add_stats((whole, 1), (second, -1)), add_stats((first, 1)), check_dtype=False)


@pytest.mark.parametrize("weighted", [False, True])
def test_many_tables_at_once_equal_one_at_a_time(frame, weighted):
    data, cell, factors = frame
    parts, one_by_one = [], []
    for name, kind, columns in (("d", "distribution", ["answer"]), ("m", "multi", ["item1", "item2"]),
                                ("s", "mean", ["score1", "score2"])):  # fmt: skip
        stats = _stats(data, cell, kind, columns)
        parts.append(stats.assign(table=name))
        one_by_one.append(estimate(stats, kind, factors if weighted else None).assign(table=name))
    together = estimate_many(pd.concat(parts, ignore_index=True), ["table"], {"s"}, factors if weighted else None)
    expected = pd.concat(one_by_one, ignore_index=True)
    merged = expected.merge(together, on=["table", "group", "col"], suffixes=("", "_many"))
    assert len(merged) == len(expected) == len(together)
    for column in ("n", "estimate", "ci_low", "ci_high", "n_eff", "deff"):
        np.testing.assert_allclose(merged[column].astype(float), merged[f"{column}_many"].astype(float), rtol=1e-12,
                                   equal_nan=True)  # fmt: skip
    means_part = merged[merged["table"] == "s"]
    assert (means_part["rank"].astype(int) == means_part["rank_many"].astype(int)).all()


def test_scores_given_as_answer_codes_count_as_numbers(frame):
    data, cell, _factors = frame
    as_text = data.assign(score1=data["score1"].map(lambda v: None if np.isnan(v) else str(int(v))))
    pd.testing.assert_frame_equal(_stats(as_text, cell, "mean", ["score1"]), _stats(data, cell, "mean", ["score1"]))
