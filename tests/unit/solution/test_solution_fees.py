"""Fees and cash interest inside the solution step: the NAV is net of fees, the money
identities of portfolio.solution_performance hold, and the fee state carries over
through the tables exactly as it does in memory."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from tests.helpers.solutions import LAUNCH, LOOSE, ZERO_COSTS, D, Market, days, rules
from twin_model.contracts import TABLES, aum_problems, validate
from twin_model.conventions import CrystallisationFrequency
from twin_model.firm import CashRate, FeeState, FeeTerms
from twin_model.solution import SolutionState, StrategyState, records_to_frames, state_from_tables, step

CASH = CashRate.of([(D(2024, 1, 1), 0.0365)])


def _half_invested(day) -> SolutionState:
    return SolutionState(
        day=day,
        aum=100.0,
        aum_peak=100.0,
        risk_peak=100.0,
        last_rebalance=LAUNCH,
        exposure=0.5,
        strategies={"A": StrategyState(status="active", tier="core", weight=0.5, target=0.5, watch_from=LAUNCH)},
        fees=FeeState(day, 1.0, 100.0, 0.0, 100.0, 0.0, D(2024, 1, 1)),
    )


def test_cash_interest_and_fees_over_a_weekend_by_hand():
    rule = rules({"A": 1.0}, target_exposure=0.5)
    m = Market("A").set(D(2024, 3, 11), "A", 0.02)
    terms = FeeTerms(management_fee=0.0365, performance_fee=0.2, cash_rate=CASH)
    new, rec = step(rule, _half_invested(D(2024, 3, 8)), m.inputs(D(2024, 3, 11)), LOOSE, ZERO_COSTS, fees=terms)
    p = rec.performance
    # Friday to Monday, 3 days: interest 0.5 x 100 x 0.0365 x 3 / 365 = 0.015; the book 100 x 1.01 + 0.015
    assert p["cash_interest"] == pytest.approx(0.015, abs=1e-12)
    assert p["gross_return"] == pytest.approx(0.01015, abs=1e-12)
    # management fee 0.0365 x 100 x 3 / 365 = 0.03; GAV 101.015 - 0.03 = 100.985; A = 0.2 x 0.985 = 0.197
    assert p["management_fee"] == pytest.approx(0.03, abs=1e-12)
    assert p["performance_fee_charge"] == pytest.approx(0.197, abs=1e-12)
    assert p["fees"] == pytest.approx(0.227, abs=1e-12)
    assert p["aum"] == pytest.approx(100.788, abs=1e-12) and p["nav_per_unit"] == pytest.approx(100.788, abs=1e-12)
    assert p["performance_fee_balance"] == pytest.approx(0.197, abs=1e-12) and p["hwm"] == 100.0
    assert p["net_return"] == pytest.approx(0.00788, abs=1e-12) and p["pnl"] == pytest.approx(0.788, abs=1e-12)
    # the weights are fractions of the gross assets (100.985): A held 0.5 x 100 x 1.02 / 100.985
    assert new.strategies["A"].weight == pytest.approx(51.0 / 100.985, abs=1e-12)
    assert new.fees.assets == pytest.approx(100.985, abs=1e-12) and new.aum == p["aum"]


def _fee_run():
    """A month of a rising strategy, monthly crystallisation (31 March 2024 is a Sunday and
    Friday 29 March was Good Friday: the fee crystallises on Thursday 28 March), a
    subscription on 12 March and a redemption on 3 April."""
    rule = dataclasses.replace(
        rules({"A": 1.0, "B": 1.0}, target_exposure=0.8),
        flows={D(2024, 3, 12): 50.0, D(2024, 4, 3): -30.0},
    )
    dl = days(LAUNCH, D(2024, 4, 10))
    m = Market("AB")
    for d in dl[1:]:
        m.set(d, "A", 0.004).set(d, "B", 0.001)
    terms = FeeTerms(
        management_fee=0.02,
        performance_fee=0.2,
        crystallisation=CrystallisationFrequency.MONTHLY,
        cash_rate=CASH,
        holidays=frozenset({D(2024, 3, 29)}),
    )
    return rule, m, dl, terms


def _run(rule, m, day_list, terms, state):
    states, recs = [], []
    for d in day_list:
        state, rec = step(rule, state, m.inputs(d), LOOSE, ZERO_COSTS, fees=terms)
        states.append(state)
        recs.append(rec)
    return states, recs


def test_fees_and_flows_keep_the_money_identities_and_crystallise_before_the_holiday():
    rule, m, dl, terms = _fee_run()
    states, recs = _run(rule, m, dl, terms, SolutionState.launch(rule))
    performance = records_to_frames(recs)["portfolio.solution_performance"]
    validate(performance, TABLES["portfolio.solution_performance"])
    assert aum_problems(performance) == []
    by_day = {r.performance["date"]: r.performance for r in recs}
    assert by_day[LAUNCH]["units"] == pytest.approx(1.0) and by_day[LAUNCH]["nav_per_unit"] == 100.0
    paid = {d: p["crystallised_fee"] for d, p in by_day.items() if p["crystallised_fee"] > 0}
    # the month's balance on 28 March, then the redeemed units' balance on 3 April
    assert set(paid) == {D(2024, 3, 28), D(2024, 4, 3)}
    march = by_day[D(2024, 3, 28)]
    assert march["performance_fee_balance"] == 0.0 and march["hwm"] == pytest.approx(march["nav_per_unit"])
    assert paid[D(2024, 3, 28)] == pytest.approx(
        by_day[D(2024, 3, 27)]["performance_fee_balance"] + march["performance_fee_charge"], rel=1e-12
    )
    # a subscription: units at NAV, NAV per unit and HWM unchanged by it
    sub = by_day[D(2024, 3, 12)]
    assert sub["flows"] == 50.0 and sub["hwm"] == 100.0
    assert sub["units"] == pytest.approx(by_day[D(2024, 3, 11)]["units"] + 50.0 / sub["nav_per_unit"], rel=1e-12)
    # a redemption is not a drawdown: the peaks follow the units
    red = by_day[D(2024, 4, 3)]
    assert red["flows"] == -30.0 and red["drawdown"] == pytest.approx(0.0, abs=1e-12)
    # the fees make the net return lower than the gross return on every day after launch
    assert all(p["net_return"] < p["gross_return"] for d, p in by_day.items() if d > LAUNCH)


@pytest.mark.parametrize("cut_day", [D(2024, 3, 12), D(2024, 3, 28), D(2024, 4, 3)])
def test_the_fee_state_round_trips_through_the_tables(cut_day):
    rule, m, dl, terms = _fee_run()
    cut = dl.index(cut_day)
    states, recs = _run(rule, m, dl[: cut + 1], terms, SolutionState.launch(rule))
    last = {name: f.filter(f["date"] == cut_day) for name, f in records_to_frames(recs).items()}
    rebuilt = state_from_tables(
        rule,
        last["portfolio.solution_weights"],
        last["portfolio.solution_optimizations"],
        last["portfolio.solution_performance"],
        last["portfolio.risk_violations"],
    )
    assert rebuilt.fees == states[-1].fees and rebuilt.aum == states[-1].aum
    s1, r1 = _run(rule, m, dl[cut + 1 :], terms, states[-1])
    s2, r2 = _run(rule, m, dl[cut + 1 :], terms, rebuilt)
    assert [s.fees for s in s1] == [s.fees for s in s2]
    assert [r.performance for r in r1] == [r.performance for r in r2]


def test_a_row_from_a_warehouse_older_than_the_fee_columns_carries_its_aum_at_nav_100():
    rule, m, dl, terms = _fee_run()
    _, recs = _run(rule, m, dl[:3], terms, SolutionState.launch(rule))
    last = {name: f.filter(f["date"] == dl[2]) for name, f in records_to_frames(recs).items()}
    fee_columns = ["units", "gav_per_unit", "performance_fee_per_unit", "hwm", "hurdle_return", "fee_period_start"]
    old = last["portfolio.solution_performance"].with_columns(pl.lit(None).alias(c) for c in fee_columns)
    rebuilt = state_from_tables(
        rule,
        last["portfolio.solution_weights"],
        last["portfolio.solution_optimizations"],
        old,
        last["portfolio.risk_violations"],
    )
    aum = old["aum"].item()
    assert rebuilt.fees == FeeState(dl[2], aum / 100.0, 100.0, 0.0, 100.0, 0.0, dl[2])
