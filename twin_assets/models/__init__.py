"""The models layer: what the firm believes about each strategy (the posteriors in
assets.py, the forecasts and their calibration in forecasts.py, the metalabels in
metalabels.py)."""

from twin_assets.models.assets import strategy_posteriors
from twin_assets.models.forecasts import forecast_calibration, strategy_forecasts
from twin_assets.models.metalabels import METALABEL_ASSETS, metalabel_scores, metalabels

MODEL_ASSETS = [strategy_posteriors, strategy_forecasts, forecast_calibration]

__all__ = [
    "METALABEL_ASSETS",
    "MODEL_ASSETS",
    "forecast_calibration",
    "metalabel_scores",
    "metalabels",
    "strategy_forecasts",
    "strategy_posteriors",
]
