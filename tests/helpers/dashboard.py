"""A small warehouse for the dashboard's tests, seeded directly (no NUTS, no solution
step): four strategies and the benchmark from 2020-01-02, two solutions over the last 70
business days to AS_OF, a month end's projection and policy search, violations, pool
changes and matured metalabel outcomes. Columns a page does not read are left null."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from twin_model.calendar import business_days
from twin_model.contracts import TABLES
from twin_model.conventions import FIRM_TOTAL
from twin_resources.resources import WarehouseResource

FIRST = dt.date(2020, 1, 2)
AS_OF = dt.date(2020, 6, 30)
MONTH_END = dt.date(2020, 5, 29)
STRATEGIES = ["s1", "s2", "s3", "s4"]
SOLUTIONS = ["balanced", "defensive"]
SOLUTION_DAYS = 70
WEIGHTS = {"balanced": {"s1": 0.4, "s2": 0.3, "s3": 0.2}, "defensive": {"s1": 0.2, "s4": 0.3}}


def _filled(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every other column of the table's schema as typed nulls."""
    columns = TABLES[table].columns()
    return frame.select(
        [pl.col(n).cast(t) if n in frame.columns else pl.lit(None, dtype=t).alias(n) for n, t in columns.items()]
    )


def _write(resource: WarehouseResource, table: str, frame: pl.DataFrame) -> None:
    resource.warehouse().replace_partitions(TABLES[table], _filled(table, frame), None)


def _grid(days, ids, column="strategy_id") -> pl.DataFrame:
    return pl.DataFrame({"date": days}).join(pl.DataFrame({column: ids}), how="cross").sort("date", column)


def seed_dashboard_warehouse(path: Path, backtest: pl.DataFrame | None = None) -> WarehouseResource:
    """The seeded warehouse at ``path``; ``backtest`` also creates twin.backtest_results."""
    resource = WarehouseResource(path=str(path))
    rng = np.random.default_rng(13)
    days = business_days(FIRST, AS_OF)
    market = rng.normal(0.0003, 0.015, len(days))
    returns = _grid(days, STRATEGIES).with_columns(
        ret=pl.Series((np.outer(market, [0.9, 0.6, 0.3, 1.1]) + rng.normal(0.0002, 0.006, (len(days), 4))).ravel()),
        available=pl.lit(True),
    )
    _write(resource, "raw.strategy_returns", returns)
    _write(
        resource,
        "raw.factor_returns",
        pl.DataFrame({"date": days, "factor_id": "SP500", "ret": market, "is_benchmark": True}),
    )
    solution_days = days[-SOLUTION_DAYS:]
    _seed_solutions(resource, solution_days, returns)
    _seed_models(resource, solution_days, rng)
    _seed_month_end(resource)
    if backtest is not None:
        with resource.warehouse().connect() as connection:
            catalog = connection.execute("SELECT current_database()").fetchall()[0][0]
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{catalog}".twin')
            connection.register("backtest_frame", backtest.to_arrow())
            connection.execute(f'CREATE TABLE "{catalog}".twin.backtest_results AS SELECT * FROM backtest_frame')
    return resource


def _seed_solutions(resource: WarehouseResource, days: list[dt.date], returns: pl.DataFrame) -> None:
    weights = pl.DataFrame(
        [(s, k, w) for s, book in WEIGHTS.items() for k, w in book.items()],
        schema=["solution_id", "strategy_id", "weight_close"],
        orient="row",
    )
    held = _grid(days, SOLUTIONS, "solution_id").join(weights, on="solution_id").with_columns(status=pl.lit("active"))
    _write(resource, "portfolio.solution_weights", held)
    attribution = held.join(returns.select("date", "strategy_id", "ret"), on=["date", "strategy_id"]).with_columns(
        weight_start=pl.col("weight_close"),
        return_contribution=pl.col("weight_close") * pl.col("ret"),
        risk_contribution_pct=pl.col("weight_close") / pl.col("weight_close").sum().over("date", "solution_id"),
    )
    _write(resource, "portfolio.strategy_attribution", attribution)
    daily = attribution.group_by("date", "solution_id").agg(net_return=pl.col("return_contribution").sum())
    rows = []
    for (solution,), group in daily.sort("date").group_by("solution_id", maintain_order=True):
        aum = 1_000_000.0
        for i, (day, ret) in enumerate(group.select("date", "net_return").iter_rows()):
            pnl = aum * ret
            rows.append(
                {
                    "date": day,
                    "solution_id": solution,
                    "aum_start": aum,
                    "net_return": ret,
                    "pnl": pnl,
                    "aum": aum + pnl,
                    "costs": 5.0 if i % 10 == 0 else 0.0,
                    "management_fee": aum * 0.02 / 365,
                    "performance_fee_charge": 0.1 * max(pnl, 0.0),
                    "leverage": sum(WEIGHTS[solution].values()),
                    "rebalanced": i % 10 == 0,
                }
            )
            aum += pnl
    performance = pl.DataFrame(rows).with_columns(
        drawdown=(pl.col("aum") / pl.col("aum").cum_max().over("solution_id") - 1.0)
    )
    _write(resource, "portfolio.solution_performance", performance)
    firm = performance.group_by("date").agg(
        revenue=pl.col("management_fee").sum(), costs=pl.lit(50.0), aum=pl.col("aum").sum()
    )
    firm = (
        firm.sort("date")
        .with_columns(solution_id=pl.lit(FIRM_TOTAL), profit=pl.col("revenue") - pl.col("costs"))
        .with_columns(profit_ytd=pl.col("profit").cum_sum())
    )
    _write(resource, "firm.firm_pnl", firm)
    violations = pl.DataFrame(
        {
            "date": days[10:13],
            "solution_id": ["balanced"] * 3,
            "level": ["portfolio"] * 3,
            "rule": ["volatility_target"] * 3,
            "subject": ["balanced"] * 3,
            "severity": ["medium"] * 3,
            "action": ["scale_down"] * 3,
            "value": [0.14, 0.15, 0.11],
            "limit_value": [0.12] * 3,
            "status": ["open", "open", "resolved"],
            "opened_date": [days[10]] * 3,
            "resolved_date": [None, None, days[12]],
        }
    )
    _write(resource, "portfolio.risk_violations", violations)


def _seed_models(resource: WarehouseResource, days: list[dt.date], rng: np.random.Generator) -> None:
    pool = _grid(days, STRATEGIES).with_columns(
        in_pool=(pl.col("strategy_id") != "s4") & ((pl.col("strategy_id") != "s3") | (pl.col("date") >= days[30])),
        changed=(pl.col("strategy_id") == "s3") & (pl.col("date") == days[30]),
        evidence=pl.lit(0.98),
        reason=pl.when(pl.col("strategy_id") == "s4").then(pl.lit("below the bar")).otherwise(pl.lit("in the pool")),
    )
    _write(resource, "alpha.alpha_pool", pool)
    sharpe = pl.Series([1.1, 0.6, 0.3, -0.2])
    alpha = pl.Series([0.04, 0.02, 0.01, -0.01])
    today = pl.DataFrame({"date": [AS_OF] * 4, "strategy_id": STRATEGIES})
    posteriors = today.with_columns(
        sharpe_mean=sharpe,
        sharpe_q05=sharpe - 0.5,
        sharpe_q95=sharpe + 0.5,
        alpha_mean=alpha,
        alpha_q05=alpha - 0.03,
        alpha_q95=alpha + 0.03,
        beta_mean=pl.Series([0.9, 0.6, 0.3, 1.1]),
        p_alpha_positive=pl.Series([0.99, 0.9, 0.7, 0.3]),
    )
    _write(resource, "models.strategy_posteriors", posteriors)
    forecasts = today.with_columns(
        parameter_set=pl.lit("posterior"),
        horizon_days=pl.lit(21),
        p05=pl.lit(-0.05),
        p50=pl.Series([0.01, 0.005, 0.0, -0.002]),
        p95=pl.lit(0.06),
        mean_return=pl.lit(0.004),
        prob_loss=pl.lit(0.45),
        monthly_valley=pl.lit(-0.04),
    )
    _write(resource, "models.strategy_forecasts", forecasts)
    _write(
        resource,
        "models.forecast_calibration",
        today.with_columns(coverage_rate=pl.Series([0.9, 0.85, 0.95, 0.8]), n_evaluated=pl.lit(12)),
    )
    statistics = today.with_columns(
        window=pl.lit("252d"),
        annual_return=pl.Series([0.12, 0.06, 0.03, -0.02]),
        annual_volatility=pl.lit(0.15),
        sharpe=sharpe,
        max_drawdown=pl.lit(-0.1),
    )
    _write(resource, "stats.strategy_statistics", statistics)
    predicted = rng.uniform(0.0, 1.0, 40)
    scores = pl.DataFrame(
        {
            "date": [days[-1]] * 40,
            "strategy_id": [STRATEGIES[i % 4] for i in range(40)],
            "prediction_date": [days[i] for i in range(40)],
            "p_profitable": predicted,
            "realised": rng.uniform(0.0, 1.0, 40) < predicted,
        }
    )
    _write(resource, "models.metalabel_scores", scores)


def _seed_month_end(resource: WarehouseResource) -> None:
    months = list(range(1, 13))
    profit = [1000.0 * m for m in months]
    projection = pl.DataFrame(
        {
            "date": [MONTH_END] * 12,
            "solution_id": [FIRM_TOTAL] * 12,
            "months_ahead": months,
            "profit_p05": [p - 5000 for p in profit],
            "profit_p50": profit,
            "profit_p95": [p + 5000 for p in profit],
        }
    )
    _write(resource, "firm.firm_projections", projection)
    candidates = ["incumbent", "cfa_risk_aversion_2", "pfa_pause_3"]
    evaluations = pl.DataFrame(
        {
            "date": [MONTH_END] * 6,
            "solution_id": [s for s in SOLUTIONS for _ in candidates],
            "candidate_id": candidates * 2,
            "family": ["incumbent", "cfa", "pfa"] * 2,
            "score": [0.010, 0.012, 0.009, 0.004, 0.003, 0.005],
            "score_se": [0.001] * 6,
            "diff_vs_incumbent": [0.0, 0.002, -0.001, 0.0, -0.001, 0.001],
            "diff_se": [0.0, 0.0005, 0.0005, 0.0, 0.0005, 0.0005],
            "chosen": [False, True, False, True, False, False],
        }
    )
    _write(resource, "twin.policy_evaluations", evaluations)
