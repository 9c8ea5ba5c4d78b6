"""The artefacts' encodings, both ways: the arrays a layer computes and the frames the
artefact store keeps (Parquet files referenced by a table row, see twin_resources.artifacts).

* Posterior draws (``models.strategy_posteriors``): long, one row per ``(draw,
  strategy_id)`` with the columns of ``DRAWS_SCHEMA``, ordered by strategy then draw.
  ``draw`` is ``chain * draws + index``; sharpe is annual, the rest daily. ``beta`` is the
  benchmark's beta (0 without a benchmark), ``loading`` the residual's loading on its
  block's shared risk (0 for a block of one), ``nu`` the block's tail df; one column
  ``beta_<regressor>`` per regressor of the fit (``draw_factor_ids`` reads them back in
  order, ``decode_betas`` gives the ``[D, N, K]`` array). ``weight`` is the draw's
  posterior weight, summing to 1 per strategy: ``1/S`` for a fit's own draws, the
  importance weights on a reweighted day (an artefact written before weights existed
  reads as equally weighted).
* Scenario matrices (``models.strategy_forecasts``): long in ``parameter_set, path, day``
  (day 1-based), wide in strategies, float32.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from twin_model.conventions import ParameterSetName

DRAW_COLUMNS = ("daily_mean", "alpha", "beta", "sigma", "nu", "vol", "sharpe", "loading")
"""The quantities of one posterior draw of one strategy (besides its per-regressor betas)."""
DRAWS_SCHEMA: dict[str, pl.DataType] = {
    "draw": pl.Int64(),
    "strategy_id": pl.String(),
    **{name: pl.Float64() for name in DRAW_COLUMNS},
    "weight": pl.Float64(),
}
"""The columns every posterior-draws artefact has (``draws_schema`` adds the betas)."""
BETA_PREFIX = "beta_"


def beta_column(factor_id: str) -> str:
    """The draws column of the beta on regressor ``factor_id`` (e.g. ``beta_MTUM-SP500``)."""
    return f"{BETA_PREFIX}{factor_id}"


def draws_schema(factor_ids: Sequence[str]) -> dict[str, pl.DataType]:
    """The columns of a draws artefact of a fit on ``factor_ids``."""
    return {**DRAWS_SCHEMA, **{beta_column(f): pl.Float64() for f in factor_ids}}


def draw_quantities(factor_ids: Sequence[str]) -> tuple[str, ...]:
    """The per-draw quantities of a fit on ``factor_ids``: ``DRAW_COLUMNS`` and one beta per regressor."""
    return (*DRAW_COLUMNS, *(beta_column(f) for f in factor_ids))


def draw_factor_ids(frame: pl.DataFrame) -> tuple[str, ...]:
    """The regressors of a draws artefact, in its column order."""
    return tuple(c[len(BETA_PREFIX) :] for c in frame.columns if c.startswith(BETA_PREFIX))


def encode_draws(
    strategy_ids: Sequence[str],
    draws: Mapping[str, np.ndarray],
    factor_ids: Sequence[str] = (),
    weights: np.ndarray | None = None,
) -> pl.DataFrame:
    """The draws artefact of ``draws`` (each of ``DRAW_COLUMNS`` and ``beta_column(f)`` for
    ``f`` in ``factor_ids`` a ``[total, N]`` array, columns in ``strategy_ids`` order) with
    ``weights`` ``[total, N]`` (each column summing to 1; None: ``1/total`` each)."""
    n = len(strategy_ids)
    total = draws[DRAW_COLUMNS[0]].shape[0]
    if weights is None:
        weights = np.full((total, n), 1.0 / total)
    sums = np.asarray(weights).sum(axis=0)
    if np.asarray(weights).shape != (total, n) or not np.allclose(sums, 1.0):
        raise ValueError(f"weights must be [{total}, {n}] with each strategy's column summing to 1")
    schema = draws_schema(factor_ids)
    values = {**draws, "weight": np.asarray(weights, dtype=np.float64)}
    return pl.DataFrame(
        {
            "draw": np.repeat(np.arange(total, dtype=np.int64), n),
            "strategy_id": list(strategy_ids) * total,
            **{name: values[name].reshape(-1) for name in schema if name not in ("draw", "strategy_id")},
        },
        schema=schema,
    ).sort("strategy_id", "draw", maintain_order=True)


def decode_weights(frame: pl.DataFrame, strategy_ids: Sequence[str]) -> np.ndarray:
    """The draws' weights ``[D, N]`` (columns in ``strategy_ids`` order), ``1/D`` each for an
    artefact without a ``weight`` column."""
    if "weight" not in frame.columns:
        total = frame.filter(pl.col("strategy_id") == strategy_ids[0]).height
        return np.full((total, len(strategy_ids)), 1.0 / total)
    return decode_draws(frame, strategy_ids, ("weight",))["weight"]


def decode_betas(frame: pl.DataFrame, strategy_ids: Sequence[str], factor_ids: Sequence[str]) -> np.ndarray:
    """``[D, N, K]``: the betas on ``factor_ids`` (``beta_<id>`` columns) of a draws artefact."""
    columns = [beta_column(f) for f in factor_ids]
    decoded = decode_draws(frame, strategy_ids, columns)
    if not columns:
        count = decode_draws(frame, strategy_ids, ("alpha",))["alpha"].shape
        return np.zeros((*count, 0))
    return np.stack([decoded[c] for c in columns], axis=-1)


def decode_draws(
    frame: pl.DataFrame, strategy_ids: Sequence[str], columns: Sequence[str] = DRAW_COLUMNS
) -> dict[str, np.ndarray]:
    """``columns`` of a draws artefact as ``[D, N]`` float arrays (columns in
    ``strategy_ids`` order, draws ascending; a null is NaN). Raises ``ValueError`` when a
    column is absent, a strategy has no rows, or a (draw, strategy) is not exactly one row."""
    ids = list(strategy_ids)
    absent = {"draw", "strategy_id", *columns} - set(frame.columns)
    if absent:
        raise ValueError(f"posterior draws lack columns {sorted(absent)}")
    frame = frame.select("draw", "strategy_id", *columns).filter(pl.col("strategy_id").is_in(ids))
    present = set(frame["strategy_id"].unique().to_list())
    missing = [s for s in ids if s not in present]
    if missing:
        raise ValueError(f"posterior draws hold no rows for strategies {missing}")
    draw_values, row = np.unique(frame["draw"].to_numpy(), return_inverse=True)
    col = frame["strategy_id"].replace_strict({s: i for i, s in enumerate(ids)}, return_dtype=pl.Int64).to_numpy()
    count = np.zeros((len(draw_values), len(ids)), dtype=np.int64)
    np.add.at(count, (row, col), 1)
    if (count != 1).any():
        bad = sorted({ids[j] for j in np.nonzero(count != 1)[1]})
        raise ValueError(f"posterior draws need exactly one row per (draw, strategy); broken for {bad}")
    out = {}
    for name in columns:
        values = np.empty(count.shape)
        values[row, col] = frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
        out[name] = values
    return out


def encode_scenarios(scenarios: Mapping[str, np.ndarray], ids: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """The scenarios artefact of ``scenarios`` (parameter set -> ``[paths, horizon, N]``
    daily returns, columns in ``ids[parameter set]`` order): parameter_set, path, day,
    <strategy_id>... (a strategy absent from a set is null there)."""
    frames = []
    for name, matrix in scenarios.items():
        paths, horizon, _ = matrix.shape
        flat = matrix.reshape(paths * horizon, -1).astype(np.float32)
        frame = pl.DataFrame(flat, schema=list(ids[name]), orient="row").with_columns(
            parameter_set=pl.lit(name),
            path=pl.Series(np.repeat(np.arange(paths, dtype=np.int32), horizon)),
            day=pl.Series(np.tile(np.arange(1, horizon + 1, dtype=np.int16), paths)),
        )
        frames.append(frame.select("parameter_set", "path", "day", *ids[name]))
    return pl.concat(frames, how="diagonal")


def decode_scenarios(
    frame: pl.DataFrame, wanted: Sequence[str], parameter_set: str = ParameterSetName.POSTERIOR
) -> np.ndarray | None:
    """Daily returns ``[paths, horizon, len(wanted)]`` of one parameter set of a scenarios
    artefact; None when the set is absent or a wanted strategy is not in the artefact."""
    rows = frame.filter(pl.col("parameter_set") == str(parameter_set))
    if rows.height == 0 or not set(wanted) <= set(rows.columns):
        return None
    paths, horizon = rows.get_column("path").n_unique(), rows.get_column("day").n_unique()
    values = rows.sort("path", "day").select(list(wanted)).to_numpy().astype(float)
    return values.reshape(paths, horizon, len(wanted))
