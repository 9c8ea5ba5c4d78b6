"""One rule for an observed return across the strategy level: a null ``available`` is not an
observation, in the statistics table, the model's return window and forecast calibration
alike (before issue 9 the window and the calibration counted it as available)."""

import datetime as dt

import polars as pl

from twin_model.statistics import strategy_statistics_table
from twin_model.strategy import forecast_calibration, return_window

D = [dt.date(2024, 1, d) for d in (2, 3, 4, 5)]


def _returns(available_on_day_3) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": D,
            "strategy_id": ["a"] * 4,
            "ret": [0.01, 0.50, -0.02, 0.03],
            "available": [True, available_on_day_3, True, True],
        },
        schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean},
    )


def test_a_null_available_is_masked_like_a_false_one_everywhere():
    null, false = _returns(None), _returns(False)

    window = return_window(null, None, D[-1], window_days=10)
    assert window.dates == (D[0], D[2], D[3])  # 2024-01-03 is not an observed date
    assert window.returns[:, 0].tolist() == [0.01, -0.02, 0.03]

    stats = strategy_statistics_table(null, None, D[-1])
    assert stats.filter(pl.col("window") == "inception")["n_obs"].item() == 3
    assert stats.equals(strategy_statistics_table(false, None, D[-1]))

    forecasts = pl.DataFrame({"date": [D[0]], "strategy_id": ["a"], "p05": [-0.1], "p95": [0.1]})
    scored = forecast_calibration(forecasts, null, D[-1], horizon=2)
    # two observed returns after D[0]: D[2] and D[3] (the 0.50 of D[1] is not one)
    assert scored["realised_return"].item() == (1 - 0.02) * (1 + 0.03) - 1
    assert scored["inside_band"].item() is True
    assert scored.equals(forecast_calibration(forecasts, false, D[-1], horizon=2))
