"""The limits of ``config/risk_limits.yaml``: portfolio, strategy and position levels.

``risk_limits.yaml`` loads as ``RiskLimits`` itself: the bounds below are the file's
(finite numbers only); the rules across its keys are the config loader's."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic import dataclasses as validated

_LIMITS = ConfigDict(extra="forbid", allow_inf_nan=False)


@validated.dataclass(frozen=True, config=_LIMITS)
class PortfolioLimits:
    """Portfolio-level limits (fractions; volatility annualised; VaR/CVaR daily, negative).
    Breached when the measure falls below its limit (drawdowns, VaR and CVaR are negative
    returns); a drawdown below -100% never happens, so a stop there never fires."""

    max_gross_leverage: float = Field(gt=0)
    drawdown_stop: float = Field(lt=0, gt=-1)
    volatility_target: float = Field(gt=0)
    max_pairwise_correlation: float = Field(gt=-1, le=1)
    min_diversification_ratio: float = Field(ge=1)
    var_95: float = Field(lt=0)
    cvar_95: float = Field(lt=0)
    var_99: float = Field(lt=0)
    cvar_99: float = Field(lt=0)


@validated.dataclass(frozen=True, config=_LIMITS)
class StrategyLimits:
    """Per-strategy limits."""

    max_weight: float = Field(gt=0, le=1)
    drawdown_stop: float = Field(lt=0, gt=-1)
    max_volatility: float = Field(gt=0)


@validated.dataclass(frozen=True, config=_LIMITS)
class PositionLimits:
    """Per-ticker limits on the solution's look-through exposure."""

    max_net_exposure_per_ticker: float = Field(gt=0)


@validated.dataclass(frozen=True, config=_LIMITS)
class RiskLimits:
    """The three levels of limits, as ``risk_limits.yaml`` nests them."""

    portfolio: PortfolioLimits
    strategy: StrategyLimits
    position: PositionLimits

    @classmethod
    def from_mapping(cls, mapping: Mapping) -> RiskLimits:
        """From a plain nested dict in the layout of ``risk_limits.yaml``; a ``ValueError``
        names each unknown or missing section or key and each value out of bounds."""
        try:
            return TypeAdapter(cls).validate_python(mapping)
        except ValidationError as error:
            raise ValueError("risk limits: " + "; ".join(_reason(item) for item in error.errors())) from None


def _reason(item: Mapping) -> str:
    where = ".".join(str(part) for part in item["loc"])
    if item["type"] == "unexpected_keyword_argument":
        return f"unknown keys ['{where}']"
    if item["type"] == "missing":
        return f"missing {'sections' if len(item['loc']) == 1 else 'keys'} ['{where}']"
    return f"{where}: {item['msg']}"
