"""The market as the firm sees it: benchmark returns from closes."""

import polars as pl


def benchmark_returns(prices: pl.DataFrame) -> pl.DataFrame:
    """Simple daily returns of the benchmark: ``date, ret`` with ret_t = close_t / close_{t-1} - 1.

    ``prices`` is ``raw.market_prices`` (any span); rows with ``is_benchmark`` are used.
    The first day of the span has no return (no previous close) and is dropped.
    """
    closes = prices.filter(pl.col("is_benchmark")).select("date", "close").sort("date")
    return closes.select("date", ret=pl.col("close") / pl.col("close").shift(1) - 1).drop_nulls("ret")
