"""Hand-made anchors for the rolling-update tests: their dates and the row facts an
``Anchor`` of exact draws carries (``_rolling.CARRIED``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from twin_model.conventions import FitMethod


def anchor_rows(n: int, total: int, method: FitMethod = FitMethod.NUTS) -> pl.DataFrame:
    """One row per strategy ``s0 .. s{n-1}``: ``total`` draws on one chain, sampled by ``method``."""
    return pl.DataFrame(
        {
            "strategy_id": [f"s{i}" for i in range(n)],
            "method": [method.value] * n,
            "rhat_max": [1.001] * n,
            "ess_bulk_min": [float(total)] * n,
            "divergences": [0] * n,
            "sampler": ["exact draws (test)"] * n,
            "seed": [11] * n,
            "chains": [1] * n,
            "draws": [total] * n,
        }
    )


def weekdays(n: int, start: dt.date = dt.date(2020, 1, 6)) -> tuple[dt.date, ...]:
    """``n`` consecutive weekdays from ``start`` (rolled forward to a weekday)."""
    days = np.busday_offset(np.datetime64(start, "D"), np.arange(n), roll="forward")
    return tuple(days.astype(dt.date).tolist())
