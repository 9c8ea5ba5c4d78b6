"""``firm.yaml``: the firm's fees, costs and projection settings."""

from __future__ import annotations

from pydantic import Field

from twin_resources.config._base import StrictModel


class ProjectionConfig(StrictModel):
    months_ahead: int = Field(default=12, ge=1)
    scenarios: int = Field(default=2000, ge=100)
    seed: int = 11


class FirmConfig(StrictModel):
    name: str = Field(pattern=r"\S")
    management_fee: float = Field(ge=0, lt=1)
    performance_fee: float = Field(ge=0, lt=1)
    hurdle_rate: float = 0.0
    fixed_costs_per_year: float = Field(ge=0)
    cost_per_strategy_per_year: float = Field(ge=0)
    projection: ProjectionConfig = ProjectionConfig()
