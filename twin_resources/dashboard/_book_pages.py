"""The overview, risk and performance pages: the book as a whole."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from twin_model import reports
from twin_resources.dashboard._data import DashboardData
from twin_resources.dashboard._html import Page, cards, grouped_bars

SOLUTIONS = "portfolio.solution_performance (the solution level)"
RISK_WINDOW = 21
"""Observed days of the realised volatility drawn against the volatility target."""
SERIES = reports.SERIES


def _lines(frame: pl.DataFrame, y: str, by: str = SERIES, **trace) -> list[go.Scatter]:
    style = {"mode": "lines", **trace}
    return [
        go.Scatter(x=group.get_column("date").to_list(), y=group.get_column(y).to_list(), name=str(key), **style)
        for (key,), group in frame.sort(by, "date").group_by(by, maintain_order=True)
    ]


def _percent(value: float) -> str:
    return f"{value:+.2%}"


def overview(data: DashboardData) -> Page:
    page = Page("overview", "Overview")
    performance = data["performance"]
    figures = reports.headline(performance, data["weights"])
    if figures is None:
        page.missing("the firm's figures", SOLUTIONS)
    else:
        page.blocks.append(
            cards(
                [
                    ("Firm value (AUM)", f"{figures.firm_value:,.0f}"),
                    ("Today's P&L", f"{figures.pnl_today:+,.0f}"),
                    ("Return since inception", _percent(figures.return_since_inception)),
                    ("Gross leverage", f"{figures.leverage:.2f}x"),
                    ("Drawdown", f"{figures.drawdown:.2%}"),
                    ("Active strategies", str(figures.active_strategies)),
                ]
            )
        )
        page.export("headline", pl.DataFrame([figures.__dict__]))
    page.heading("Equity curves against the S&P 500")
    curves = reports.equity_curves(performance, data["returns"], data.benchmark)
    if curves.height == 0:
        page.missing("equity curves", SOLUTIONS)
    else:
        fig = go.Figure()
        for kind, width, opacity in (("strategy", 1, 0.45), ("benchmark", 2.5, 1.0), ("solution", 2.5, 1.0)):
            for trace in _lines(curves.filter(pl.col("kind") == kind), "wealth", line_width=width, opacity=opacity):
                trace.legendgroup = kind
                fig.add_trace(trace)
        events = reports.rebalance_events(performance)
        fig.add_trace(
            go.Scatter(
                x=events.get_column("date").to_list(),
                y=events.get_column("wealth").to_list(),
                text=events.get_column(SERIES).to_list(),
                mode="markers",
                name="rebalance",
                marker=dict(symbol="triangle-up", size=9, color="#111"),
            )
        )
        fig.update_yaxes(title="growth of 1")
        page.figure(fig, "Growth of 1 since the solutions' first day (triangles: rebalances)", height=460)
        page.export("equity_curves", curves)
        page.export("rebalance_events", events)
    page.heading("Strategies (click a column to sort)")
    table = reports.strategy_table(data["pool"], data["posteriors"], data["statistics"], data["weights"], data.as_of)
    if table.height == 0:
        page.missing("the strategy table", "alpha.alpha_pool and models.strategy_posteriors")
    else:
        page.table("strategies", table, sortable=True)
    return page


def risk(data: DashboardData) -> Page:
    page = Page("risk", "Risk")
    performance = data["performance"]
    limits = data.limits
    if performance.height == 0:
        page.missing("leverage, volatility and drawdown", SOLUTIONS)
    else:
        exposure = performance.select("date", pl.col("solution_id").alias(SERIES), "leverage", "drawdown")
        fig = go.Figure(_lines(exposure, "leverage"))
        fig.add_hline(y=limits.max_gross_leverage, line_dash="dash", line_color="red", annotation_text="limit")
        page.figure(fig, f"Gross leverage against its limit ({limits.max_gross_leverage:g}x)")
        book = reports.book_returns(performance, data.benchmark)
        realised = reports.rolling_metrics(
            book.filter(pl.col("kind") != "benchmark").drop("kind"), data.benchmark, SERIES, window=RISK_WINDOW
        )
        if realised.height == 0:
            page.note(f"Realised volatility needs {RISK_WINDOW} observed days of the solutions.")
        else:
            fig = go.Figure(_lines(realised, "volatility"))
            fig.add_hline(y=limits.volatility_target, line_dash="dash", line_color="red", annotation_text="target")
            fig.update_yaxes(tickformat=".0%")
            page.figure(fig, f"Realised volatility ({RISK_WINDOW} observed days, annualised) against the target")
            page.export("realised_volatility", realised)
        firm = reports.drawdown(book.filter(pl.col("kind") == "firm").drop("kind"), SERIES)
        curves = pl.concat([exposure.select("date", SERIES, "drawdown"), firm.select("date", SERIES, "drawdown")])
        fig = go.Figure(_lines(curves, "drawdown", fill="tozeroy"))
        fig.update_yaxes(tickformat=".1%")
        page.figure(fig, "Drawdown from the peak (solutions: AUM peak; FIRM: time-weighted)")
        page.export("exposure", exposure)
        tails = reports.tail_risk_table(book.drop("kind"), SERIES)
        page.heading("Value at risk")
        page.note(
            "Historical one-day VaR and CVaR at 95%: VaR is the 5% quantile of the observed daily returns "
            "(linear interpolation), CVaR the mean of the returns at or below it; negative numbers are losses, "
            "as returns (fractions), over the solutions' days."
        )
        fig = go.Figure(
            [
                go.Bar(x=tails.get_column(SERIES).to_list(), y=tails.get_column(m).to_list(), name=m.upper())
                for m in ("var", "cvar")
            ]
        )
        fig.update_yaxes(tickformat=".2%")
        page.figure(fig, "One-day VaR and CVaR (95%, historical)")
        page.table("var_cvar", tails)
    page.heading("Correlation of the strategies")
    matrix = reports.correlation(data["returns"], data.as_of)
    if matrix.height < 2:
        page.missing("the correlation matrix", "raw.strategy_returns")
    else:
        ids = matrix.get_column("strategy_id").to_list()
        fig = go.Figure(
            go.Heatmap(
                z=matrix.select(ids).to_numpy(), x=ids, y=ids, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True
            )
        )
        page.figure(fig, f"Correlation of daily returns, last {reports.CORRELATION_DAYS} days", height=520)
        page.export("correlation", matrix)
    contributions = reports.risk_contributions(data["attribution"], data.as_of)
    if contributions.height == 0:
        page.missing("risk contributions", "portfolio.strategy_attribution")
    else:
        fig = grouped_bars(contributions, "strategy_id", "risk_contribution_pct", ".0%")
        page.figure(fig, "Risk contribution per strategy (share of the solution's volatility)")
        page.export("risk_contributions", contributions)
    page.heading("Violation log")
    log = reports.violation_log(data["violations"])
    if log.height == 0:
        page.note("No risk violation up to this day (portfolio.risk_violations is empty).")
    else:
        page.note("One row per violation: opened, days seen, its worst value against the limit, resolved or open.")
        page.table("violations", log, sortable=True)
    return page


def performance(data: DashboardData) -> Page:
    page = Page("performance", "Performance")
    book = reports.book_returns(data["performance"], data.benchmark)
    if book.height == 0:
        page.missing("the solutions' returns", SOLUTIONS)
        return page
    series = book.drop("kind")
    grown = reports.growth(series, SERIES)
    fig = go.Figure(_lines(grown.with_columns(pl.col("wealth") - 1.0), "wealth"))
    fig.update_yaxes(tickformat=".1%")
    page.figure(fig, "Cumulative return (net of fees; FIRM time-weighted; S&P 500 total return)")
    page.export("daily_returns", book)
    monthly = reports.monthly_returns(series, SERIES).with_columns(
        row=pl.concat_str([pl.col(SERIES), pl.col("year").cast(pl.String)], separator=" "),
    )
    wide = monthly.pivot(on="month", index="row", values="ret")
    months = sorted((c for c in wide.columns if c != "row"), key=int)  # calendar order, not text order
    fig = go.Figure(
        go.Heatmap(
            z=wide.select(months).to_numpy(),
            x=[f"{int(m):02d}" for m in months],
            y=wide.get_column("row").to_list(),
            colorscale="RdYlGn",
            zmid=0,
            texttemplate="%{z:.1%}",
        )
    )
    fig.update_xaxes(title="month")
    page.figure(fig, "Monthly returns (daily returns compounded)", height=max(300, 40 * wide.height + 120))
    page.export("monthly_returns", monthly.drop("row"))
    fig = go.Figure(
        [
            go.Histogram(x=g.get_column("ret").to_list(), name=str(key), opacity=0.6, nbinsx=40)
            for (key,), g in series.drop_nulls("ret").group_by(SERIES, maintain_order=True)
        ]
    )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(tickformat=".1%")
    page.figure(fig, "Distribution of daily returns")
    rolling = reports.rolling_metrics(
        book.filter(pl.col("kind") != "benchmark").drop("kind"), data.benchmark, SERIES, window=reports.ROLLING_WINDOW
    )
    page.heading(f"Rolling {reports.ROLLING_WINDOW}-day Sharpe, volatility and beta to the S&P 500")
    if rolling.height == 0:
        page.note(f"The rolling figures need {reports.ROLLING_WINDOW} observed days of a solution.")
    else:
        for column, title, fmt in (
            ("sharpe", "Rolling Sharpe (annualised, risk-free 0)", ".2f"),
            ("volatility", "Rolling volatility (annualised)", ".0%"),
            ("beta", "Rolling beta to the S&P 500", ".2f"),
        ):
            fig = go.Figure(_lines(rolling, column, mode="lines+markers"))
            fig.update_yaxes(tickformat=fmt)
            page.figure(fig, title, height=300)
        page.export("rolling", rolling)
    attribution = reports.attribution_summary(data["attribution"])
    page.heading("Attribution")
    if attribution.height == 0:
        page.missing("the attribution", "portfolio.strategy_attribution")
    else:
        fig = grouped_bars(attribution, "strategy_id", "return_contribution", ".2%")
        page.figure(fig, "Return contribution per strategy over the span (sum of daily w x r)")
        page.table("attribution", attribution, sortable=True)
    return page
