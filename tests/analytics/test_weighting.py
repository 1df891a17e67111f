"""Raking to official margins: accuracy, agreement with independent implementations, refusals, bounds."""

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest

from analytics.compute.weighting import MarginError, kish, rake

# One margin as population totals, the others as shares: rake() normalises each to shares.
MARGINS = {
    "age": {"18-29": 300_000, "30-44": 450_000, "45+": 250_000},
    "sex": {"F": 0.52, "M": 0.48},
    "region": {"north": 0.25, "south": 0.25, "east": 0.3, "west": 0.2},
}


@pytest.fixture
def survey() -> pd.DataFrame:
    """400 respondents whose age, sex and region are related and far from the margins
    (unbounded raking gives weights from about 0.25 to 8.2), on an index that is not 0..n-1."""
    rng = np.random.default_rng(7)
    n = 400
    age = rng.choice(["18-29", "30-44", "45+"], n, p=[0.5, 0.3, 0.2])
    male = rng.random(n) < np.select([age == "18-29", age == "30-44"], [0.35, 0.5], 0.65)
    anywhere = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    region = np.where(rng.random(n) < 0.3, anywhere, np.where(age == "45+", "west", "north"))
    frame = pd.DataFrame({"age": age, "sex": np.where(male, "M", "F"), "region": region})
    return frame.set_axis(rng.permutation(n) + 1000)


def _shares(frame: pd.DataFrame, weights: np.ndarray, variable: str) -> pd.Series:
    return pd.Series(weights).groupby(frame[variable].to_numpy()).sum() / weights.sum()


def _target_shares(variable: str) -> pd.Series:
    targets = pd.Series(MARGINS[variable], dtype=float)
    return targets / targets.sum()


def test_it_reproduces_the_margins(survey):
    result = rake(survey, MARGINS, bounds=None)

    assert result.converged
    assert result.max_margin_error < 1e-6
    for variable in MARGINS:
        shares = _shares(survey, result.weights, variable)
        np.testing.assert_allclose(shares[_target_shares(variable).index], _target_shares(variable), atol=1e-6)


def test_weights_are_aligned_to_rows_and_sum_to_n(survey):
    result = rake(survey, MARGINS, bounds=None)
    shuffled = survey.sample(frac=1, random_state=3)

    again = rake(shuffled, MARGINS, bounds=None)

    assert result.weights.shape == (len(survey),)
    assert result.weights.sum() == pytest.approx(len(survey))
    by_label = pd.Series(result.weights, index=survey.index)
    np.testing.assert_allclose(again.weights, by_label[shuffled.index], rtol=1e-9)


def _samplics_rake(frame: pd.DataFrame, base: np.ndarray) -> np.ndarray:
    """samplics' raking (SampleWeight.rake, a loop of post-stratifications) to MARGINS, scaled to sum n."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # samplics warns on import that it is archived
        from samplics.weighting import SampleWeight

        n = len(frame)
        control = {v: (_target_shares(v) * n).to_dict() for v in MARGINS}
        domains = {v: frame[v].to_numpy() for v in MARGINS}
        weights = SampleWeight().rake(
            samp_weight=base, margins=domains, control=control, tol=1e-13, ctrl_tol=1e-13, max_iter=500
        )
    return weights * n / weights.sum()


def test_it_equals_samplics_raking(survey):
    reference = _samplics_rake(survey, np.ones(len(survey)))

    ours = rake(survey, MARGINS, bounds=None).weights

    np.testing.assert_allclose(ours, reference, atol=1e-6)


def test_it_equals_samplics_raking_with_base_weights(survey):
    base = np.random.default_rng(11).uniform(0.5, 3.0, len(survey))
    reference = _samplics_rake(survey, base)

    ours = rake(survey, MARGINS, base_weights=base, bounds=None).weights

    np.testing.assert_allclose(ours, reference, atol=1e-6)


def test_it_equals_weightipy_raking(survey):
    import weightipy

    scheme = weightipy.scheme_from_dict({v: _target_shares(v).to_dict() for v in MARGINS})
    with contextlib.redirect_stdout(io.StringIO()):  # weightipy prints its convergence notes
        reference = weightipy.weight(survey, scheme).to_numpy()

    ours = rake(survey, MARGINS, bounds=None).weights

    np.testing.assert_allclose(ours, reference * len(survey) / reference.sum(), atol=1e-6)


def test_it_refuses_an_impossible_margin(survey):
    margins = {**MARGINS, "region": {**MARGINS["region"], "abroad": 0.1}}

    with pytest.raises(MarginError, match=r"impossible margin region='abroad'"):
        rake(survey, margins)


def test_it_names_respondent_categories_the_margin_lacks(survey):
    margins = {**MARGINS, "region": {k: v for k, v in MARGINS["region"].items() if k != "east"}}
    east = int((survey["region"] == "east").sum())

    with pytest.raises(MarginError, match=rf"region='east': {east} respondents, not in the margin"):
        rake(survey, margins)


def test_it_refuses_respondents_in_a_category_with_a_zero_target(survey):
    margins = {**MARGINS, "sex": {"F": 1.0, "M": 0.0}}

    with pytest.raises(MarginError, match=r"sex='M': \d+ respondents but a target of zero"):
        rake(survey, margins)


def test_it_refuses_missing_values_in_a_raking_column(survey):
    survey.iloc[[3, 5], survey.columns.get_loc("sex")] = None

    with pytest.raises(MarginError, match=r"2 respondents have no value for raking variable 'sex'"):
        rake(survey, MARGINS)


@pytest.mark.parametrize("bad", [-0.1, float("nan")])
def test_it_refuses_negative_or_missing_targets(survey, bad):
    margins = {**MARGINS, "sex": {"F": 0.5, "M": bad}}

    with pytest.raises(MarginError, match=r"negative or missing targets: sex='M'"):
        rake(survey, margins)


def test_it_refuses_a_margin_on_a_column_the_frame_lacks(survey):
    with pytest.raises(MarginError, match=r"'education' is not a column"):
        rake(survey, {**MARGINS, "education": {"higher": 1.0}})


def test_totals_and_shares_give_the_same_weights(survey):
    as_shares = {v: _target_shares(v).to_dict() for v in MARGINS}

    np.testing.assert_allclose(rake(survey, MARGINS).weights, rake(survey, as_shares).weights, rtol=1e-9)


def test_bounds_hold_and_the_margins_are_still_met(survey):
    unbounded = rake(survey, MARGINS, bounds=None)
    assert unbounded.weight_min < 0.3 and unbounded.weight_max > 6  # so both bounds below bind

    result = rake(survey, MARGINS, bounds=(0.3, 6.0))

    mean = result.weights.mean()
    assert result.converged
    assert result.max_margin_error < 1e-6
    assert np.all(result.weights >= 0.3 * mean * (1 - 1e-12))
    assert np.all(result.weights <= 6.0 * mean * (1 + 1e-12))
    assert result.trimmed == int(np.isclose(result.weights, 0.3).sum() + np.isclose(result.weights, 6.0).sum())
    assert result.weights.min() == pytest.approx(0.3) and result.weights.max() == pytest.approx(6.0)


def test_bounds_apply_to_the_adjustment_of_the_base_weights(survey):
    base = np.random.default_rng(5).uniform(0.5, 2.0, len(survey))

    result = rake(survey, MARGINS, base_weights=base, bounds=(0.3, 6.0))

    adjustment = result.weights / (base * len(survey) / base.sum())
    assert result.converged
    assert result.max_margin_error < 1e-6
    assert adjustment.min() >= 0.3 * (1 - 1e-12)
    assert adjustment.max() <= 6.0 * (1 + 1e-12)


def test_bounds_that_cannot_be_met_are_reported_not_raised(survey):
    result = rake(survey, MARGINS, bounds=(0.5, 2.0), max_iter=50)

    assert not result.converged
    assert result.iterations == 50
    assert result.max_margin_error > 0.01


def test_the_convergence_report_describes_the_weights(survey):
    result = rake(survey, MARGINS, bounds=(0.3, 6.0))

    assert result.converged
    assert 0 < result.iterations <= 200
    assert result.n == len(survey)
    assert (result.weight_min, result.weight_max) == (result.weights.min(), result.weights.max())
    assert result.weight_ratio == pytest.approx(result.weight_max / result.weight_min)
    assert (result.n_eff, result.deff) == pytest.approx(kish(result.weights))
    assert result.deff > 1


def test_the_margins_report_has_a_row_per_category(survey):
    result = rake(survey, MARGINS, bounds=None)

    report = pd.DataFrame(result.margins_report)

    assert list(report.columns) == ["variable", "category", "target_share", "sample_share", "weighted_share", "n"]
    assert len(report) == sum(len(t) for t in MARGINS.values())
    north = report.set_index(["variable", "category"]).loc[("region", "north")]
    assert north["n"] == (survey["region"] == "north").sum()
    assert north["sample_share"] == pytest.approx(north["n"] / len(survey))
    assert north["target_share"] == pytest.approx(0.25)
    assert north["weighted_share"] == pytest.approx(0.25, abs=1e-9)


def test_kish_on_a_hand_example():
    # sum w = 8, sum w^2 = 1 + 1 + 4 + 16 = 22: n_eff = 64 / 22, deff = 4 / n_eff = 88 / 64.
    n_eff, deff = kish(np.array([1.0, 1.0, 2.0, 4.0]))

    assert n_eff == pytest.approx(64 / 22)
    assert deff == pytest.approx(1.375)


def test_kish_of_equal_weights_is_n():
    assert kish(np.full(10, 2.5)) == pytest.approx((10.0, 1.0))
