"""Factor returns: the series a strategy's alpha is measured over (``raw.factor_returns``).

A factor's return on day t is its simple return over its own consecutive closes,

    r_t = c_t / c_{t-1} - 1.

A price index (the S&P 500 as skfolio ships it) leaves out the dividends that the
stocks' and the ETFs' adjusted closes include, which would credit a strategy's alpha
with about beta x the dividend yield a year. Such a series is made a total return by
adding a dividend yield y (annual) spread over the business days,

    r_t^total = c_t / c_{t-1} - 1 + d,    d = (1 + y)^(1/252) - 1,

so the add-on compounds to y over a year of 252 days (adding d rather than compounding
it, (1 + r_t)(1 + d) - 1, differs by r_t x d: below 1e-6 on a 1% day at y = 1.8%).
One factor is the benchmark: the single market factor behind benchmark-relative
statistics; the others are measured beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from pydantic import ConfigDict, Field
from pydantic import dataclasses as validated

from twin_model.conventions import PERIODS_PER_YEAR

SP500 = "SP500"
"""The bundled benchmark's id: the S&P 500 index (a price index)."""


@validated.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class FactorSettings:
    """Which factor is the benchmark and the dividend yield that makes a price index a
    total return (``strategies.yaml``'s ``factors`` section is this type, with its
    defaults). The default yield, 1.8% a year, approximates the S&P 500's average
    dividend yield over 2015-2022 (about 1.5-2.1%)."""

    benchmark: str = Field(default=SP500, min_length=1, pattern=r"^\S(.*\S)?$")
    dividend_yield: float = Field(default=0.018, ge=0, lt=0.2)

    def price_index_label(self) -> str:
        """How a price-index benchmark is made a total return, for metadata."""
        return f"price + {self.dividend_yield:.2%} dividend yield"


def daily_dividend(annual_yield: float) -> float:
    """d = (1 + y)^(1/252) - 1."""
    return (1.0 + annual_yield) ** (1.0 / PERIODS_PER_YEAR) - 1.0


def factor_returns_from_closes(
    closes: pl.DataFrame, benchmark: str, dividend_yields: Mapping[str, float] | None = None
) -> pl.DataFrame:
    """Factor returns ``date, factor_id, ret, is_benchmark`` from closes ``date, ticker, close``.

    ret_t = c_t / c_{t-1} - 1 over each ticker's consecutive closes (its first close has
    no return and gives no row), plus d = (1 + y)^(1/252) - 1 for a ticker listed in
    ``dividend_yields`` with its annual yield y (a price index made a total return).
    ``is_benchmark`` marks the ticker ``benchmark``.
    """
    add_on = {ticker: daily_dividend(y) for ticker, y in (dividend_yields or {}).items()}
    ordered = closes.select("date", "ticker", "close").sort("ticker", "date")
    price_return = pl.col("close") / pl.col("close").shift(1).over("ticker") - 1
    dividend = pl.col("ticker").replace_strict(add_on, default=0.0, return_dtype=pl.Float64)
    returns = ordered.with_columns(ret=price_return + dividend).drop_nulls("ret")
    return returns.select(
        "date", factor_id=pl.col("ticker"), ret=pl.col("ret"), is_benchmark=pl.col("ticker") == benchmark
    ).sort("date", "factor_id")
