"""The limits of ``config/risk_limits.yaml``: portfolio, strategy and position levels."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields


def _from_section(cls, section, name: str):
    if not isinstance(section, Mapping):
        raise ValueError(f"risk limits: section {name!r} must be a mapping, got {type(section).__name__}")
    wanted = {f.name for f in fields(cls)}
    unknown = set(section) - wanted
    missing = wanted - set(section)
    if unknown or missing:
        raise ValueError(f"risk limits {name!r}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    values = {}
    for key in wanted:
        v = section[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(float(v)):
            raise ValueError(f"risk limits {name}.{key} must be a finite number, got {v!r}")
        values[key] = float(v)
    return cls(**values)


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise ValueError(f"risk limits: {what}")


@dataclass(frozen=True)
class PortfolioLimits:
    """Portfolio-level limits (fractions; volatility annualised; VaR/CVaR daily, negative)."""

    max_gross_leverage: float
    drawdown_stop: float
    volatility_target: float
    max_pairwise_correlation: float
    min_diversification_ratio: float
    var_95: float
    cvar_95: float
    var_99: float
    cvar_99: float

    def __post_init__(self) -> None:
        _check(self.max_gross_leverage > 0, "portfolio.max_gross_leverage must be > 0")
        _check(self.drawdown_stop < 0, "portfolio.drawdown_stop must be < 0")
        _check(self.volatility_target > 0, "portfolio.volatility_target must be > 0")
        _check(-1 < self.max_pairwise_correlation <= 1, "portfolio.max_pairwise_correlation must be in (-1, 1]")
        _check(self.min_diversification_ratio >= 1, "portfolio.min_diversification_ratio must be >= 1")
        for k in ("var_95", "cvar_95", "var_99", "cvar_99"):
            _check(getattr(self, k) < 0, f"portfolio.{k} must be < 0")


@dataclass(frozen=True)
class StrategyLimits:
    """Per-strategy limits."""

    max_weight: float
    drawdown_stop: float
    max_volatility: float

    def __post_init__(self) -> None:
        _check(0 < self.max_weight <= 1, "strategy.max_weight must be in (0, 1]")
        _check(self.drawdown_stop < 0, "strategy.drawdown_stop must be < 0")
        _check(self.max_volatility > 0, "strategy.max_volatility must be > 0")


@dataclass(frozen=True)
class PositionLimits:
    """Per-ticker limits on the solution's look-through exposure."""

    max_net_exposure_per_ticker: float

    def __post_init__(self) -> None:
        _check(self.max_net_exposure_per_ticker > 0, "position.max_net_exposure_per_ticker must be > 0")


@dataclass(frozen=True)
class RiskLimits:
    """Plain mirror of ``twin_resources.config.RiskLimitsConfig`` (same nested fields)."""

    portfolio: PortfolioLimits
    strategy: StrategyLimits
    position: PositionLimits

    @classmethod
    def from_mapping(cls, mapping: Mapping) -> RiskLimits:
        """From the nested dict of ``risk_limits.yaml`` (or ``RiskLimitsConfig.model_dump()``).

        Unknown or missing keys and non-numeric values raise ``ValueError``; the value
        constraints are those of the config model.
        """
        if not isinstance(mapping, Mapping):
            raise ValueError(f"risk limits must be a mapping, got {type(mapping).__name__}")
        sections = {"portfolio": PortfolioLimits, "strategy": StrategyLimits, "position": PositionLimits}
        unknown, missing = set(mapping) - set(sections), set(sections) - set(mapping)
        if unknown or missing:
            raise ValueError(f"risk limits: unknown sections {sorted(unknown)}, missing sections {sorted(missing)}")
        return cls(**{name: _from_section(c, mapping[name], name) for name, c in sections.items()})
