"""The strategy deep dive, firm and stress pages."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from twin_model import reports
from twin_resources.dashboard._data import DashboardData
from twin_resources.dashboard._html import Page, grouped_bars

BACKTEST_MISSING = "No back-test yet: run `twin backtest`."


def _intervals(frame: pl.DataFrame, label: str, mean: str, low: str, high: str, name: str) -> go.Scatter:
    """Points at ``mean`` with asymmetric error bars to ``low`` and ``high``, one per row."""
    return go.Scatter(
        x=frame.get_column(mean).to_list(),
        y=frame.get_column(label).to_list(),
        mode="markers",
        name=name,
        error_x=dict(
            type="data",
            symmetric=False,
            array=(frame.get_column(high) - frame.get_column(mean)).to_list(),
            arrayminus=(frame.get_column(mean) - frame.get_column(low)).to_list(),
        ),
    )


def _height(rows: int) -> int:
    return max(300, 22 * rows + 120)


def strategies(data: DashboardData) -> Page:
    page = Page("strategies", "Strategy deep dive")
    intervals = reports.posterior_intervals(data["posteriors"], data.as_of)
    if intervals.height == 0:
        page.missing("the posteriors", "models.strategy_posteriors")
    else:
        for parameter, title, fmt in (
            ("sharpe", "Posterior annual Sharpe ratio: mean and 90% interval (q05..q95)", ".2f"),
            ("alpha", "Posterior alpha over the factors: mean and 90% interval (q05..q95)", ".1%"),
        ):
            rows = intervals.filter(pl.col("parameter") == parameter).sort("mean")
            fig = go.Figure(_intervals(rows, "strategy_id", "mean", "q05", "q95", parameter))
            fig.add_vline(x=0, line_color="#999")
            fig.update_xaxes(tickformat=fmt)
            page.figure(fig, title, height=_height(rows.height))
        page.export("posteriors", intervals)
    bands = reports.forecast_bands(data["forecasts"], data.as_of)
    if bands.height == 0:
        page.missing("the one-month forecasts", "models.strategy_forecasts")
    else:
        fig = go.Figure(_intervals(bands, "strategy_id", "p50", "p05", "p95", "p50 (p05..p95)"))
        fig.add_trace(
            go.Scatter(
                x=bands.get_column("monthly_valley").to_list(),
                y=bands.get_column("strategy_id").to_list(),
                mode="markers",
                marker_symbol="x",
                name="monthly valley",
            )
        )
        fig.update_xaxes(tickformat=".1%")
        page.figure(fig, "One-month forecast fan: median, 5-95% band and monthly valley", height=_height(bands.height))
        page.export("forecasts", bands)
    page.heading("The alpha pool")
    size, changes = reports.pool_history(data["pool"])
    if size.height == 0:
        page.missing("the alpha pool", "alpha.alpha_pool")
    else:
        fig = go.Figure(
            go.Scatter(x=size.get_column("date").to_list(), y=size.get_column("in_pool").to_list(), mode="lines")
        )
        fig.update_yaxes(title="strategies in the pool", rangemode="tozero")
        page.figure(fig, "Alpha-pool size", height=280)
        page.export("pool_size", size)
        if changes.height == 0:
            page.note("No strategy entered or left the pool in the stored days.")
        else:
            page.note("Decisions that changed a strategy's state, newest first, with their reasons.")
            page.table("pool_changes", changes, sortable=True)
    page.heading("Metalabel reliability and forecast calibration")
    scores = data["metalabel_scores"]
    if scores.height == 0:
        page.missing("metalabel outcomes (they mature a month after each prediction)", "models.metalabel_scores")
    else:
        bins = reports.reliability(scores)
        fig = go.Figure(
            [
                go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line_dash="dash"),
                go.Scatter(
                    x=bins.get_column("predicted").to_list(),
                    y=bins.get_column("realised").to_list(),
                    text=[f"n={n}" for n in bins.get_column("n")],
                    mode="lines+markers",
                    name="metalabels",
                ),
            ]
        )
        fig.update_xaxes(title="predicted P(profitable)", range=[0, 1])
        fig.update_yaxes(title="realised share profitable", range=[0, 1])
        page.figure(fig, f"Metalabel reliability ({scores.height} matured predictions)")
        page.export("reliability", bins)
    coverage = reports.calibration_today(data["calibration"], data.as_of)
    if coverage.height == 0:
        page.missing("forecast calibration", "models.forecast_calibration")
    else:
        fig = go.Figure(
            go.Bar(x=coverage.get_column("strategy_id").to_list(), y=coverage.get_column("coverage_rate").to_list())
        )
        fig.add_hline(y=0.90, line_dash="dash", annotation_text="nominal 90%")
        fig.update_yaxes(tickformat=".0%", range=[0, 1])
        page.figure(fig, "Forecast calibration: share of realised months inside the 5-95% band")
        page.export("calibration", coverage)
    return page


def firm(data: DashboardData) -> Page:
    page = Page("firm", "Firm")
    performance = data["performance"]
    if performance.height == 0:
        page.missing("the fee waterfall", "portfolio.solution_performance")
    else:
        steps = reports.fee_waterfall(performance)
        fig = go.Figure(
            go.Waterfall(
                x=steps.get_column("step").to_list(),
                y=steps.get_column("amount").to_list(),
                measure=steps.get_column("kind").to_list(),
            )
        )
        page.figure(fig, "Gross to net over the solutions' days (money; fees are the solutions' charges)")
        page.export("fee_waterfall", steps)
    pnl = reports.firm_rows(data["firm_pnl"])
    if pnl.height == 0:
        page.missing("the firm's P&L", "firm.firm_pnl")
    else:
        dates = pnl.get_column("date").to_list()
        fig = go.Figure(
            [
                go.Bar(x=dates, y=pnl.get_column("revenue").to_list(), name="revenue"),
                go.Bar(x=dates, y=(-pnl.get_column("costs")).to_list(), name="costs"),
                go.Scatter(x=dates, y=pnl.get_column("profit_ytd").to_list(), name="profit year to date", yaxis="y2"),
            ]
        )
        fig.update_layout(barmode="relative", yaxis2=dict(overlaying="y", side="right", showgrid=False))
        page.figure(fig, "The firm's daily revenue and costs, and profit year to date")
        page.table("firm_pnl", pnl.sort("date", descending=True), rows=10)
    projection = reports.latest_projection(data["projections"])
    if projection.height == 0:
        page.missing("the 12-month projection (a month end)", "firm.firm_projections")
    else:
        months = projection.get_column("months_ahead").to_list()
        fig = go.Figure(
            [
                go.Scatter(
                    x=months,
                    y=projection.get_column("profit_p95").to_list(),
                    mode="lines",
                    line_width=0,
                    showlegend=False,
                ),
                go.Scatter(
                    x=months,
                    y=projection.get_column("profit_p05").to_list(),
                    mode="lines",
                    line_width=0,
                    fill="tonexty",
                    name="p05..p95",
                ),
                go.Scatter(x=months, y=projection.get_column("profit_p50").to_list(), mode="lines+markers", name="p50"),
            ]
        )
        fig.update_xaxes(title="months ahead")
        page.figure(fig, f"Projected monthly profit from {projection.get_column('date')[0]} (fan: 5-95%)")
        page.export("projection", projection)
    search = reports.latest_search(data["evaluations"])
    page.heading("Policy search")
    if search.height == 0:
        page.missing("the policy search (a month end)", "twin.policy_evaluations")
    else:
        labelled = search.with_columns(label=pl.concat_str(["solution_id", "candidate_id"], separator=" / "))
        fig = go.Figure(
            [
                _intervals(
                    labelled.filter(~pl.col("chosen")), "label", "score", "score_low", "score_high", "candidate"
                ),
                _intervals(labelled.filter(pl.col("chosen")), "label", "score", "score_low", "score_high", "chosen"),
            ]
        )
        page.figure(
            fig,
            f"Candidates' scores +- 1.96 standard errors, month end {search.get_column('date')[0]}",
            height=_height(search.height),
        )
        page.table("policy_search", search, sortable=True)
    page.heading("Back-test against baselines")
    backtest = reports.backtest_view(data.backtest)
    if backtest is None:
        page.note(BACKTEST_MISSING)
    else:
        if backtest.sharpe is not None:
            fig = go.Figure(
                go.Bar(
                    x=backtest.sharpe.get_column("label").to_list(), y=backtest.sharpe.get_column("sharpe").to_list()
                )
            )
            page.figure(fig, "Back-test: Sharpe ratio per row")
        page.table("backtest", backtest.rows, sortable=True)
    return page


def stress(data: DashboardData) -> Page:
    page = Page("stress", "Stress")
    weights = reports.todays_weights(data["weights"], data.as_of)
    if weights.height == 0:
        page.missing("today's book (no strategy held)", "portfolio.solution_weights")
        return page
    page.note(
        "Today's weights held fixed; each strategy's realised daily returns in the window (missing days count 0)."
    )
    historical = reports.historical_stress(weights, data["returns"])
    if historical.height == 0:
        page.note("No historical stress window lies inside the stored returns.")
    else:
        fig = grouped_bars(historical, "window", "book_return", ".1%")
        page.figure(fig, "Historical windows applied to today's book")
        page.table("historical", historical)
    betas = data["posteriors"].select("strategy_id", beta="beta_mean")
    shocks = reports.parametric_shocks(weights, betas)
    page.heading("Parametric shocks of the S&P 500")
    page.note(
        "book return = shock x sum of weight x posterior beta to the benchmark (a strategy without a posterior counts 0)."
    )
    shock_label = pl.format("S&P 500 {}%", (pl.col("shock") * 100).round(0).cast(pl.Int64))
    fig = grouped_bars(shocks.with_columns(label=shock_label), "label", "book_return", ".1%")
    page.figure(fig, "S&P 500 shocks through each strategy's posterior beta")
    page.table("parametric", shocks)
    return page
