"""Weighted shares and means by group, with intervals checked against statsmodels and samplics."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analytics.compute.estimates import indicator_proportions, means, proportions, wilson_interval


@pytest.fixture
def answers() -> pd.DataFrame:
    """300 respondents in three cohorts: a destination, two 0/1 barriers and two 1-5 scores, each
    with some missing answers, and unequal weights."""
    rng = np.random.default_rng(42)
    n = 300
    frame = pd.DataFrame(
        {
            "cohort": rng.choice(["2019", "2020", "2021"], n, p=[0.5, 0.3, 0.2]),
            "destination": rng.choice(["DE", "RU", "US", "KR"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "visa": rng.integers(0, 2, n).astype(float),
            "cost": rng.integers(0, 2, n).astype(float),
            "pay": rng.integers(1, 6, n).astype(float),
            "housing": rng.integers(1, 6, n).astype(float),
            "w": rng.uniform(0.3, 3.0, n),
        }
    )
    for column in ["destination", "visa", "pay"]:
        frame.loc[rng.choice(n, 25, replace=False), column] = None
    return frame


def _samplics_mean(y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """samplics' Taylor-linearised weighted mean and its standard error (each respondent a PSU)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # samplics warns on import that it is archived
        from samplics.estimation import TaylorEstimator
        from samplics.utils.types import PopParam

        estimator = TaylorEstimator(PopParam.mean)
        estimator.estimate(y=y, samp_weight=w)
    return float(estimator.point_est), float(estimator.stderror)


def test_unweighted_intervals_are_the_wilson_interval_of_statsmodels(answers):
    result = proportions(answers, "destination", ["cohort"], None)

    low, high = proportion_confint(result["n"], result["n_group"], alpha=0.05, method="wilson")
    np.testing.assert_allclose(result["ci_low"], low, atol=1e-12)
    np.testing.assert_allclose(result["ci_high"], high, atol=1e-12)
    np.testing.assert_allclose(result["estimate"], result["n"] / result["n_group"], rtol=1e-12)
    assert (result["n_eff"] == result["n_group"]).all()


def test_the_level_sets_the_interval(answers):
    result = proportions(answers, "destination", None, None, level=0.90)

    low, high = proportion_confint(result["n"], result["n_group"], alpha=0.10, method="wilson")
    np.testing.assert_allclose(result["ci_low"], low, atol=1e-12)
    np.testing.assert_allclose(result["ci_high"], high, atol=1e-12)


def test_wilson_bounds_are_exact_at_zero_and_one():
    low, high = wilson_interval(np.array([0.0, 1.0]), np.array([12.0, 12.0]))

    assert low[0] == 0.0 and high[1] == 1.0
    assert high[0] == pytest.approx(stats.norm.ppf(0.975) ** 2 / (12 + stats.norm.ppf(0.975) ** 2))


def test_proportions_have_a_row_for_every_group_and_category(answers):
    answers.loc[(answers["cohort"] == "2021") & (answers["destination"] == "KR"), "destination"] = "DE"

    result = proportions(answers, "destination", ["cohort"], "w")

    assert list(result.columns) == [
        "cohort",
        "category",
        "n",
        "n_group",
        "estimate",
        "ci_low",
        "ci_high",
        "n_eff",
        "deff",
    ]
    assert len(result) == 3 * 4
    empty = result.set_index(["cohort", "category"]).loc[("2021", "KR")]
    assert empty["n"] == 0 and empty["estimate"] == 0 and empty["ci_low"] == 0 and empty["ci_high"] > 0


def test_weighted_proportions_use_the_weights_and_kish_n(answers):
    result = proportions(answers, "destination", ["cohort"], "w").set_index(["cohort", "category"])

    group = answers[(answers["cohort"] == "2020") & answers["destination"].notna()]
    w = group["w"].to_numpy()
    n_eff = w.sum() ** 2 / (w**2).sum()
    row = result.loc[("2020", "RU")]
    assert row["estimate"] == pytest.approx(w[group["destination"] == "RU"].sum() / w.sum(), rel=1e-12)
    assert row["n"] == (group["destination"] == "RU").sum()
    assert row["n_group"] == len(group)
    assert row["n_eff"] == pytest.approx(n_eff, rel=1e-12)
    assert row["deff"] == pytest.approx(len(group) / n_eff, rel=1e-12)
    # Korn-Graubard style: the Wilson interval of the weighted share with n_eff in place of n.
    low, high = proportion_confint(row["estimate"] * n_eff, n_eff, alpha=0.05, method="wilson")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-12)


def test_the_interval_widens_when_the_weights_vary():
    # The same share (1/2) from 8 answers; uneven weights (1, 1, 3, 3) leave n_eff = 6.4 of 8.
    frame = pd.DataFrame({"answer": ["yes", "no"] * 4, "w": [1.0, 1.0, 3.0, 3.0] * 2})
    even = proportions(frame, "answer", None, None).set_index("category").loc["yes"]
    uneven = proportions(frame.assign(weight=frame["w"]), "answer", None, "weight").set_index("category").loc["yes"]

    assert even["estimate"] == uneven["estimate"] == 0.5
    assert uneven["n_eff"] == pytest.approx(6.4)
    assert uneven["ci_high"] - uneven["ci_low"] > even["ci_high"] - even["ci_low"]


def test_missing_answers_and_missing_groups_are_left_out(answers):
    answers.loc[answers.index[:10], "cohort"] = None

    result = proportions(answers, "destination", ["cohort"], None)

    counted = answers["cohort"].notna() & answers["destination"].notna()
    assert result.groupby("cohort")["n_group"].first().sum() == counted.sum()
    assert result["n"].sum() == counted.sum()


def test_indicator_proportions_give_the_share_choosing_each_option(answers):
    result = indicator_proportions(answers, ["visa", "cost"], ["cohort"], "w")

    assert list(result.columns) == ["cohort", "item", "n", "n_group", "estimate", "ci_low", "ci_high", "n_eff", "deff"]
    row = result.set_index(["cohort", "item"]).loc[("2019", "visa")]
    group = answers[(answers["cohort"] == "2019") & answers["visa"].notna()]
    w = group["w"].to_numpy()
    assert row["n"] == (group["visa"] == 1).sum()
    assert row["n_group"] == len(group)  # only those who answered this item
    assert row["estimate"] == pytest.approx((w * group["visa"]).sum() / w.sum(), rel=1e-12)
    assert row["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)


def test_indicator_columns_must_be_zero_or_one(answers):
    answers.loc[0, "visa"] = 2

    with pytest.raises(ValueError, match="'visa' must hold only 0, 1 or missing"):
        indicator_proportions(answers, ["visa"], None, None)


def test_weighted_means_equal_samplics_taylor_linearisation(answers):
    result = means(answers, ["pay", "housing"], ["cohort"], "w").set_index(["cohort", "item"])

    for (cohort, item), row in result.iterrows():
        group = answers[(answers["cohort"] == cohort) & answers[item].notna()]
        point, se = _samplics_mean(group[item].to_numpy(), group["w"].to_numpy())
        assert row["estimate"] == pytest.approx(point, abs=1e-9)
        assert row["se"] == pytest.approx(se, abs=1e-9)
        assert row["n"] == len(group)


def test_unweighted_means_equal_the_sample_mean_and_its_standard_error(answers):
    result = means(answers, ["pay"], None, None).iloc[0]

    pay = answers["pay"].dropna()
    assert result["estimate"] == pytest.approx(pay.mean(), abs=1e-12)
    assert result["se"] == pytest.approx(pay.std(ddof=1) / np.sqrt(len(pay)), abs=1e-12)
    assert result["n_eff"] == len(pay) and result["deff"] == pytest.approx(1.0)


def test_mean_intervals_use_t_on_n_eff_minus_one(answers):
    result = means(answers, ["pay", "housing"], ["cohort"], "w")

    t = stats.t.ppf(0.975, result["n_eff"] - 1)
    np.testing.assert_allclose(result["ci_low"], result["estimate"] - t * result["se"], rtol=1e-12)
    np.testing.assert_allclose(result["ci_high"], result["estimate"] + t * result["se"], rtol=1e-12)
    assert list(result.columns) == [
        "cohort", "item", "n", "estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "rank",
    ]  # fmt: skip


def test_means_rank_items_within_each_group_highest_first():
    frame = pd.DataFrame(
        {"g": ["a", "a", "b", "b"], "pay": [5.0, 4.0, 1.0, 2.0], "housing": [2.0, 2.0, 3.0, 3.0], "visa": [3.0] * 4}
    )

    result = means(frame, ["pay", "housing", "visa"], ["g"], None).set_index(["g", "item"])["rank"]

    assert result.loc["a"].to_dict() == {"pay": 1, "housing": 3, "visa": 2}
    assert result.loc["b"].to_dict() == {"pay": 3, "housing": 1, "visa": 1}


def test_missing_scores_are_left_out_per_item():
    frame = pd.DataFrame({"pay": [1.0, np.nan, 3.0], "housing": [np.nan, 4.0, 4.0]})

    result = means(frame, ["pay", "housing"], None, None).set_index("item")

    assert result.loc["pay", "n"] == 2 and result.loc["pay", "estimate"] == 2.0
    assert result.loc["housing", "n"] == 2 and result.loc["housing", "estimate"] == 4.0


def test_a_lone_answer_has_a_mean_but_no_interval():
    result = means(pd.DataFrame({"pay": [4.0]}), ["pay"], None, None).iloc[0]

    assert result["estimate"] == 4.0
    assert np.isnan(result["se"]) and np.isnan(result["ci_low"])


def test_missing_weights_are_refused(answers):
    answers.loc[3, "w"] = np.nan

    with pytest.raises(ValueError, match="weight column 'w'"):
        proportions(answers, "destination", None, "w")
