"""Risk limits for the unit tests of the portfolio and solution levels."""

from twin_model.portfolio import RiskLimits

LOOSE_RISK_LIMITS = {
    "portfolio": {
        "max_gross_leverage": 100.0,
        "drawdown_stop": -0.99,
        "volatility_target": 1e6,
        "max_pairwise_correlation": 1.0,
        "min_diversification_ratio": 1.0,
        "var_95": -0.99,
        "cvar_95": -0.99,
        "var_99": -0.99,
        "cvar_99": -0.99,
    },
    "strategy": {"max_weight": 1.0, "drawdown_stop": -0.99, "max_volatility": 1e6},
    "position": {"max_net_exposure_per_ticker": 100.0},
}
"""Risk limits nothing breaches; tests tighten the keys they are about."""


def loose_risk_limits(portfolio: dict | None = None, strategy: dict | None = None) -> RiskLimits:
    """``LOOSE_RISK_LIMITS`` with the given keys tightened."""
    return RiskLimits.from_mapping(
        {
            "portfolio": {**LOOSE_RISK_LIMITS["portfolio"], **(portfolio or {})},
            "strategy": {**LOOSE_RISK_LIMITS["strategy"], **(strategy or {})},
            "position": dict(LOOSE_RISK_LIMITS["position"]),
        }
    )
