"""The firm's projection: reproducible by seed, hand-worked AUM, revenue, P(loss year) and
break-even on constant paths."""

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import polars as pl

from twin_model.calendar import business_days
from twin_model.contracts import TABLES, projection_cost_problems, validate
from twin_model.conventions import FIRM_TOTAL
from twin_model.firm import FeeState, FeeTerms, FirmCosts, business_days_in_year
from twin_model.firm.projections import MONTH_DAYS, ProjectedSolution, project, project_from_model, projection_rows
from twin_model.portfolio import CostModel
from twin_model.strategy import predictive_model

T = dt.date(2021, 6, 30)
DAYS = business_days(T + dt.timedelta(days=1), T + dt.timedelta(days=400))[: 12 * MONTH_DAYS]


def _solution(aum=1e6, targets=None, **fees):
    state = replace(FeeState.launch(aum), day=T, period_start=dt.date(2021, 1, 1))
    return ProjectedSolution("one", targets or {"a": 1.0}, state, FeeTerms(**fees))


def _constant(r, n_paths=3, n=1):
    return np.full((n_paths, len(DAYS), n), r)


def test_constant_return_management_fee_only_matches_the_hand_product():
    """NAV_k = NAV_{k-1} (1 + r - m d_k / 365) with no performance fee; revenue the sum of
    m NAV_{k-1} d_k / 365 over each month's 21 days; every path equal, so p05 = p95."""
    r, m = 0.0004, 0.02
    out = project(_constant(r), ["a"], DAYS, [_solution(management_fee=m)], 0.0, FirmCosts(), 0)
    aum, prev_day, revenue = 1e6, T, []
    month_aum, month_rev = [], 0.0
    for k, day in enumerate(DAYS):
        fee = m * aum * (day - prev_day).days / 365
        month_rev += fee
        aum, prev_day = aum * (1 + r) - fee, day
        if (k + 1) % MONTH_DAYS == 0:
            month_aum.append(aum)
            revenue.append(month_rev)
            month_rev = 0.0
    np.testing.assert_allclose(out.aum["one"][0], month_aum, rtol=1e-12)
    np.testing.assert_allclose(out.revenue["one"][1], revenue, rtol=1e-12)
    rows = projection_rows(T, out).filter(pl.col("solution_id") == "one")
    np.testing.assert_allclose(rows["aum_p05"], rows["aum_p95"])
    np.testing.assert_allclose(rows["revenue_p50"], revenue, rtol=1e-12)


def test_half_in_cash_earns_the_cash_rate_and_rebalances_without_cost_when_weights_hold():
    """w = 0.5 in a strategy of zero return, the rest in cash at 4%, no fees: cash grows by
    c d / 365 a day, the book is put back to 50/50 at each month's start (no cost model)."""
    c = 0.04
    out = project(_constant(0.0, 2), ["a"], DAYS, [_solution(targets={"a": 0.5})], c, FirmCosts(), 0)
    assets, cash, prev = 0.5e6, 0.5e6, T
    expected = []
    for k, day in enumerate(DAYS):
        if k and k % MONTH_DAYS == 0:
            total = assets + cash
            assets, cash = total / 2, total / 2
        cash *= 1 + c * (day - prev).days / 365
        prev = day
        if (k + 1) % MONTH_DAYS == 0:
            expected.append(assets + cash)
    np.testing.assert_allclose(out.aum["one"][0], expected, rtol=1e-12)


def test_costs_pro_rata_p_loss_year_and_breakeven():
    """Costs: (fixed + per strategy x n) / weekdays of the year a day; with costs above any
    revenue P(loss) = 1, with none 0; break-even = AUM_t x costs / E[revenue]."""
    costs = FirmCosts(fixed_per_year=1e6, per_strategy_per_year=1e5)
    returns = np.random.default_rng(3).normal(0.0005, 0.01, size=(50, len(DAYS), 1))
    out = project(returns, ["a"], DAYS, [_solution(management_fee=0.02, performance_fee=0.2)], 0.0, costs, 2)
    per_day = [1.2e6 / business_days_in_year(d.year) for d in DAYS]
    np.testing.assert_allclose(out.cost, np.add.reduceat(per_day, range(0, len(DAYS), MONTH_DAYS)))
    assert out.p_loss_year == 1.0  # revenue on 1e6 is tens of thousands, costs 1.2e6
    free = project(returns, ["a"], DAYS, [_solution(management_fee=0.02)], 0.0, FirmCosts(), 0)
    assert free.p_loss_year == 0.0
    expected_revenue = out.revenue["one"].sum(axis=1).mean()
    assert math.isclose(out.breakeven_aum, 1e6 * sum(per_day) / expected_revenue, rel_tol=1e-12)
    rows = projection_rows(T, out)
    firm = rows.filter(pl.col("solution_id") == FIRM_TOTAL)
    assert firm.height == 12 and firm["p_loss_year"].to_list() == [1.0] * 12
    assert rows.filter(pl.col("solution_id") == "one")["breakeven_aum"].null_count() == 12
    for name in ("aum", "revenue", "profit"):
        assert (rows[f"{name}_p05"] <= rows[f"{name}_p50"]).all() and (rows[f"{name}_p50"] <= rows[f"{name}_p95"]).all()


def _model():
    ids = ["a", "b"]
    history = np.random.default_rng(5).normal(0.0, 0.01, size=(120, 2))
    n = 4
    draws = pl.DataFrame(
        {
            "draw": np.repeat(np.arange(n), 2).astype(np.int64),
            "strategy_id": ids * n,
            "daily_mean": [0.001, -0.0005] * n,
            "alpha": [0.001, -0.0005] * n,
            "sigma": [0.01, 0.02] * n,
            "nu": [math.inf] * (2 * n),
            "vol": [0.01, 0.02] * n,
            "sharpe": [0.1, -0.025] * n,
        }
    )
    return predictive_model(draws, history, None, ids)


def test_reproducible_for_a_seed():
    model = _model()
    sol = [_solution(targets={"a": 0.6, "b": 0.3}, management_fee=0.02, performance_fee=0.2)]

    def run(seed):
        return projection_rows(T, project_from_model(model, 40, seed, DAYS, sol, 0.01, FirmCosts(1e4), 2))

    first = run(11)
    assert first.equals(run(11))
    assert not first.equals(run(12))


def test_rows_pass_the_schema_and_the_cost_check():
    """The rows validate against firm.firm_projections; the cost check accepts the config's
    costs and names a month whose cost differs."""
    costs = FirmCosts(fixed_per_year=2e5)
    returns = np.random.default_rng(4).normal(0.0003, 0.01, size=(30, len(DAYS), 1))
    out = project(returns, ["a"], DAYS, [_solution(management_fee=0.02, performance_fee=0.2)], 0.0, costs, 0)
    rows = validate(projection_rows(T, out), TABLES["firm.firm_projections"])
    expected = [sum(2e5 / business_days_in_year(d.year) for d in DAYS[m * 21 : (m + 1) * 21]) for m in range(12)]
    assert projection_cost_problems(rows, {T: expected}) == []
    wrong = [*expected[:-1], expected[-1] + 1.0]
    assert projection_cost_problems(rows, {T: wrong}) == [
        f"date={T}, months_ahead=12: FIRM cost {rows.filter(pl.col('solution_id') == FIRM_TOTAL)['cost'][-1]} "
        f"but the config gives {wrong[-1]}"
    ]


def test_monthly_rebalance_pays_the_linear_cost_of_the_trade():
    """a gains x a day in month 1, b nothing, nothing after; targets 50/50, no fees, a linear
    cost of 3 bp: at month 2's first day the book trades |a - b| in all, paying 3e-4 x
    |a - b|; month 2's AUM is month 1's less that."""
    x = 0.002
    returns = np.zeros((2, len(DAYS), 2))
    returns[:, :MONTH_DAYS, 0] = x
    linear = CostModel(commission_bps=1.0, half_spread_bps=2.0, impact_coefficient=0.0)
    sol = _solution(targets={"a": 0.5, "b": 0.5})
    out = project(returns, ["a", "b"], DAYS, [sol], 0.0, FirmCosts(), 0, linear)
    a, b = 0.5e6 * (1 + x) ** MONTH_DAYS, 0.5e6
    np.testing.assert_allclose(out.aum["one"][:, 0], a + b, rtol=1e-12)
    np.testing.assert_allclose(out.aum["one"][:, 1], a + b - 3e-4 * (a - b), rtol=1e-12)


def test_a_dated_subscription_adds_to_the_aum_of_its_month():
    """Zero returns, no fees: a subscription of 250,000 on the 30th business day lifts
    every month's AUM from the second on by exactly that."""
    sol = replace(_solution(), flows={DAYS[29]: 250_000.0})
    out = project(_constant(0.0, 2), ["a"], DAYS, [sol], 0.0, FirmCosts(), 0)
    np.testing.assert_allclose(out.aum["one"][0], [1e6] + [1.25e6] * 11, rtol=1e-12)


def test_breakeven_on_a_hand_case():
    """Zero return, 1% management fee on 1e6, costs 1e5 a year fixed: revenue
    sum_k 0.01 NAV_{k-1} d_k / 365 with NAV shrinking by each fee; break-even =
    1e6 x costs / revenue (every path the same)."""
    out = project(_constant(0.0), ["a"], DAYS, [_solution(management_fee=0.01)], 0.0, FirmCosts(1e5), 0)
    nav, prev, revenue = 1e6, T, 0.0
    for day in DAYS:
        fee = 0.01 * nav * (day - prev).days / 365
        revenue, nav, prev = revenue + fee, nav - fee, day
    costs = sum(1e5 / business_days_in_year(d.year) for d in DAYS)
    assert math.isclose(out.breakeven_aum, 1e6 * costs / revenue, rel_tol=1e-12)
    assert out.breakeven_aum > 1e6 * 5  # revenue about 10,000 against costs of 100,000
