"""The firm page's data: the gross-to-net fee waterfall, the firm's P&L, its projection,
the month-end policy search and the back-test against baselines."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from twin_model.conventions import FIRM_TOTAL

Z_95 = 1.959963984540054
"""Two-sided 95% normal quantile: error bars are +- Z_95 standard errors."""


def fee_waterfall(performance: pl.DataFrame) -> pl.DataFrame:
    """step, amount, kind over every solution and day of ``performance`` (money):
    the strategies' and cash P&L before costs and fees (net P&L + fees + trading costs),
    less trading costs, less management fees, less the performance-fee charge
    (accrual changes, which may write back), giving the net P&L (sum of ``pnl``).
    The relative steps add up to the total exactly."""
    costs = float(performance.get_column("costs").sum())
    management = float(performance.get_column("management_fee").sum())
    performance_fee = float(performance.get_column("performance_fee_charge").sum())
    net = float(performance.get_column("pnl").sum())
    gross = net + management + performance_fee + costs
    return pl.DataFrame(
        {
            "step": ["gross P&L", "trading costs", "management fees", "performance fees", "net P&L"],
            "amount": [gross, -costs, -management, -performance_fee, net],
            "kind": ["relative", "relative", "relative", "relative", "total"],
        }
    )


def firm_rows(pnl: pl.DataFrame) -> pl.DataFrame:
    """The firm's total rows (FIRM) of ``firm.firm_pnl``, by date."""
    return pnl.filter(pl.col("solution_id") == FIRM_TOTAL).sort("date")


def latest_projection(projections: pl.DataFrame) -> pl.DataFrame:
    """The FIRM rows of the latest projection, by month ahead."""
    firm = projections.filter(pl.col("solution_id") == FIRM_TOTAL)
    if firm.height == 0:
        return firm
    return firm.filter(pl.col("date") == firm.get_column("date").max()).sort("months_ahead")


def latest_search(evaluations: pl.DataFrame) -> pl.DataFrame:
    """The latest month end's candidates per solution: solution_id, candidate_id, family,
    score, score_low, score_high (score +- 1.96 standard errors), diff_vs_incumbent,
    diff_se, chosen, best_in_sample; best score first within each solution."""
    if evaluations.height == 0:
        return evaluations.select(
            "date", "solution_id", "candidate_id", "family", "score", "diff_vs_incumbent", "diff_se", "chosen"
        ).with_columns(score_low=pl.lit(None, pl.Float64), score_high=pl.lit(None, pl.Float64))
    latest = evaluations.filter(pl.col("date") == evaluations.get_column("date").max())
    return latest.select(
        "date",
        "solution_id",
        "candidate_id",
        "family",
        "score",
        score_low=pl.col("score") - Z_95 * pl.col("score_se"),
        score_high=pl.col("score") + Z_95 * pl.col("score_se"),
        diff_vs_incumbent="diff_vs_incumbent",
        diff_se="diff_se",
        chosen="chosen",
    ).sort("solution_id", "score", descending=[False, True])


@dataclass(frozen=True)
class BacktestView:
    """The back-test as the firm page shows it: its rows (any columns), and per row a
    label and its Sharpe ratio when the table has a ``sharpe`` column (else None)."""

    rows: pl.DataFrame
    sharpe: pl.DataFrame | None


def backtest_view(results: pl.DataFrame | None) -> BacktestView | None:
    """None when there is no back-test (table absent or empty); the label of a row is its
    first text column (else its position)."""
    if results is None or results.height == 0:
        return None
    if "sharpe" not in results.columns:
        return BacktestView(results, None)
    text = [name for name, dtype in results.schema.items() if dtype == pl.String]
    label = pl.col(text[0]) if text else pl.int_range(pl.len()).cast(pl.String)
    if len(text) > 1:
        label = pl.concat_str([pl.col(name).fill_null("") for name in text[:2]], separator=" / ")
    sharpe = results.select(label=label, sharpe=pl.col("sharpe").cast(pl.Float64))
    return BacktestView(results, sharpe)
