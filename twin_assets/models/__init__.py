"""The models layer: what the firm believes about each strategy (assets in assets.py)."""

from twin_assets.models.assets import MODEL_ASSETS, forecast_calibration, strategy_forecasts, strategy_posteriors

__all__ = ["MODEL_ASSETS", "forecast_calibration", "strategy_forecasts", "strategy_posteriors"]
