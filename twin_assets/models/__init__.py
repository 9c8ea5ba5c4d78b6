"""The models layer: what the firm believes about each strategy (assets in assets.py; the metalabels in metalabels.py)."""

from twin_assets.models.assets import MODEL_ASSETS, forecast_calibration, strategy_forecasts, strategy_posteriors
from twin_assets.models.metalabels import METALABEL_ASSETS, metalabel_scores, metalabels

__all__ = [
    "METALABEL_ASSETS",
    "MODEL_ASSETS",
    "forecast_calibration",
    "metalabel_scores",
    "metalabels",
    "strategy_forecasts",
    "strategy_posteriors",
]
