"""The NUTS fitter: one compiled model per padded shape, re-used across days, with the
exact fallback per strategy.

Compiling once
--------------
``StrategyModelFitter`` builds the model for a padded shape with ``pm.Data``, compiles it
with ``nutpie.compile_pymc_model`` (numba backend) on first use, keeps it in a
per-fitter cache keyed by ``(N_max, T_max, K, K_s, B_max)`` (``K`` the number of regressors, ``K_s``
how many of them are spreads over the benchmark, ``B_max`` the block slots, ``block_slots``) and, for every later window
of that shape, swaps the data in with nutpie's ``CompiledPyMCModel.with_data(name=array,
...)`` (read in nutpie 0.16.8's source: it returns a copy of the compiled model whose
user data point at read-only copies of the new arrays; only the rank is checked, so the
padding keeps shapes fixed; the numba functions are shared) and samples with
``nutpie.sample``. ``compile_seconds`` adds up the time spent compiling;
``fit_seconds`` in the summary excludes it. Fitters made with ``with_settings`` share
the cache. There is no module-level state.

Convergence and the exact fallback
----------------------------------
Diagnostics per strategy, over its parameters ``alpha_i``, each ``beta_ik``, ``sigma_i``,
``nu_i`` and ``sharpe_i`` -- not its residual ``loading_i``, a nuisance parameter of the
shared residual covariance (kept in the draws and summarised, but measured on the bundled
firm its bulk ESS was 63-165 of 600 on the most strongly loaded momentum sleeves while
their alpha and Sharpe had 660 or more; judging fallbacks by it would throw away good
fits for a quantity nothing downstream decides on): ``rhat_max`` is the largest
rank-normalised split R-hat and ``ess_bulk_min`` the smallest bulk ESS, both from
``arviz.rhat`` / ``arviz.ess`` (ArviZ 0.2x) on the nutpie draws; ``divergences`` is the
run's total of post-warm-up divergent transitions. A strategy's NUTS fit is
``converged`` when ``rhat_max <= max_rhat``, ``ess_bulk_min >= min_ess_bulk`` and
``divergences <= max_divergence_share * chains * draws``. The hyper-parameters'
diagnostics are reported in ``FitResult.hyper``.

A strategy that did not converge gets the **exact** conjugate fit instead (method
``conjugate``; ``fallback_reason`` names every failed check, e.g. ``"rhat 1.12 > 1.05"``);
its row keeps the NUTS diagnostics so nothing is hidden, and ``converged`` is True since
its draws are exact (under the conjugate model, which ignores shared residual risk). ``FitSettings.method = "conjugate"`` skips NUTS altogether
(``fallback_reason`` ``"configured"``, diagnostics null).
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from typing import Any

import numpy as np
import polars as pl

from twin_model.contracts import beta_column, encode_draws
from twin_model.conventions import FitMethod, MassMatrix
from twin_model.strategy._conjugate import _CONJUGATE_SAMPLER, _conjugate_strategy, conjugate_fit, replica_fit
from twin_model.strategy._model import build_model, padded_arrays, padded_shape, stored_variables
from twin_model.strategy._replication import split_replicas
from twin_model.strategy._results import (
    HYPER_PARAMETERS,
    HYPER_SCHEMA,
    FitResult,
    FitSettings,
    _draw_columns,
    _summarise_draws,
    _summary_frame,
    combine_fits,
)
from twin_model.strategy._window import ReturnWindow


@functools.cache
def _quiet_known_warnings() -> None:
    """Ignore, process-wide, three warnings that say nothing we act on, before PyMC, PyTensor,
    ArviZ and numba are imported. PyTensor's "could not link to a BLAS installation": the
    model is compiled by nutpie through numba, which does its own BLAS calls; PyTensor's C
    backend, the one that wanted BLAS, is not used to sample. numba's
    NumbaPerformanceWarning: it flags non-contiguous arrays inside PyTensor's generated
    numba code, which we do not write. ArviZ's "undergoing a major refactor" FutureWarning on
    import: the pinned version's API is what we call (constraints.txt pins it).
    """
    from numba.core.errors import NumbaPerformanceWarning

    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation", category=UserWarning)
    warnings.filterwarnings("ignore", category=NumbaPerformanceWarning)
    warnings.filterwarnings("ignore", message="\\nArviZ is undergoing a major refactor", category=FutureWarning)


class _CompileCache:
    """Compiled nutpie models by ``(N_max, T_max, K, K_s, B_max)``, and the seconds spent compiling them."""

    def __init__(self) -> None:
        self.models: dict[tuple[int, int, int, int, int], Any] = {}
        self.seconds = 0.0

    def get(self, key: tuple[int, int, int, int, int]):
        compiled = self.models.get(key)
        if compiled is None:
            _quiet_known_warnings()
            import nutpie

            started = time.perf_counter()
            n_max, t_max, n_factors, n_spreads, n_blocks = key
            model = build_model(n_max, t_max, n_factors, n_blocks=n_blocks, n_spreads=n_spreads)
            compiled = nutpie.compile_pymc_model(model, var_names=stored_variables(n_factors))
            self.seconds += time.perf_counter() - started
            self.models[key] = compiled
        return compiled


class StrategyModelFitter:
    """Fits ``ReturnWindow``s with one compiled model per padded shape, re-used across calls.

    ``fit(window, seed)`` swaps the window's data into the cached compiled model (compiling
    it on the first window of that shape), samples with nutpie, checks convergence per
    strategy and replaces a non-converged strategy by its exact conjugate fit.
    """

    def __init__(self, settings: FitSettings = FitSettings(), *, _cache: _CompileCache | None = None):
        self.settings = settings
        self._cache = _cache if _cache is not None else _CompileCache()

    @property
    def compile_seconds(self) -> float:
        """Total seconds spent compiling so far (shared with fitters from ``with_settings``)."""
        return self._cache.seconds

    @property
    def compiled_shapes(self) -> tuple[tuple[int, int, int, int, int], ...]:
        """The ``(N_max, T_max, K, K_s, B_max)`` models compiled so far."""
        return tuple(self._cache.models)

    def with_settings(self, **changes) -> StrategyModelFitter:
        """A fitter with some settings changed that shares this one's compiled models."""
        return StrategyModelFitter(dataclasses.replace(self.settings, **changes), _cache=self._cache)

    def fit(self, window: ReturnWindow, seed: int | None = None, *, masked_fill: float = 0.0) -> FitResult:
        """Posterior of every strategy of ``window``. ``seed`` defaults to ``settings.seed``.

        ``masked_fill`` is the finite value written into masked cells of the data array;
        it cannot change the result (see ``padded_arrays``)."""
        settings = self.settings
        seed = settings.seed if seed is None else int(seed)
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if not window.strategy_ids:
            raise ValueError("the window has no strategy")
        if settings.method == FitMethod.CONJUGATE:
            return conjugate_fit(window, settings, seed, "configured")
        modelled, replicas = split_replicas(window, settings.replication_tolerance)
        if not replicas:
            return self._nuts(window, seed, masked_fill)
        started = time.perf_counter()
        parts = [replica_fit(window, replicas, settings, seed)]
        if modelled.strategy_ids:
            parts.append(self._nuts(modelled, seed, masked_fill))
        return combine_fits(window, parts, time.perf_counter() - started)

    def _nuts(self, window: ReturnWindow, seed: int, masked_fill: float) -> FitResult:
        """Every strategy of ``window`` sampled by NUTS, the non-converged replaced by the exact
        fit. A low-rank metric that fails any strategy's checks is retried once with the
        diagonal one (same seed) before anything falls back."""
        import nutpie

        settings = self.settings
        t, n = window.returns.shape
        shape = padded_shape(n, t, settings.window_days)
        data = padded_arrays(window, *shape, masked_fill=masked_fill)
        key = (*shape, len(window.factor_ids), window.n_spreads, data["count"].shape[1])  # B_max: block_slots
        compiled = self._cache.get(key).with_data(**data)

        started = time.perf_counter()
        sampled = _sample(compiled, window, settings, seed)
        sampler = f"nutpie {nutpie.__version__} {settings.mass_matrix}"
        if any(sampled.reasons) and settings.mass_matrix == MassMatrix.LOW_RANK:
            sampled = _sample(compiled, window, dataclasses.replace(settings, mass_matrix=MassMatrix.DIAGONAL), seed)
            sampler = f"nutpie {nutpie.__version__} diagonal (low_rank failed its checks)"
        reasons = sampled.reasons
        total = settings.chains * settings.draws
        flat = {name: values.reshape(total, n) for name, values in sampled.arrays.items()}
        summary_cols = _summarise_draws(flat, settings.hurdle_sharpe, window.factor_ids)
        _fall_back(window, flat, summary_cols, reasons, settings, seed)
        summary = _summary_frame(
            window,
            summary_cols,
            settings,
            seed,
            rhat_max=[float(v) for v in sampled.rhat],
            ess_bulk_min=[float(v) for v in sampled.ess],
            divergences=[sampled.divergences] * n,
            converged=[True] * n,
            method=[(FitMethod.CONJUGATE if reasons[i] else FitMethod.NUTS).value for i in range(n)],
            fallback_reason=[reasons[i] or None for i in range(n)],
            sampler=[_CONJUGATE_SAMPLER if reasons[i] else sampler for i in range(n)],
            fit_seconds=time.perf_counter() - started,
        )
        draws = encode_draws(window.strategy_ids, flat, window.factor_ids)
        return FitResult(summary=summary, draws=draws, hyper=sampled.hyper)


@dataclasses.dataclass(frozen=True)
class _Sampled:
    """One NUTS run's strategy draws ``[chains, draws, N]`` by column, its diagnostics per
    strategy, the failed checks per strategy ("" when converged) and the hyper-parameters."""

    arrays: dict[str, np.ndarray]
    rhat: np.ndarray
    ess: np.ndarray
    divergences: int
    reasons: list[str]
    hyper: pl.DataFrame


def _sample(compiled, window: ReturnWindow, settings: FitSettings, seed: int) -> _Sampled:
    """Sample ``compiled`` (its data already ``window``'s) with ``settings``, and diagnose."""
    import nutpie

    trace = nutpie.sample(
        compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        maxdepth=settings.max_treedepth,
        low_rank_modified_mass_matrix=settings.mass_matrix == MassMatrix.LOW_RANK,
        target_accept=settings.target_accept,
        seed=seed,
        save_warmup=False,
        progress_bar=False,
    )
    arrays = _strategy_arrays(trace.posterior, window)
    divergences = int(trace.sample_stats["diverging"].values.sum())
    rhat, ess = _diagnostics({name: arrays[name] for name in _diagnosed(window)})
    reasons = _failed_checks(rhat, ess, divergences, settings.chains * settings.draws, settings)
    return _Sampled(arrays, rhat, ess, divergences, reasons, _hyper_summary(trace.posterior, window.factor_ids))


def _strategy_arrays(posterior, window: ReturnWindow) -> dict[str, np.ndarray]:
    """Every draws column of the window's strategies, ``[chains, draws, N]`` (padding columns
    dropped): the parameters, the benchmark's and each regressor's beta, and the derived
    daily mean, vol and Sharpe."""
    n = len(window.strategy_ids)
    alpha, sigma, nu, loading = (posterior[name].values[:, :, :n] for name in ("alpha", "sigma", "nu", "loading"))
    if window.factor_ids:
        betas = posterior["beta"].values[:, :, :n, :]
    else:
        betas = np.zeros((*alpha.shape, 0))
    return _draw_columns(window, alpha, betas, sigma, nu, loading)


def _diagnosed(window: ReturnWindow) -> list[str]:
    """The parameters whose R-hat and ESS decide a strategy's convergence."""
    return ["alpha", "sigma", "nu", "sharpe"] + [beta_column(f) for f in window.factor_ids]


def _fall_back(window: ReturnWindow, flat, summary_cols, reasons: list[str], settings: FitSettings, seed: int) -> None:
    """Replace, in place, the draws and summary of every strategy with a failed check by its
    exact conjugate fit (the closed-form values where they exist, the draws' otherwise)."""
    fallback = [i for i in range(len(reasons)) if reasons[i]]
    conj = {}
    for i in fallback:
        conj[i] = _conjugate_strategy(window, i, settings, seed)
        for name in flat:
            flat[name][:, i] = conj[i]["draws"][name]
    if fallback:
        conj_cols = _summarise_draws(flat, settings.hurdle_sharpe, window.factor_ids)
        for i in fallback:
            for key, values in conj_cols.items():
                summary_cols[key][i] = values[i]
            for key, value in conj[i]["exact"].items():
                summary_cols[key][i] = value


def _diagnostics(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per strategy: max rank-normalised split R-hat and min bulk ESS over ``arrays``
    (each ``[chains, draws, N]``), via arviz."""
    import arviz as az
    import xarray as xr

    dataset = xr.Dataset({name: (("chain", "draw", "strategy"), values) for name, values in arrays.items()})
    rhat = az.rhat(dataset, method="rank")
    ess = az.ess(dataset, method="bulk")
    rhat_stack = np.stack([rhat[name].values for name in arrays])
    ess_stack = np.stack([ess[name].values for name in arrays])
    # A parameter constant over every draw has no defined R-hat; it cannot fail to mix.
    rhat_stack = np.where(np.isnan(rhat_stack), -np.inf, rhat_stack)
    ess_stack = np.where(np.isnan(ess_stack), np.inf, ess_stack)
    return rhat_stack.max(axis=0), ess_stack.min(axis=0)


def _failed_checks(rhat, ess, divergences: int, total: int, settings: FitSettings) -> list[str]:
    limit = settings.max_divergence_share * total
    reasons = []
    for r, e in zip(rhat, ess):
        failed = []
        if not r <= settings.max_rhat:
            failed.append(f"rhat {r:.3f} > {settings.max_rhat:g}")
        if not e >= settings.min_ess_bulk:
            failed.append(f"ess_bulk {e:.0f} < {settings.min_ess_bulk:g}")
        if divergences > limit:
            failed.append(f"divergences {divergences} > {limit:g}")
        reasons.append("; ".join(failed))
    return reasons


def _hyper_summary(posterior, factor_ids: tuple[str, ...]) -> pl.DataFrame:
    """One row per hyper-parameter (per regressor for ``mu_beta`` and ``tau_beta``, named
    ``mu_beta[<regressor>]``)."""
    import arviz as az

    names = [name for name in HYPER_PARAMETERS if name in posterior]
    sub = posterior[names]
    rhat = az.rhat(sub, method="rank")
    ess = az.ess(sub, method="bulk")
    rows = []
    for name in names:
        values, r, e = sub[name].values, np.atleast_1d(rhat[name].values), np.atleast_1d(ess[name].values)
        labels = [name] if values.ndim == 2 else [f"{name}[{f}]" for f in factor_ids]
        for k, label in enumerate(labels):
            column = values if values.ndim == 2 else values[..., k]
            rows.append(
                {
                    "parameter": label,
                    "mean": float(column.mean()),
                    "sd": float(column.std(ddof=1)),
                    "rhat": float(r[k]),
                    "ess_bulk": float(e[k]),
                }
            )
    return pl.DataFrame(rows, schema=HYPER_SCHEMA)
