"""The fees of one solution (twin_model.firm.fees) against hand-worked and published cases.

Every expected number is worked by hand in the comment beside it, or comes from an
independent formula (a product of daily factors against the sum of daily fees)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from twin_model.calendar import business_days
from twin_model.conventions import CrystallisationFrequency, HurdleKind
from twin_model.firm import CashRate, FeeState, FeeTerms, advance_fees

D = dt.date


def _state(day, gav=100.0, accrued=0.0, hwm=100.0, units=1.0, hurdle_return=0.0, period_start=None) -> FeeState:
    return FeeState(day, units, gav, accrued, hwm, hurdle_return, period_start or D(day.year, 1, 1))


def _path(terms, state, steps):
    """(day, gross return, flow) steps -> [(state, figures)]."""
    out = []
    for day, r, flow in steps:
        state, figures = advance_fees(terms, state, day, r, flow)
        out.append((state, figures))
    return out


# --------------------------------------------------------------------------- the golden case


def test_golden_case_hwm_100_gav_120_at_20_percent_crystallises_4_per_unit():
    # 2023-12-29 (Friday) is the last business day on or before 31 December 2023 (a Sunday).
    terms = FeeTerms(performance_fee=0.2)
    new, day = advance_fees(terms, _state(D(2023, 12, 28), units=10.0), D(2023, 12, 29), 0.20)
    # GAV = 100 x 1.2 = 120; A = 0.2 x (120 - 100) = 4; NAV = 116; paid: 4 x 10 units = 40
    assert day.crystallised_fee == pytest.approx(40.0, abs=1e-12)
    assert day.performance_fee_charge == pytest.approx(40.0, abs=1e-12)
    assert new.nav == pytest.approx(116.0, abs=1e-12) and new.hwm == pytest.approx(116.0, abs=1e-12)
    assert new.accrued == 0.0 and new.gav == pytest.approx(116.0, abs=1e-12)
    assert new.period_start == D(2024, 1, 1)


def test_before_the_period_end_the_fee_is_accrued_not_paid_and_the_hwm_stays():
    terms = FeeTerms(performance_fee=0.2)
    new, day = advance_fees(terms, _state(D(2023, 6, 14)), D(2023, 6, 15), 0.20)
    assert new.accrued == pytest.approx(4.0, abs=1e-12) and new.nav == pytest.approx(116.0, abs=1e-12)
    assert new.hwm == 100.0 and day.crystallised_fee == 0.0


# --------------------------------------------------------------------------- management fee


def test_a_non_leap_year_of_zero_gross_return_accrues_the_hand_computed_sum():
    # 2023 has 365 days; from the close of 2022-12-30 (Friday) to 2023-12-29 (Friday).
    terms = FeeTerms(management_fee=0.02)
    days = business_days(D(2023, 1, 2), D(2023, 12, 29))
    out = _path(terms, _state(D(2022, 12, 30)), [(d, 0.0, 0.0) for d in days])
    fees = np.array([f.management_fee for _, f in out])
    # d_t: calendar days since the previous business day (Monday: 3)
    d = np.diff(np.array([D(2022, 12, 30), *days], dtype="datetime64[D]")).astype(int)
    assert d.sum() == 364 and (d[0], d[1]) == (3, 1)
    # NAV_t = NAV_{t-1} (1 - m d_t / 365), so sum_t m NAV_{t-1} d_t / 365 = 100 (1 - prod(1 - m d_t / 365))
    assert fees.sum() == pytest.approx(100.0 * (1.0 - np.prod(1.0 - 0.02 * d / 365.0)), rel=1e-12)
    nav = 100.0 * np.concatenate([[1.0], np.cumprod(1.0 - 0.02 * d / 365.0)])
    np.testing.assert_allclose(fees, 0.02 * nav[:-1] * d / 365.0, rtol=1e-12)
    # below the HWM all year: no performance fee, and the annual crystallisation pays nothing
    assert all(s.accrued == 0.0 and f.crystallised_fee == 0.0 for s, f in out) and out[-1][0].hwm == 100.0


def test_a_monday_accrues_three_days():
    terms = FeeTerms(management_fee=0.0365)
    _, day = advance_fees(terms, _state(D(2023, 3, 3), units=2.0), D(2023, 3, 6), 0.0)
    assert day.days == 3 and day.management_fee == pytest.approx(2 * 100 * 0.0365 * 3 / 365, abs=1e-12)  # 0.06


# --------------------------------------------------------------------------- performance fee


def test_no_performance_fee_balance_below_the_hwm():
    terms = FeeTerms(performance_fee=0.2)
    days = business_days(D(2023, 3, 1), D(2023, 3, 31))
    rng = np.random.default_rng(3)
    out = _path(terms, _state(D(2023, 2, 28), gav=90.0), [(d, r, 0.0) for d, r in zip(days, rng.normal(0, 0.005, 23))])
    for state, _ in out:
        assert state.gav >= state.hwm or state.accrued == 0.0
        if state.gav > state.hwm:
            assert state.accrued == pytest.approx(0.2 * (state.gav - 100.0), abs=1e-12)


def test_an_accrual_is_written_back_when_gav_falls():
    terms = FeeTerms(performance_fee=0.2)
    (first, up), (second, down) = _path(
        terms, _state(D(2023, 5, 1)), [(D(2023, 5, 2), 0.10, 0.0), (D(2023, 5, 3), -0.05, 0.0)]
    )
    # GAV 110: A = 0.2 x 10 = 2. GAV 110 x 0.95 = 104.5: A = 0.2 x 4.5 = 0.9, charge 0.9 - 2 = -1.1
    assert up.performance_fee_charge == pytest.approx(2.0, abs=1e-12)
    assert down.performance_fee_charge == pytest.approx(-1.1, abs=1e-12)
    assert second.accrued == pytest.approx(0.9, abs=1e-12) and second.nav == pytest.approx(103.6, abs=1e-12)
    assert down.fees == pytest.approx(-1.1, abs=1e-12)  # no management fee: the day's fees are negative


@pytest.mark.parametrize(
    ("kind", "r", "fee"),
    [
        # hurdle H = 100 x (1 + 0.05) = 105. GAV 108: hard 0.2 x (108 - 105) = 0.6; soft 0.2 x 8 = 1.6
        (HurdleKind.HARD, 0.08, 0.6),
        (HurdleKind.SOFT, 0.08, 1.6),
        (HurdleKind.NONE, 0.08, 1.6),
        # GAV 103, under the hurdle: hard 0 (103 < 105), soft 0 (not cleared), none 0.2 x 3 = 0.6
        (HurdleKind.HARD, 0.03, 0.0),
        (HurdleKind.SOFT, 0.03, 0.0),
        (HurdleKind.NONE, 0.03, 0.6),
    ],
)
def test_hard_and_soft_hurdle_by_hand(kind, r, fee):
    terms = FeeTerms(performance_fee=0.2, hurdle=kind)
    new, _ = advance_fees(terms, _state(D(2023, 8, 1), hurdle_return=0.05), D(2023, 8, 2), r)
    assert new.accrued == pytest.approx(fee, abs=1e-12)


def test_the_hurdle_grows_at_the_cash_rate_plus_the_hurdle_rate_act_365():
    cash = CashRate.of([(D(2023, 1, 1), 0.0365), (D(2023, 8, 5), 0.073)])
    terms = FeeTerms(performance_fee=0.2, hurdle=HurdleKind.HARD, hurdle_rate=0.0365, cash_rate=cash)
    # Friday 4 Aug to Monday 7 Aug: cash 0.0365 on the 4th, 0.073 on the 5th and 6th; hurdle 3 x 0.0365
    new, _ = advance_fees(terms, _state(D(2023, 8, 4)), D(2023, 8, 7), 0.0)
    assert new.hurdle_return == pytest.approx((0.0365 + 2 * 0.073 + 3 * 0.0365) / 365, abs=1e-15)  # 0.0008


# --------------------------------------------------------------------------- crystallisation days


def test_a_period_end_on_a_weekend_and_holiday_crystallises_on_the_last_business_day_before_it():
    # Quarter end 2018-03-31 is a Saturday; Friday 30 March was Good Friday (NYSE closed).
    holidays = frozenset({D(2018, 3, 30)})
    terms = FeeTerms(performance_fee=0.2, crystallisation=CrystallisationFrequency.QUARTERLY, holidays=holidays)
    assert terms.crystallisation_day(D(2018, 3, 31)) == D(2018, 3, 29)
    steps = [(d, 0.01, 0.0) for d in (D(2018, 3, 28), D(2018, 3, 29), D(2018, 3, 30), D(2018, 4, 2))]
    out = _path(terms, _state(D(2018, 3, 27), period_start=D(2018, 1, 1)), steps)
    paid = [f.crystallised_fee for _, f in out]
    # 28th: GAV 101, A 0.2; 29th: GAV 102.01, A 0.402 paid, HWM = NAV = 102.01 - 0.402 = 101.608
    assert paid[0] == 0.0 and paid[1] == pytest.approx(0.402, abs=1e-12) and paid[2:] == [0.0, 0.0]
    assert out[1][0].hwm == pytest.approx(101.608, abs=1e-12) and out[1][0].period_start == D(2018, 4, 1)
    # without the holiday calendar the fee would wait for the Friday
    plain = FeeTerms(performance_fee=0.2, crystallisation=CrystallisationFrequency.QUARTERLY)
    assert plain.crystallisation_day(D(2018, 3, 31)) == D(2018, 3, 30)


@pytest.mark.parametrize(
    ("frequency", "day", "end"),
    [
        (CrystallisationFrequency.ANNUAL, D(2023, 2, 3), D(2023, 12, 31)),
        (CrystallisationFrequency.SEMIANNUAL, D(2023, 2, 3), D(2023, 6, 30)),
        (CrystallisationFrequency.SEMIANNUAL, D(2023, 7, 1), D(2023, 12, 31)),
        (CrystallisationFrequency.QUARTERLY, D(2024, 2, 29), D(2024, 3, 31)),
        (CrystallisationFrequency.MONTHLY, D(2024, 2, 1), D(2024, 2, 29)),
    ],
)
def test_period_ends(frequency, day, end):
    assert FeeTerms(crystallisation=frequency).period_end(day) == end


def test_a_zero_balance_at_the_period_end_leaves_the_hwm():
    terms = FeeTerms(performance_fee=0.2)
    new, day = advance_fees(terms, _state(D(2023, 12, 28), gav=95.0), D(2023, 12, 29), 0.01)
    assert day.crystallised_fee == 0.0 and new.hwm == 100.0 and new.period_start == D(2024, 1, 1)


# --------------------------------------------------------------------------- flows


def test_a_subscription_above_the_hwm_does_not_move_it():
    terms = FeeTerms(performance_fee=0.2)
    state = _state(D(2023, 6, 14), gav=120.0, accrued=4.0, units=10.0)
    new, day = advance_fees(terms, state, D(2023, 6, 15), 0.0, 1160.0)
    # 1160 at NAV 116 buys 10 units; the balance in money stays 40, now over 20 units: A = 2
    assert new.units == pytest.approx(20.0, abs=1e-12) and new.hwm == 100.0
    assert new.nav == pytest.approx(116.0, abs=1e-12) and new.balance == pytest.approx(40.0, abs=1e-12)
    assert new.aum == pytest.approx(1160.0 + 1160.0, abs=1e-9) and day.crystallised_fee == 0.0


def test_a_redemption_crystallises_the_fee_of_the_redeemed_units():
    terms = FeeTerms(performance_fee=0.2)
    state = _state(D(2023, 6, 14), gav=120.0, accrued=4.0, units=10.0)
    new, day = advance_fees(terms, state, D(2023, 6, 15), 0.0, -232.0)
    # 232 at NAV 116 redeems 2 units, whose accrued 2 x 4 = 8 is paid; 8 units keep A = 4
    assert day.crystallised_fee == pytest.approx(8.0, abs=1e-12)
    assert new.units == pytest.approx(8.0, abs=1e-12) and new.accrued == 4.0 and new.hwm == 100.0
    assert new.aum == pytest.approx(928.0, abs=1e-9) and new.balance == pytest.approx(32.0, abs=1e-12)


def test_a_redemption_of_everything_is_refused():
    with pytest.raises(ValueError, match="takes all of the AUM"):
        advance_fees(FeeTerms(), _state(D(2023, 6, 14)), D(2023, 6, 15), 0.0, -100.0)


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("seed", range(12))
def test_balances_never_negative_and_net_never_above_gross_over_a_crystallisation_period(seed):
    rng = np.random.default_rng(seed)
    kind = [HurdleKind.NONE, HurdleKind.HARD, HurdleKind.SOFT][seed % 3]
    frequency = [CrystallisationFrequency.ANNUAL, CrystallisationFrequency.QUARTERLY][seed % 2]
    terms = FeeTerms(
        management_fee=float(rng.uniform(0, 0.03)),
        performance_fee=float(rng.uniform(0, 0.3)),
        hurdle=kind,
        hurdle_rate=float(rng.uniform(0, 0.05)),
        crystallisation=frequency,
        cash_rate=CashRate.of([(D(2020, 1, 1), float(rng.uniform(0, 0.05)))]),
    )
    days = business_days(D(2021, 1, 4), D(2022, 12, 30))
    returns = rng.normal(float(rng.uniform(-0.001, 0.002)), 0.012, len(days))
    flows = np.where(rng.random(len(days)) < 0.02, rng.uniform(-20.0, 40.0, len(days)), 0.0)
    state = _state(D(2020, 12, 31), units=10.0, period_start=D(2021, 1, 1))
    gross = net = 1.0
    for day, r, flow in zip(days, returns, flows):
        before = state
        state, figures = advance_fees(terms, state, day, float(r), float(flow))
        assert state.accrued >= 0.0 and state.balance >= 0.0 and figures.crystallised_fee >= 0.0
        assert state.hwm >= before.hwm  # the HWM only moves up
        assert state.gav > state.hwm or state.accrued == 0.0
        gross, net = gross * (1.0 + r), net * (1.0 + figures.net_return)
        if state.period_start != before.period_start:  # a crystallisation day closed a period
            assert net <= gross * (1.0 + 1e-12)
            gross = net = 1.0


# --------------------------------------------------------------------------- many paths at once


@pytest.mark.parametrize("hurdle", [HurdleKind.NONE, HurdleKind.HARD, HurdleKind.SOFT])
def test_a_state_over_paths_steps_each_path_as_the_state_of_that_path_alone(hurdle):
    """The array form (the policy search's and the projections' paths) is the scalar form
    path by path: 40 paths over 2023-10-02 .. 2024-03-29 (a year-end crystallisation, a
    quarter of cash at 5%, a subscription and a redemption), against 40 scalar runs."""
    terms = FeeTerms(0.02, 0.2, hurdle, 0.01, cash_rate=CashRate.of([(D(2020, 1, 1), 0.05)]))
    days = business_days(D(2023, 10, 2), D(2024, 3, 29))
    rng = np.random.default_rng(17)
    returns = rng.normal(0.0004, 0.01, (40, len(days)))
    flows = {days[30]: 250.0, days[90]: -120.0}
    start = _state(D(2023, 9, 29), units=10.0, period_start=D(2023, 1, 1))
    many = start.on_paths(40)
    totals = np.zeros(40)
    for k, day in enumerate(days):
        many, figures = advance_fees(terms, many, day, returns[:, k], flows.get(day, 0.0))
        totals += figures.crystallised_fee + figures.management_fee
    for p in range(40):
        one, total = start, 0.0
        for k, day in enumerate(days):
            one, figures = advance_fees(terms, one, day, float(returns[p, k]), flows.get(day, 0.0))
            total += figures.crystallised_fee + figures.management_fee
        for name in ("units", "gav", "accrued", "hwm"):
            assert getattr(many, name)[p] == pytest.approx(getattr(one, name), rel=1e-12)
        assert totals[p] == pytest.approx(total, rel=1e-12)
        assert isinstance(one.hwm, float) and isinstance(one.accrued, float)
