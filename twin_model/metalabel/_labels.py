"""Metalabels: did a strategy's next ``horizon`` observed returns, over its factors, make money?

For strategy i at day t (a day with an observed return of i), take the next ``horizon``
observed returns of i strictly after t, on days s_1 < ... < s_h, and the factor loadings
beta_ik known at t (the latest betas dated on or before t). The residual return of day s is

    u_s = r_s - sum_k beta_ik x_sk          (x_sk: factor k's return on day s)

and the labels are

    label       = prod_s (1 + u_s) - 1 > 0       (profitable over its factors)
    label_total = prod_s (1 + r_s) - 1 > 0       (profitable in total return)

``window_end`` = s_h, the date of the horizon-th observed return after t: the label is
known, and usable for training, on day T only when ``window_end <= T``. A day whose
window is not complete in the data gets no row.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from twin_model.conventions import observed_return

DEFAULT_HORIZON = 21
"""The label's horizon in observed returns (about a month)."""

LABEL_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "strategy_id": pl.String(),
    "window_end": pl.Date(),
    "residual_return": pl.Float64(),
    "total_return": pl.Float64(),
    "label": pl.Boolean(),
    "label_total": pl.Boolean(),
}
"""Columns of ``metalabel_labels`` in order. ``residual_return`` and ``label`` are null where
no betas were known at t, or a factor return is missing on a day of the window."""


BETAS_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "strategy_id": pl.String(),
    "factor_id": pl.String(),
    "beta": pl.Float64(),
}
"""Columns of the betas frame ``metalabel_labels`` reads (``betas_from_posteriors`` makes one)."""


def betas_from_posteriors(posteriors: pl.DataFrame) -> pl.DataFrame:
    """The betas frame from posterior rows (date, strategy_id, factor_betas), ``factor_betas``
    a JSON object {factor_id: posterior mean beta}; ``{}`` (a fit without factors) gives one
    row with a null factor_id and beta. Columns ``BETAS_SCHEMA``."""
    rows = []
    for i, (day, sid, text) in enumerate(posteriors.select("date", "strategy_id", "factor_betas").iter_rows()):
        try:
            loadings = json.loads(text)
            if not isinstance(loadings, dict):
                raise ValueError("not a JSON object")
            pairs = [(str(k), float(v)) for k, v in loadings.items()]
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"posteriors row {i} ({sid}, {day}), column factor_betas: {text!r} is not a JSON object of numbers ({exc})"
            ) from exc
        rows += [(day, sid, k, v) for k, v in pairs] or [(day, sid, None, None)]
    return pl.DataFrame(rows, schema=BETAS_SCHEMA, orient="row")


def _wide_factors(factor_returns: pl.DataFrame, factors: list[str]) -> pl.DataFrame:
    """Factor returns as (date, one column per factor), checking every factor is there."""
    known = set(factor_returns["factor_id"].unique().to_list())
    missing = [f for f in factors if f not in known]
    if missing:
        raise ValueError(f"betas name factor_id {missing} that factor_returns (column factor_id) does not hold")
    if factor_returns.select(pl.struct("date", "factor_id").is_duplicated().any()).item():
        raise ValueError("factor_returns holds more than one row for a (date, factor_id)")
    wide = (
        factor_returns.filter(pl.col("factor_id").is_in(factors))
        .with_columns(pl.col("ret").cast(pl.Float64).fill_nan(None))
        .pivot(on="factor_id", index="date", values="ret")
    )
    return wide.select("date", *[pl.col(f).cast(pl.Float64) for f in factors])


def _observed(returns: pl.DataFrame) -> pl.DataFrame:
    """Observed rows (``conventions.observed_return``) sorted by strategy and date."""
    obs = (
        returns.filter(observed_return(returns.columns))
        .select("date", "strategy_id", pl.col("ret").cast(pl.Float64))
        .sort("strategy_id", "date")
    )
    if obs.select(pl.struct("strategy_id", "date").is_duplicated().any()).item():
        raise ValueError("returns hold more than one observed row for a (strategy_id, date)")
    if obs["ret"].is_infinite().any():
        raise ValueError("returns contain an infinite ret")
    return obs


def _betas_at(obs: pl.DataFrame, betas: pl.DataFrame, factors: list[str]) -> pl.DataFrame:
    """For each observed (date, strategy_id): the betas of the latest fit dated on or before it,
    one column per factor (0 for a factor the fit does not load on) and ``has_betas``."""
    if betas.select(pl.struct("date", "strategy_id", "factor_id").is_duplicated().any()).item():
        raise ValueError("betas hold more than one row for a (date, strategy_id, factor_id)")
    if factors:
        fits = betas.pivot(on="factor_id", index=["date", "strategy_id"], values="beta")
        fits = fits.select("date", "strategy_id", *[pl.col(f).cast(pl.Float64).fill_null(0.0) for f in factors])
    else:
        fits = betas.select("date", "strategy_id").unique()
    fits = fits.with_columns(pl.lit(True).alias("has_betas")).sort("strategy_id", "date")
    joined = obs.join_asof(fits, on="date", by="strategy_id", strategy="backward", check_sortedness=False)
    return joined.with_columns(pl.col("has_betas").fill_null(False))


def _strategy_labels(block: pl.DataFrame, factors: list[str], horizon: int) -> dict[str, np.ndarray]:
    """Labels of one strategy's observed days (rows sorted by date)."""
    n = block.height
    m = n - horizon  # days t = obs[j] with a full window obs[j+1 .. j+horizon]
    r = block["ret"].to_numpy()
    windows = np.lib.stride_tricks.sliding_window_view(np.arange(1, n), horizon)[:m]
    total = np.prod(1.0 + r[windows], axis=1) - 1.0
    explained = np.zeros((m, horizon))
    for f in factors:
        x = block[f"x_{f}"].to_numpy().astype(float)  # null factor return -> NaN
        explained += block[f].to_numpy()[:m, None] * x[windows]
    residual = np.prod(1.0 + r[windows] - explained, axis=1) - 1.0
    residual[~block["has_betas"].to_numpy()[:m]] = np.nan
    return {"row": np.arange(m), "end": windows[:, -1], "residual": residual, "total": total}


def metalabel_labels(
    returns: pl.DataFrame,
    factor_returns: pl.DataFrame,
    betas: pl.DataFrame,
    *,
    horizon: int = DEFAULT_HORIZON,
) -> pl.DataFrame:
    """The residual and total-return labels of every (observed day, strategy) with a full window.

    ``returns`` is long (date, strategy_id, ret[, available]); ``factor_returns`` long
    (date, factor_id, ret); ``betas`` long (date, strategy_id, factor_id, beta): the loadings
    of a strategy's fit of that date (e.g. posterior means); the fit in force at t is the
    latest dated on or before t, a factor absent from it has beta 0, and a fit with no
    factor at all is one row with a null ``factor_id``. Formula in the module docstring.
    Rows ordered by strategy_id then date; columns ``LABEL_SCHEMA``.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1 observed return, got {horizon}")
    factors = sorted(betas["factor_id"].drop_nulls().unique().to_list())
    obs = _betas_at(_observed(returns), betas, factors)
    wide = _wide_factors(factor_returns, factors).rename({f: f"x_{f}" for f in factors})
    obs = obs.join(wide, on="date", how="left").sort("strategy_id", "date")
    parts = []
    for (sid,), block in obs.group_by("strategy_id", maintain_order=True):
        if block.height <= horizon:
            continue
        lab = _strategy_labels(block, factors, horizon)
        dates = block["date"]
        parts.append(
            pl.DataFrame(
                {
                    "date": dates.gather(lab["row"]),
                    "strategy_id": pl.Series([sid] * len(lab["row"]), dtype=pl.String),
                    "window_end": dates.gather(lab["end"]),
                    "residual_return": pl.Series(lab["residual"], dtype=pl.Float64).fill_nan(None),
                    "total_return": pl.Series(lab["total"], dtype=pl.Float64),
                }
            )
        )
    if not parts:
        return pl.DataFrame(schema=LABEL_SCHEMA)
    out = pl.concat(parts).with_columns(
        label=pl.col("residual_return") > 0,
        label_total=pl.col("total_return") > 0,
    )
    return out.select(list(LABEL_SCHEMA))
