"""The book as a whole: the firm's headline figures, the return series of the solutions,
the firm and the benchmark, equity curves with rebalance events, the strategy table and
the attribution of the span. Frames in, frames and dataclasses out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from twin_model.conventions import FIRM_TOTAL, StatisticsWindow
from twin_model.reports._measures import drawdown, growth

BENCHMARK = "S&P 500"
SERIES = "series"


@dataclass(frozen=True)
class Headline:
    """The overview's figures on ``as_of``: firm value (the solutions' AUM, money), the
    day's P&L (money, net of fees), the firm's time-weighted return since inception,
    AUM-weighted gross leverage, the firm's current drawdown from its peak and the number
    of strategies held (a positive closing weight in any solution)."""

    as_of: dt.date
    firm_value: float
    pnl_today: float
    return_since_inception: float
    leverage: float
    drawdown: float
    active_strategies: int


def firm_returns(performance: pl.DataFrame) -> pl.DataFrame:
    """date, ret: the firm's daily time-weighted return, sum(pnl) / sum(aum_start) over
    the solutions (flows excluded, as ``pnl`` excludes them)."""
    return performance.group_by("date").agg(ret=pl.col("pnl").sum() / pl.col("aum_start").sum()).sort("date")


def book_returns(performance: pl.DataFrame, benchmark: pl.DataFrame) -> pl.DataFrame:
    """date, series, ret, kind: each solution's net return (NAV per unit), the firm's
    (``FIRM``) and the benchmark's over the same days."""
    if performance.height == 0:
        return pl.DataFrame(schema={"date": pl.Date, SERIES: pl.String, "ret": pl.Float64, "kind": pl.String})
    first, last = performance.get_column("date").min(), performance.get_column("date").max()
    solutions = performance.select(
        "date", pl.col("solution_id").alias(SERIES), ret="net_return", kind=pl.lit("solution")
    )
    firm = firm_returns(performance).select("date", pl.lit(FIRM_TOTAL).alias(SERIES), "ret", kind=pl.lit("firm"))
    bench = benchmark.filter(pl.col("date").is_between(first, last)).select(
        "date", pl.lit(BENCHMARK).alias(SERIES), "ret", kind=pl.lit("benchmark")
    )
    return pl.concat([solutions, firm, bench]).sort(SERIES, "date")


def headline(performance: pl.DataFrame, weights: pl.DataFrame) -> Headline | None:
    """The overview's figures on the last day of ``performance`` (None when empty)."""
    if performance.height == 0:
        return None
    as_of = performance.get_column("date").max()
    today = performance.filter(pl.col("date") == as_of)
    firm = drawdown(firm_returns(performance).with_columns(**{SERIES: pl.lit(FIRM_TOTAL)}), SERIES)
    aum = float(today.get_column("aum").sum())
    held = weights.filter((pl.col("date") == as_of) & (pl.col("weight_close") > 0))
    return Headline(
        as_of=as_of,
        firm_value=aum,
        pnl_today=float(today.get_column("pnl").sum()),
        return_since_inception=float(firm.get_column("wealth")[-1]) - 1.0,
        leverage=float((today.get_column("leverage") * today.get_column("aum")).sum() / aum) if aum else 0.0,
        drawdown=float(firm.get_column("drawdown")[-1]),
        active_strategies=held.get_column("strategy_id").n_unique(),
    )


def equity_curves(performance: pl.DataFrame, strategy_returns: pl.DataFrame, benchmark: pl.DataFrame) -> pl.DataFrame:
    """date, series, kind, wealth: growth of 1 of each solution (NAV per unit), each
    strategy and the benchmark from the solutions' first day."""
    if performance.height == 0:
        return pl.DataFrame(schema={"date": pl.Date, SERIES: pl.String, "kind": pl.String, "wealth": pl.Float64})
    first, last = performance.get_column("date").min(), performance.get_column("date").max()
    strategies = strategy_returns.filter(pl.col("date").is_between(first, last)).select(
        "date", pl.col("strategy_id").alias(SERIES), "ret", kind=pl.lit("strategy")
    )
    book = book_returns(performance, benchmark).filter(pl.col("kind") != "firm")
    frames = pl.concat([book, strategies])
    return growth(frames, SERIES).select("date", SERIES, "kind", "wealth")


def rebalance_events(performance: pl.DataFrame) -> pl.DataFrame:
    """date, series, wealth: the days each solution rebalanced, on its equity curve."""
    curve = growth(performance.select("date", pl.col("solution_id").alias(SERIES), ret="net_return"), SERIES)
    rebalanced = performance.filter(pl.col("rebalanced")).select("date", pl.col("solution_id").alias(SERIES))
    return rebalanced.join(curve, on=["date", SERIES], how="inner").select("date", SERIES, "wealth").sort("date")


def strategy_table(
    pool: pl.DataFrame, posteriors: pl.DataFrame, statistics: pl.DataFrame, weights: pl.DataFrame, as_of: dt.date
) -> pl.DataFrame:
    """One row per strategy on ``as_of``: in the pool and its evidence, posterior Sharpe
    and P(alpha > 0), the trailing-year statistics and ``firm_weight``, its closing
    weight averaged over the solutions."""
    ids = pl.concat(
        [f.filter(pl.col("date") == as_of).select("strategy_id") for f in (pool, posteriors, statistics, weights)]
    ).unique()
    table = ids.join(
        pool.filter(pl.col("date") == as_of).select("strategy_id", "in_pool", "evidence", "reason"),
        on="strategy_id",
        how="left",
    )
    table = table.join(
        posteriors.filter(pl.col("date") == as_of).select("strategy_id", "sharpe_mean", "p_alpha_positive"),
        on="strategy_id",
        how="left",
    )
    year = statistics.filter((pl.col("date") == as_of) & (pl.col("window") == StatisticsWindow.DAYS_252.value)).select(
        "strategy_id", "annual_return", "annual_volatility", "sharpe", "max_drawdown"
    )
    table = table.join(year, on="strategy_id", how="left")
    held = weights.filter(pl.col("date") == as_of)
    firm_weight = (
        held.group_by("strategy_id").agg(
            firm_weight=pl.col("weight_close").sum() / held.get_column("solution_id").n_unique()
        )
        if held.height
        else pl.DataFrame(schema={"strategy_id": pl.String, "firm_weight": pl.Float64})
    )
    return table.join(firm_weight, on="strategy_id", how="left").sort("strategy_id")


def attribution_summary(attribution: pl.DataFrame) -> pl.DataFrame:
    """solution_id, strategy_id, return_contribution (summed daily contributions over the
    span, arithmetic), mean_risk_contribution_pct."""
    return (
        attribution.group_by("solution_id", "strategy_id")
        .agg(
            return_contribution=pl.col("return_contribution").sum(),
            mean_risk_contribution_pct=pl.col("risk_contribution_pct").mean(),
        )
        .sort("solution_id", "strategy_id")
    )
