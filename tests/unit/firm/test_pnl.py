"""The firm's P&L (twin_model.firm.pnl) and its rules, on two hand-built solutions across
a year end."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from twin_model.contracts import TABLES, profit_problems, revenue_problems, validate
from twin_model.firm import FirmCosts, business_days_in_year, firm_pnl_rows

D = dt.date
DAYS = [D(2023, 12, 28), D(2023, 12, 29), D(2024, 1, 1), D(2024, 1, 2)]
COSTS = FirmCosts(fixed_per_year=2_600_000.0, per_strategy_per_year=52_000.0, pass_through_per_year=26_000.0)


def _performance() -> pl.DataFrame:
    rows = []
    for day in DAYS:
        rows.append(
            {
                "date": day,
                "solution_id": "s1",
                "aum": 1000.0,
                "management_fee": 10.0,
                "crystallised_fee": 50.0 if day == D(2023, 12, 29) else 0.0,
                "performance_fee_charge": 4.0,
                "performance_fee_balance": 0.0 if day == D(2023, 12, 29) else 46.0,
            }
        )
        rows.append(
            {
                "date": day,
                "solution_id": "s2",
                "aum": 500.0,
                "management_fee": 5.0,
                "crystallised_fee": 0.0,
                "performance_fee_charge": -2.0 if day == D(2024, 1, 1) else 0.0,
                "performance_fee_balance": 3.0,
            }
        )
    return pl.DataFrame(rows)


def _weights() -> pl.DataFrame:
    """s1 holds A and B every day; s2 holds B and C on the first day, then B only (C at 0)."""
    rows = []
    for day in DAYS:
        held = [("s1", "A", 0.5), ("s1", "B", 0.5), ("s2", "B", 0.6), ("s2", "C", 0.4 if day == DAYS[0] else 0.0)]
        rows += [{"date": day, "solution_id": s, "strategy_id": k, "weight_close": w} for s, k, w in held]
    return pl.DataFrame(rows)


def test_business_days_in_a_year():
    # 2023: 365 days from a Sunday = 52 weeks + a Sunday; 2024: 366 from a Monday = 52 weeks + Mon, Tue
    assert business_days_in_year(2023) == 260 and business_days_in_year(2024) == 262


def test_firm_pnl_by_hand_across_a_year_end():
    pnl = firm_pnl_rows(DAYS, _performance(), _weights(), COSTS)
    validate(pnl, TABLES["firm.firm_pnl"])
    firm = {r["date"]: r for r in pnl.filter(pl.col("solution_id") == "FIRM").iter_rows(named=True)}
    s1 = {r["date"]: r for r in pnl.filter(pl.col("solution_id") == "s1").iter_rows(named=True)}
    # revenue: management fees as accrued (10 + 5), performance fees when crystallised (50 on 29 Dec)
    assert [firm[d]["revenue"] for d in DAYS] == pytest.approx([15.0, 65.0, 15.0, 15.0])
    assert s1[D(2023, 12, 29)]["revenue"] == pytest.approx(60.0) and s1[D(2023, 12, 29)]["profit"] == pytest.approx(
        60.0
    )
    # the accrual (4 - 2 on 1 Jan) and the balance change (accrued - crystallised) beside revenue
    assert firm[D(2024, 1, 1)]["performance_fee_accrued"] == pytest.approx(2.0)
    assert firm[D(2023, 12, 29)]["performance_fee_balance_change"] == pytest.approx(4.0 - 50.0)
    # strategies in use: A, B, C on the first day, then A and B
    assert [firm[d]["n_strategies"] for d in DAYS] == [3, 2, 2, 2]
    # costs: a year's figure over 260 weekdays in 2023, 262 in 2024
    day_2023 = (2_600_000.0 + 3 * 52_000.0 + 26_000.0) / 260
    assert firm[DAYS[0]]["costs"] == pytest.approx(day_2023, rel=1e-12)
    assert firm[DAYS[1]]["costs"] == pytest.approx((2_600_000.0 + 2 * 52_000.0 + 26_000.0) / 260, rel=1e-12)
    day_2024 = (2_600_000.0 + 2 * 52_000.0 + 26_000.0) / 262
    assert firm[DAYS[2]]["strategy_costs"] == pytest.approx(2 * 52_000.0 / 262, rel=1e-12)
    assert firm[DAYS[2]]["costs"] == pytest.approx(day_2024, rel=1e-12)
    assert firm[DAYS[2]]["profit"] == pytest.approx(15.0 - day_2024, rel=1e-12)
    # year to date: the 2023 rows add up, 1 January starts again
    assert firm[DAYS[1]]["revenue_ytd"] == pytest.approx(80.0)
    assert firm[DAYS[1]]["costs_ytd"] == pytest.approx(firm[DAYS[0]]["costs"] + firm[DAYS[1]]["costs"], rel=1e-12)
    assert firm[DAYS[2]]["revenue_ytd"] == pytest.approx(15.0) and firm[DAYS[3]]["profit_ytd"] == pytest.approx(
        30.0 - 2 * day_2024, rel=1e-12
    )
    assert firm[DAYS[0]]["aum"] == pytest.approx(1500.0) and s1[DAYS[0]]["costs"] == 0.0


def test_a_day_without_solutions_carries_the_costs_alone():
    day = [D(2023, 12, 27)]
    pnl = firm_pnl_rows(day + DAYS, _performance(), _weights(), COSTS)
    first = pnl.filter(pl.col("date") == day[0])
    assert first.get_column("solution_id").to_list() == ["FIRM"]
    assert first["revenue"].item() == 0.0 and first["profit"].item() == pytest.approx(-(2_600_000.0 + 26_000.0) / 260)
    assert revenue_problems(pnl, _performance()) == []


def test_the_rules_catch_a_revenue_that_is_not_the_fees_and_a_profit_that_is_not_revenue_less_costs():
    pnl = firm_pnl_rows(DAYS, _performance(), _weights(), COSTS)
    assert revenue_problems(pnl, _performance()) == [] and profit_problems(pnl) == []
    tampered = pnl.with_columns(
        revenue=pl.when((pl.col("solution_id") == "s2") & (pl.col("date") == DAYS[1]))
        .then(pl.col("revenue") + 1.0)
        .otherwise(pl.col("revenue"))
    )
    problems = revenue_problems(tampered, _performance())
    assert len(problems) == 1 and "date=2023-12-29, solution_id=s2: revenue 6.0" in problems[0]
    off = pnl.with_columns(profit=pl.col("profit") + pl.when(pl.col("solution_id") == "FIRM").then(0.5).otherwise(0.0))
    assert len(profit_problems(off)) == len(DAYS)
    missing = pnl.filter(~((pl.col("solution_id") == "s1") & (pl.col("date") == DAYS[2])))
    assert len(revenue_problems(missing, _performance())) == 1
