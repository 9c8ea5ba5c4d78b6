"""The twin layer's tables: the month-end policy search and the walk-forward back-test."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from twin_model.contracts._fields import finite, values_of
from twin_model.conventions import BacktestKind, CandidateFamily, Evaluator, ScoreKind

_RETURN = "net monthly return of the solution, a fraction (0.01 = 1%)"


class PolicyEvaluations(pa.DataFrameModel):
    """twin.policy_evaluations: per month end, solution and candidate policy, its score on
    the search's common paths and, for the winner and the incumbent, on hold-out paths.

    ``score`` is the mean per-path utility (``mean_variance``: R - lambda (R - mean R)^2;
    ``log_growth``: log(1 + R)) of the net return R over ``horizon_days``; differences are
    paired on the same paths. Exactly one candidate per solution and month end is the
    incumbent, one is ``best_in_sample`` and one is ``chosen`` (the winner when its
    hold-out difference vs the incumbent is positive, else the incumbent). The paths are
    regenerated from (``seed``, path index) and the day's posterior draws.
    """

    date: pl.Date = pa.Field(nullable=False, description="The month end whose close the search starts from.")
    solution_id: pl.String = pa.Field(nullable=False, description="The solution searched.")
    candidate_id: pl.String = pa.Field(
        nullable=False, description="The candidate: 'incumbent' or family:rule=value,... of what it changes."
    )
    family: pl.String = pa.Field(isin=values_of(CandidateFamily), description="incumbent, pfa, cfa or dla.")
    parameters: pl.String = pa.Field(
        description="JSON of the searched rules (policy_kind, policy_params, target_exposure, turnover_limit, "
        "pause_days, ramp_days, stop_valley_multiple) the candidate runs."
    )
    incumbent: pl.Boolean = pa.Field(description="True for the solution's configured policy.")
    evaluator: pl.String = pa.Field(
        isin=values_of(Evaluator),
        description="vectorised, reference (the solution step via the runner) or mixed (vectorised, the paths a risk rule could touch by the reference).",
    )
    mean_return: pl.Float64 = pa.Field(description=f"Mean over the search paths of the {_RETURN}.")
    se_return: pl.Float64 = pa.Field(ge=0, description="Standard error of mean_return (sd ddof 1 / sqrt(n_paths)).")
    score: pl.Float64 = pa.Field(description="Mean per-path utility (return units).")
    score_se: pl.Float64 = pa.Field(ge=0, description="Standard error of score.")
    diff_vs_incumbent: pl.Float64 = pa.Field(
        description="Mean per-path utility minus the incumbent's on the same paths."
    )
    diff_se: pl.Float64 = pa.Field(ge=0, description="Standard error of the paired difference.")
    best_in_sample: pl.Boolean = pa.Field(description="True for the candidate with the highest score.")
    holdout_score: pl.Float64 = pa.Field(
        nullable=True, description="Score on the hold-out paths (the winner and the incumbent only)."
    )
    holdout_se: pl.Float64 = pa.Field(nullable=True, ge=0, description="Standard error of holdout_score.")
    holdout_diff_vs_incumbent: pl.Float64 = pa.Field(
        nullable=True, description="The winner's paired difference vs the incumbent on the hold-out paths."
    )
    holdout_diff_se: pl.Float64 = pa.Field(nullable=True, ge=0, description="Standard error of that difference.")
    chosen: pl.Boolean = pa.Field(description="True for the policy in force after this month end.")
    n_paths: pl.Int64 = pa.Field(ge=2, description="Search paths (stream 0 of the seed).")
    holdout_paths: pl.Int64 = pa.Field(ge=2, description="Hold-out paths (stream 1 of the seed).")
    horizon_days: pl.Int64 = pa.Field(ge=1, description="Business days each path covers.")
    seed: pl.Int64 = pa.Field(description="The search's seed: path p of stream f is SeedSequence(seed) child (f, p).")
    score_kind: pl.String = pa.Field(isin=values_of(ScoreKind), description="mean_variance or log_growth.")
    risk_aversion: pl.Float64 = pa.Field(ge=0, description="lambda of mean_variance (per monthly return variance).")

    class Config:
        strict = True
        unique = ["date", "solution_id", "candidate_id"]

    @pa.check("mean_return", "score", "diff_vs_incumbent", name="finite")
    @classmethod
    def estimates_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return finite(data)

    @pa.dataframe_check(name="one_incumbent_best_and_choice_per_search")
    @classmethod
    def one_each(cls, data: PolarsData) -> pl.LazyFrame:
        """Per (date, solution_id): exactly one incumbent, one best_in_sample, one chosen."""
        counts = data.lazyframe.group_by("date", "solution_id").agg(
            pl.col("incumbent").sum().alias("i"),
            pl.col("best_in_sample").sum().alias("b"),
            pl.col("chosen").sum().alias("c"),
        )
        return counts.select((pl.col("i") == 1) & (pl.col("b") == 1) & (pl.col("c") == 1))


_ANNUALISED = "annualised as 252 x the daily mean"


class BacktestResults(pa.DataFrameModel):
    """twin.backtest_results: one walk-forward back-test (``start``..``date``) per row set:
    each solution as the twin ran it and on its static configuration, and the baselines
    over the same days (``twin_model.twin.backtest``). A back-test replaces the rows of
    its end date. Survivorship: the bundled strategies hold 2022's survivors."""

    date: pl.Date = pa.Field(nullable=False, description="The back-test's last business day (its as-of).")
    start: pl.Date = pa.Field(nullable=False, description="The back-test's first business day.")
    portfolio_id: pl.String = pa.Field(
        nullable=False, description="The solution, 'equal_weight', or the benchmark's factor id."
    )
    kind: pl.String = pa.Field(
        isin=values_of(BacktestKind),
        description="twin, static, pool_tuned, launched, equal_weight or benchmark (what the row measures).",
    )
    days: pl.Int64 = pa.Field(ge=0, description="Business days with a return.")
    total_return: pl.Float64 = pa.Field(nullable=True, description="prod(1 + r) - 1 over the days, a fraction.")
    annual_return: pl.Float64 = pa.Field(nullable=True, description="Geometric: prod(1 + r)^(252/n) - 1.")
    annual_volatility: pl.Float64 = pa.Field(nullable=True, ge=0, description="std(r, ddof=1) x sqrt(252).")
    sharpe: pl.Float64 = pa.Field(
        nullable=True, description="Annualised Sharpe of the daily return over the cash rate (NaN below 2 days)."
    )
    max_drawdown: pl.Float64 = pa.Field(nullable=True, le=0, description="Worst fall from a peak of wealth (<= 0).")
    turnover: pl.Float64 = pa.Field(ge=0, description=f"One-way turnover 1/2 sum |trade weight|, {_ANNUALISED}.")
    trading_costs: pl.Float64 = pa.Field(ge=0, description=f"Trading costs over start-of-day assets, {_ANNUALISED}.")
    fees: pl.Float64 = pa.Field(description=f"Management and performance fees over start-of-day assets, {_ANNUALISED}.")
    seed: pl.Int64 = pa.Field(description="The cost model's slippage seed the solution steps used.")

    class Config:
        strict = True
        unique = ["date", "kind", "portfolio_id"]
