"""Months served from episodes: overlaps, gaps, open episodes, regions (the 2022 split),
deferrals, exemptions; and properties that hold for any episodes (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diaspora import obligation_time as ot

D = dt.date
BOLASHAK = ot.Rule(months_required=60, window_months=96, grace_months=6)
SERPIN = ot.Rule(
    months_required=24, window_months=36, grace_months=3,
    regions=ot.rule_territory(["KZ-63", "KZ-59", "KZ-55"], D(2019, 1, 1)),  # adopted before the split
)  # fmt: skip
START = D(2020, 7, 1)


def job(start, end, *, country="KAZ", region="", related=None, tier=ot.TIER_SELF_REPORT, key=None):
    return ot.Span(ot.EMPLOYMENT, start, end, country, region, related, tier, key or (start, end, country, region))


def test_overlapping_episodes_count_once_and_gaps_not_at_all():
    spans = [
        job(D(2021, 1, 1), D(2021, 12, 31)),
        job(D(2021, 6, 1), D(2022, 5, 31)),
        job(D(2023, 1, 1), D(2023, 1, 31)),
    ]
    result = ot.standing(BOLASHAK, START, spans, today=D(2024, 1, 1))
    assert result.served_days == (D(2022, 5, 31) - D(2021, 1, 1)).days + 1 + 31
    assert result.status == ot.PENDING_RETURN and "back since 2021-01-01" in result.reason


def test_an_open_episode_runs_to_today_and_makes_the_person_in_service():
    result = ot.standing(BOLASHAK, START, [job(D(2021, 1, 1), None)], today=D(2021, 1, 31))
    assert result.served_days == 31
    assert result.status == ot.IN_SERVICE
    assert result.months_served == pytest.approx(31 / (result.required_days / 60), abs=0.01)


def test_work_before_the_obligation_or_abroad_or_a_residence_does_not_count():
    spans = [
        job(D(2019, 1, 1), D(2020, 6, 30), key="before"),
        job(D(2021, 1, 1), D(2021, 12, 31), country="DEU", key="abroad"),
        ot.Span(ot.RESIDENCE, D(2021, 1, 1), None, "KAZ", key="home"),
    ]
    result = ot.standing(BOLASHAK, START, spans, today=D(2022, 1, 1))
    assert result.served_days == 0
    assert result.excluded == {
        "before": "outside the obligation window",
        "abroad": "work in DEU, not in KAZ",
        "home": "residence, not work",
    }
    assert result.returned_on == D(2021, 1, 1)  # the residence shows the return


def test_fulfilled_once_the_months_are_served():
    result = ot.standing(ot.Rule(12, 24), START, [job(D(2020, 7, 1), None)], today=D(2021, 7, 1))
    assert result.status == ot.FULFILLED and result.months_owed == 0 and result.deadline is None
    assert result.fulfilled_on == D(2021, 6, 30)  # twelve calendar months from 2020-07-01


def test_breached_when_the_window_closes_with_months_owed():
    result = ot.standing(ot.Rule(12, 24), START, [job(D(2020, 7, 1), D(2020, 12, 31))], today=D(2022, 7, 1))
    assert result.window_end == D(2022, 6, 30)
    assert result.status == ot.BREACHED and "2022-06-30" in result.reason


def test_at_risk_when_the_rest_of_the_window_cannot_cover_the_months_owed():
    rule = ot.Rule(12, 24, grace_months=6)
    ok = ot.standing(rule, START, [], today=D(2021, 1, 1))
    # 12 months from 2020-07-01 are 365 days; the window ends on 2022-06-30
    assert ok.status == ot.PENDING_RETURN and ok.deadline == D(2021, 7, 1)
    assert not any("cannot cover" in risk for risk in ok.risks)
    late = ot.standing(rule, START, [], today=D(2021, 9, 1))
    assert late.at_risk and any("cannot cover" in risk for risk in late.risks)
    assert any("grace period" in risk for risk in late.risks)


def test_regions_and_the_2022_split():
    # Before the split East Kazakhstan (KZ-63) covered what is now Abai (KZ-10): a rule adopted
    # then covers both; an Abai job counts, a Karaganda one does not.
    assert {"KZ-63", "KZ-10"} <= SERPIN.regions
    spans = [job(D(2023, 1, 1), D(2023, 12, 31), region="KZ-10", key="abai"),
             job(D(2024, 1, 1), D(2024, 3, 31), region="KZ-35", key="karaganda"),
             job(D(2024, 4, 1), D(2024, 4, 30), key="unknown")]  # fmt: skip
    result = ot.standing(SERPIN, D(2022, 7, 1), spans, today=D(2025, 1, 1))
    assert result.counted == ["abai"]
    assert result.excluded["karaganda"] == "KZ-35 is not a qualifying region"
    assert result.excluded["unknown"] == "the region is not known and the rule names regions"
    # A rule adopted after the split names East Kazakhstan only: Abai is not in it ...
    after = ot.Rule(24, 36, regions=ot.rule_territory(["KZ-63"], D(2023, 1, 1)))
    assert ot.standing(after, D(2022, 7, 1), spans[:1], today=D(2025, 1, 1)).served_days == 0
    # ... and a pre-split episode recorded in the parent region covers both halves: it fits a
    # rule that covers both, not one that names the new region only.
    old_episode = [job(D(2021, 1, 1), D(2021, 12, 31), region="KZ-VOS")]  # the letter code of the time
    assert ot.standing(SERPIN, D(2020, 7, 1), old_episode, today=D(2022, 1, 1)).served_days == 365
    abai_only = ot.Rule(12, 36, regions=ot.rule_territory(["KZ-10"], D(2023, 1, 1)))
    assert ot.standing(abai_only, D(2020, 7, 1), old_episode, today=D(2022, 1, 1)).served_days == 0


def test_specialty_required():
    rule = ot.Rule(12, 24, specialty_required=True)
    spans = [job(D(2021, 1, 1), D(2021, 1, 31), related=True, key="in"),
             job(D(2021, 2, 1), D(2021, 2, 28), related=False, key="out"),
             job(D(2021, 3, 1), D(2021, 3, 31), key="unknown")]  # fmt: skip
    result = ot.standing(rule, START, spans, today=D(2022, 1, 1))
    assert result.counted == ["in"] and result.served_days == 31


def test_a_deferral_lengthens_the_window_and_is_the_status_while_it_lasts():
    rule = ot.Rule(12, 24)
    pause = ot.Pause("deferral", D(2021, 1, 1), D(2021, 12, 31))
    during = ot.standing(rule, START, [], [pause], today=D(2021, 6, 1))
    assert during.status == ot.DEFERRED
    after = ot.standing(rule, START, [], [pause], today=D(2022, 6, 1))
    assert after.window_end == D(2022, 6, 30) + dt.timedelta(days=365)
    assert after.status == ot.PENDING_RETURN


def test_exemption_and_waiver_but_fulfilment_comes_first():
    assert (
        ot.standing(ot.Rule(12, 24), START, [], [ot.Pause("exemption", D(2021, 1, 1))], today=D(2023, 1, 1)).status
        == ot.EXEMPT
    )
    assert (
        ot.standing(ot.Rule(12, 24), START, [], [ot.Pause("waiver", D(2021, 1, 1))], today=D(2023, 1, 1)).status
        == ot.WAIVED
    )
    served = [job(D(2020, 7, 1), D(2021, 12, 31))]
    assert (
        ot.standing(ot.Rule(12, 24), START, served, [ot.Pause("waiver", D(2022, 1, 1))], today=D(2023, 1, 1)).status
        == ot.FULFILLED
    )


def test_the_basis_tier_is_the_evidence_behind_the_status():
    spans = [job(D(2021, 1, 1), None, tier=ot.TIER_EMPLOYER, key="confirmed"), job(D(2021, 1, 1), None, key="said")]
    assert ot.standing(BOLASHAK, START, spans, today=D(2022, 1, 1)).basis_tier == ot.TIER_EMPLOYER
    assert ot.standing(BOLASHAK, START, [], today=D(2022, 1, 1)).basis_tier == 0


def test_no_verified_episode_for_months_is_a_risk():
    said = [job(D(2021, 1, 1), None)]
    assert (
        "no verified episode in the last 12 months"
        in ot.standing(BOLASHAK, START, said, today=D(2022, 6, 1), unverified_months=12).risks
    )
    confirmed = [job(D(2021, 1, 1), None, tier=ot.TIER_EMPLOYER)]
    assert not ot.standing(BOLASHAK, START, confirmed, today=D(2022, 6, 1), unverified_months=12).risks


# --------------------------------------------------------------------------- properties

DAY0 = D(2018, 1, 1)
days = st.integers(min_value=0, max_value=3000)
regions = st.sampled_from(["", "KZ-63", "KZ-10", "KZ-55", "KZ-35", "KZ-75"])


@st.composite
def spans(draw, index=0):
    start = DAY0 + dt.timedelta(days=draw(days))
    end = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=900)))
    return ot.Span(
        kind=draw(st.sampled_from([ot.EMPLOYMENT, ot.EMPLOYMENT, ot.RESIDENCE])),
        start=start,
        end=None if end is None else start + dt.timedelta(days=end),
        country=draw(st.sampled_from(["KAZ", "KAZ", "KAZ", "DEU"])),
        region=draw(regions),
        specialty_related=draw(st.sampled_from([True, False, None])),
        tier=draw(st.integers(min_value=1, max_value=4)),
        key=draw(st.uuids()),
    )


rules = st.sampled_from([BOLASHAK, SERPIN, ot.Rule(12, 24, specialty_required=True), ot.Rule(6, 6)])
starts = st.builds(lambda n: DAY0 + dt.timedelta(days=n), st.integers(min_value=0, max_value=2000))
todays = st.builds(lambda n: DAY0 + dt.timedelta(days=n), st.integers(min_value=0, max_value=4000))


def brute_force(rule, start, spans, today, window_end):
    covered = set()
    for span in spans:
        if ot.qualifies(span, rule):
            continue
        day = max(span.start, start)
        last = min(span.end or today, today, window_end)
        while day <= last:
            covered.add(day)
            day += dt.timedelta(days=1)
    return len(covered)


@settings(max_examples=300, deadline=None)
@given(rules, starts, st.lists(spans(), max_size=8), todays)
def test_months_served_are_the_union_of_qualifying_intervals_and_never_exceed_the_window(rule, start, items, today):
    result = ot.standing(rule, start, items, today=today)
    assert result.served_days == brute_force(rule, start, items, today, result.window_end)
    assert result.served_days <= result.window_days
    assert result.months_served <= round(result.window_days / result.month_days, 2)


@settings(max_examples=300, deadline=None)
@given(rules, starts, st.lists(spans(), max_size=6), spans(), todays)
def test_adding_an_episode_never_lowers_months_served(rule, start, items, extra, today):
    before = ot.standing(rule, start, items, today=today).served_days
    after = ot.standing(rule, start, [*items, extra], today=today).served_days
    assert after >= before


@settings(max_examples=200, deadline=None)
@given(rules, starts, st.lists(spans(), max_size=6), todays)
def test_the_order_of_episodes_does_not_matter(rule, start, items, today):
    forward = ot.standing(rule, start, items, today=today)
    backward = ot.standing(rule, start, list(reversed(items)), today=today)
    assert (forward.served_days, forward.status) == (backward.served_days, backward.status)


def test_whole_calendar_years_fulfil_whole_years_of_obligation():
    # Five years of work from the first day, in a window of exactly five years.
    five = ot.Rule(60, 60)
    assert (
        ot.standing(five, D(2021, 1, 1), [job(D(2021, 1, 1), D(2025, 12, 31))], today=D(2026, 3, 1)).status
        == ot.FULFILLED
    )
    one = ot.standing(ot.Rule(12, 12), D(2021, 1, 1), [job(D(2021, 1, 1), D(2021, 12, 31))], today=D(2022, 3, 1))
    assert one.status == ot.FULFILLED and one.months_served == 12


def test_a_deferral_before_the_start_does_not_lengthen_the_window():
    pause = ot.Pause("deferral", D(2019, 1, 1), D(2020, 12, 31))
    result = ot.standing(ot.Rule(12, 24), START, [], [pause], today=D(2023, 1, 1))
    assert result.window_end == D(2022, 6, 30) + dt.timedelta(days=(D(2020, 12, 31) - START).days + 1)


def test_an_episode_across_the_2022_split_is_judged_on_each_side():
    # A rule adopted after the split names East Kazakhstan only: a job there since 2021 counts from the split on.
    after = ot.Rule(24, 60, regions=ot.rule_territory(["KZ-63"], D(2023, 1, 1)))
    result = ot.standing(after, D(2021, 1, 1), [job(D(2021, 1, 1), None, region="KZ-63")], today=D(2023, 6, 7))
    assert result.served_days == (D(2023, 6, 7) - D(2022, 6, 8)).days + 1


def test_a_planned_return_is_not_a_return():
    home = [ot.Span(ot.RESIDENCE, D(2024, 9, 1), None, "KAZ", key="planned")]
    result = ot.standing(ot.Rule(12, 24, grace_months=3), D(2023, 6, 30), home, today=D(2024, 1, 1))
    assert result.returned_on is None and any("grace period" in risk for risk in result.risks)
