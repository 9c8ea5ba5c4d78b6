"""``firm.yaml``: the firm's fees, cash rate, costs and projection settings; and the fee
section a solution of ``solutions.yaml`` may override them with."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from twin_model.conventions import CrystallisationFrequency, HurdleKind
from twin_model.firm import CashRate, FeeTerms, FirmCosts
from twin_resources.config._base import StrictModel, refuse


class ProjectionConfig(StrictModel):
    months_ahead: int = Field(default=12, ge=1)
    scenarios: int = Field(default=2000, ge=100)
    seed: int = 11


class NewSolutionConfig(StrictModel):
    """The initiate-solution policy (``twin_model.firm.decisions``): launch a copy of the
    solution ``template`` (a solution_id of solutions.yaml) with ``launch_aum`` when at least
    ``min_unused_pool_strategies`` alpha-pool strategies are held by no solution and, if
    ``require_positive_profit``, the launch's projected p50 profit is positive."""

    template: str = Field(pattern=r"\S")
    launch_aum: float = Field(gt=0)
    min_unused_pool_strategies: int = Field(ge=0)
    require_positive_profit: bool = True


class CashRateChange(StrictModel):
    """From ``from`` on (until the next change), cash earns ``rate`` a year (ACT/365)."""

    start: dt.date = Field(alias="from")
    rate: float = Field(ge=-0.05, le=0.5)


class SolutionFees(StrictModel):
    """A solution's own fee terms (``fees:`` in solutions.yaml): each key left out takes firm.yaml's."""

    management_fee: float | None = Field(default=None, ge=0, lt=1)
    performance_fee: float | None = Field(default=None, ge=0, lt=1)
    hurdle: HurdleKind | None = None
    hurdle_rate: float | None = None
    crystallisation: CrystallisationFrequency | None = None


class FirmConfig(StrictModel):
    """Fees are annual fractions: ``management_fee`` of NAV (ACT/365), ``performance_fee``
    of the gain above the high-water mark (and the hurdle: ``none``, ``hard`` or ``soft``;
    its base is the cash rate, plus ``hurdle_rate`` a year), crystallised ``annual``
    (default), ``semiannual``, ``quarterly`` or ``monthly``. ``cash_rate`` is the dated
    series cash earns (also the hurdle's base and the risk-free rate); the firm's costs
    are a year's fixed costs, a year's cost per strategy in use, and optional pass-through
    expenses a year (all spread evenly over the business days of each year)."""

    name: str = Field(pattern=r"\S")
    management_fee: float = Field(ge=0, lt=1)
    performance_fee: float = Field(ge=0, lt=1)
    hurdle: HurdleKind = HurdleKind.NONE
    hurdle_rate: float = 0.0
    crystallisation: CrystallisationFrequency = CrystallisationFrequency.ANNUAL
    cash_rate: list[CashRateChange] = []
    fixed_costs_per_year: float = Field(ge=0)
    cost_per_strategy_per_year: float = Field(ge=0)
    pass_through_expenses_per_year: float = Field(default=0.0, ge=0)
    projection: ProjectionConfig = ProjectionConfig()
    new_solution: NewSolutionConfig | None = None

    @field_validator("cash_rate")
    @classmethod
    def _dates_increase(cls, changes: list[CashRateChange]) -> list[CashRateChange]:
        refuse(
            [
                (f"{i}.from", f"{b.start} is not after the previous change's date {a.start}: the dates must increase")
                for i, (a, b) in enumerate(zip(changes, changes[1:]), start=1)
                if b.start <= a.start
            ]
        )
        return changes

    def cash_rates(self) -> CashRate:
        return CashRate.of([(c.start, c.rate) for c in self.cash_rate])

    def fee_terms(self, own: SolutionFees | None = None, holidays: frozenset[dt.date] = frozenset()) -> FeeTerms:
        """A solution's fee terms: firm.yaml's, overridden by the solution's ``fees`` section;
        ``holidays`` are the weekdays a crystallisation day must avoid."""
        given = {k: v for k, v in (own.model_dump() if own else {}).items() if v is not None}
        fields = ("management_fee", "performance_fee", "hurdle", "hurdle_rate", "crystallisation")
        terms = {k: given.get(k, getattr(self, k)) for k in fields}
        return FeeTerms(**terms, cash_rate=self.cash_rates(), holidays=holidays)

    def costs(self) -> FirmCosts:
        return FirmCosts(
            self.fixed_costs_per_year, self.cost_per_strategy_per_year, self.pass_through_expenses_per_year
        )
