"""The models layer's tables: posterior summaries, forecasts and their calibration."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from twin_model.contracts._fields import PROBABILITY, SHA256_PATTERN, values_of
from twin_model.conventions import FitMethod, MetalabelModelKind


class StrategyPosteriors(pa.DataFrameModel):
    """models.strategy_posteriors: the posterior summary of each strategy's return model.

    Daily units unless named otherwise (sharpe_* are annualised). ``alpha_*`` is alpha
    over the factors named by ``alpha_reference`` (``"factors: SP500, MTUM-SP500, ..."``:
    the benchmark and each other factor's spread over it; ``"cash"`` without factors);
    ``beta_*`` is the benchmark's beta (0 without one) and ``factor_betas`` a JSON object
    of every regressor's posterior mean beta. ``residual_block`` names the sector whose
    unlisted risk the strategy shares with the other ``block_size - 1`` strategies of its
    block (null for a block of one), ``residual_loading_*`` its residual's correlation with
    that shared risk (0 alone, and for a conjugate row, which ignores shared risk).
    ``method`` says whether NUTS, the exact conjugate fallback, or a reweighting of the
    anchor's draws (the last NUTS fit, on ``anchor_date``) produced the row; ``converged``
    False means the row must not be used downstream. A reweighted row has the PSIS shape
    ``pareto_k`` and effective sample size ``ess_weighted`` of its importance weights,
    ``days_since_anchor`` observed days after the anchor, and carries the anchor's sampler
    diagnostics; a fitted row has ``anchor_date`` = its date, ``days_since_anchor`` 0 and
    ``refit_reason`` (why it was not reweighted: ``RefitRule`` values with details); a
    conjugate row with an earlier ``anchor_date`` and no ``refit_reason`` is a day after a
    NUTS fit that failed for every strategy, waiting ``retry_after_failure`` days to retry
    (its ``fallback_reason`` says so). Draws
    live in the artefact store at ``draws_path`` (a reweighted day's are the anchor's with
    their weights),
    verified on read by ``draws_sha256`` (the sha256 of the file's bytes).
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    n_obs: pl.Int64 = pa.Field(ge=0)
    daily_mean_mean: pl.Float64
    daily_mean_sd: pl.Float64 = pa.Field(ge=0)
    alpha_mean: pl.Float64
    alpha_sd: pl.Float64 = pa.Field(ge=0)
    beta_mean: pl.Float64
    beta_sd: pl.Float64 = pa.Field(ge=0)
    alpha_reference: pl.String
    factor_betas: pl.String
    residual_block: pl.String = pa.Field(nullable=True)
    block_size: pl.Int64 = pa.Field(ge=1)
    residual_loading_mean: pl.Float64 = pa.Field(ge=-1, le=1)
    residual_loading_sd: pl.Float64 = pa.Field(ge=0)
    vol_mean: pl.Float64 = pa.Field(gt=0)
    vol_sd: pl.Float64 = pa.Field(ge=0)
    nu_mean: pl.Float64 = pa.Field(gt=2)
    nu_sd: pl.Float64 = pa.Field(nullable=True)
    sharpe_mean: pl.Float64
    sharpe_sd: pl.Float64 = pa.Field(ge=0)
    sharpe_q05: pl.Float64
    sharpe_q95: pl.Float64
    alpha_q05: pl.Float64
    alpha_q95: pl.Float64
    p_alpha_positive: pl.Float64 = pa.Field(**PROBABILITY)
    p_sharpe_above_hurdle: pl.Float64 = pa.Field(**PROBABILITY)
    rhat_max: pl.Float64 = pa.Field(nullable=True)
    ess_bulk_min: pl.Float64 = pa.Field(nullable=True)
    divergences: pl.Int64 = pa.Field(nullable=True, ge=0)
    converged: pl.Boolean
    method: pl.String = pa.Field(isin=values_of(FitMethod))
    fallback_reason: pl.String = pa.Field(nullable=True)
    sampler: pl.String
    draws: pl.Int64 = pa.Field(gt=0)
    chains: pl.Int64 = pa.Field(gt=0)
    seed: pl.Int64
    window_start: pl.Date
    window_end: pl.Date
    window_days: pl.Int64 = pa.Field(gt=0)
    fit_seconds: pl.Float64 = pa.Field(ge=0)
    pareto_k: pl.Float64 = pa.Field(nullable=True)
    ess_weighted: pl.Float64 = pa.Field(nullable=True, gt=0)
    anchor_date: pl.Date
    days_since_anchor: pl.Int64 = pa.Field(ge=0)
    refit_reason: pl.String = pa.Field(nullable=True)
    draws_path: pl.String
    draws_sha256: pl.String = pa.Field(str_matches=SHA256_PATTERN)

    class Config:
        strict = True
        unique = ["date", "strategy_id"]


class StrategyForecasts(pa.DataFrameModel):
    """models.strategy_forecasts: the next month of each strategy, simulated.

    Returns are the month's compounded return; ``monthly_valley`` is the 5th percentile
    over paths of the running minimum of month-to-date cumulative P&L (<= 0).
    ``parameter_set`` is "posterior" (the model) or a named view such as "expert".
    Scenario matrices live in the artefact store at ``scenarios_path``, verified on read
    by ``scenarios_sha256``.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    parameter_set: pl.String = pa.Field(nullable=False)
    horizon_days: pl.Int64 = pa.Field(gt=0)
    n_paths: pl.Int64 = pa.Field(gt=0)
    mean_return: pl.Float64 = pa.Field(gt=-1)
    p05: pl.Float64 = pa.Field(gt=-1)
    p50: pl.Float64 = pa.Field(gt=-1)
    p95: pl.Float64 = pa.Field(gt=-1)
    prob_loss: pl.Float64 = pa.Field(**PROBABILITY)
    expected_shortfall_95: pl.Float64 = pa.Field(gt=-1)
    monthly_valley: pl.Float64 = pa.Field(gt=-1, le=0)
    expected_trough: pl.Float64 = pa.Field(gt=-1, le=0)
    scenarios_path: pl.String
    scenarios_sha256: pl.String = pa.Field(str_matches=SHA256_PATTERN)

    class Config:
        strict = True
        unique = ["date", "strategy_id", "parameter_set"]

    @pa.dataframe_check(name="percentiles_ordered")
    @classmethod
    def percentiles_ordered(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("p05") <= pl.col("p50")) & (pl.col("p50") <= pl.col("p95")))


class ForecastCalibration(pa.DataFrameModel):
    """models.forecast_calibration: did the month that just ended fall in the 5-95 band
    forecast a month earlier, and the running coverage of every matured forecast.

    ``horizon_days`` is the forecast's horizon in observed returns (null on rows stored
    before the table had the column)."""

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    forecast_date: pl.Date
    horizon_days: pl.Int64 = pa.Field(nullable=True, gt=0)
    realised_return: pl.Float64 = pa.Field(gt=-1)
    p05: pl.Float64
    p95: pl.Float64
    inside_band: pl.Boolean
    n_evaluated: pl.Int64 = pa.Field(gt=0)
    coverage_rate: pl.Float64 = pa.Field(**PROBABILITY)

    class Config:
        strict = True
        unique = ["date", "strategy_id"]


class Metalabels(pa.DataFrameModel):
    """models.metalabels: a second opinion on each strategy, P(profitable next month).

    ``p_profitable`` = P(the next ``horizon_days`` observed returns, over the strategy's
    factors (its posterior mean betas on the regressors of ``factor_betas``), compound to
    > 0 | the features known at ``date``) (``twin_model.metalabel``). ``model`` is the
    classifier the purged cross-validation chose (``base_rate`` when fewer than
    ``MetalabelSettings.min_months`` label months had matured, or no model beat it),
    fitted on ``fitted_on`` from ``n_train`` matured labels over ``effective_months``
    distinct months (the effective sample: one month's labels overlap). The fitted model
    is in the artefact store at ``model_path``, verified on read by ``model_sha256``.
    ``n_scored``, ``brier``, ``log_loss``, ``auc`` and ``base_rate`` score every earlier
    prediction stored whose window had ended by ``date`` (out of sample: each was made by
    a model fitted before it); the base rate's own Brier score is base_rate (1 - base_rate).
    All null while nothing has matured; ``auc`` null while one outcome only.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    p_profitable: pl.Float64 = pa.Field(**PROBABILITY)
    model: pl.String = pa.Field(isin=values_of(MetalabelModelKind))
    fitted_on: pl.Date
    n_train: pl.Int64 = pa.Field(ge=0)
    effective_months: pl.Int64 = pa.Field(ge=0)
    horizon_days: pl.Int64 = pa.Field(gt=0)
    model_path: pl.String
    model_sha256: pl.String = pa.Field(str_matches=SHA256_PATTERN)
    n_scored: pl.Int64 = pa.Field(ge=0)
    brier: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    log_loss: pl.Float64 = pa.Field(nullable=True, ge=0)
    auc: pl.Float64 = pa.Field(nullable=True, **PROBABILITY)
    base_rate: pl.Float64 = pa.Field(nullable=True, **PROBABILITY)

    class Config:
        strict = True
        unique = ["date", "strategy_id"]

    @pa.dataframe_check(name="fitted_before_use")
    @classmethod
    def fitted_before_use(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("fitted_on") <= pl.col("date"))


class MetalabelOutcomes(pa.DataFrameModel):
    """models.metalabel_scores: each metalabel prediction once its window has ended.

    A row on ``date`` is a prediction made on ``prediction_date`` (a ``models.metalabels``
    row) whose ``horizon_days`` observed returns ended on ``window_end`` = ``date``, with
    the probability then given, the window's ``realised_return`` (over the strategy's
    factors; the total return when ``metalabel.label`` is ``label_total``) and the outcome
    ``realised`` = realised_return > 0. Reliability (mean ``p_profitable`` against the rate of ``realised`` by
    bin) and AUC over any span are queries over these rows.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    prediction_date: pl.Date = pa.Field(nullable=False)
    p_profitable: pl.Float64 = pa.Field(**PROBABILITY)
    model: pl.String = pa.Field(isin=values_of(MetalabelModelKind))
    realised_return: pl.Float64 = pa.Field(gt=-1)
    realised: pl.Boolean
    window_end: pl.Date

    class Config:
        strict = True
        unique = ["date", "strategy_id", "prediction_date"]

    @pa.dataframe_check(name="matured_on_date")
    @classmethod
    def matured_on_date(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("window_end") == pl.col("date")) & (pl.col("prediction_date") < pl.col("date"))
        )
