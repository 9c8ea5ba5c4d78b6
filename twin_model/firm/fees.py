"""The fees of one solution, in unit accounting (DESIGN.md "Firm economics").

A solution is a fund of ``units``, each worth NAV per unit; every fee figure is per unit,
so flows never move a high-water mark. Day t, with r_t the day's gross return (after
trading costs, with the cash interest) and d_t the calendar days since the previous
business day (a Monday accrues three):

* gross asset value ``GAV_t = GAV_{t-1} (1 + r_t) - F_t``, ``GAV_{t-1} = NAV_{t-1} + A_{t-1}``;
* management fee, accrued ACT/365 on the previous NAV: ``F_t = m NAV_{t-1} d_t / 365``;
* performance fee: the accrued balance ``A_t = p max(0, GAV_t - max(HWM, H_t))`` with a
  hard hurdle ``H_t = HWM (1 + g_t)``; a soft hurdle charges ``p max(0, GAV_t - HWM)``
  once ``GAV_t >= H_t`` (0 below it); no hurdle charges ``p max(0, GAV_t - HWM)``.
  ``g_t`` is the hurdle's return since the period began: the cash rate (the hurdle's
  base) plus ``hurdle_rate``, each accrued ACT/365 day by day;
* ``NAV_t = GAV_t - A_t``; the day's performance-fee charge ``A_t - A_{t-1}`` may be
  negative (an accrual written back when GAV falls);
* crystallisation on the last business day (not a weekend, not a holiday) on or before
  each period end: the balance is paid, and only if it was positive ``HWM <- NAV``; the
  next period (and its hurdle) starts the day after the period end;
* flows, after the day's fees, at the day's NAV: a subscription of S adds ``S / NAV``
  units and leaves the balance in money as it was (NAV per unit and HWM unchanged); a
  redemption of u units pays ``u NAV`` and crystallises the redeemed units' balance
  ``u A_t``.

There is no equalisation: every unit shares one HWM, so a unit bought below it rides free
up to it and a unit bought above it pays (from the next day's accrual on) on a gain it
did not have. Series accounting would be a later step.

Money: gross assets ``units x GAV`` (what the strategies hold), the balance
``units x A`` (owed to the firm), AUM ``units x NAV``. Pure; no I/O.

One implementation serves one solution and many simulated paths: the per-unit figures of
a ``FeeState`` (``units``, ``gav``, ``accrued``, ``hwm``) and the day's gross return may be
numpy arrays over paths (the policy search's vectorised evaluator, the firm's
projections), while the calendar (the day, the period, the hurdle's return) and the
flows are the same on every path; with floats in, floats come out.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from twin_model.conventions import CrystallisationFrequency, HurdleKind

INITIAL_NAV_PER_UNIT = 100.0
"""NAV per unit (and HWM) of a solution on its launch day."""
DAY_COUNT = 365
"""ACT/365: an annual rate accrues rate x calendar days / 365."""


@dataclass(frozen=True)
class CashRate:
    """A dated series of annual cash rates: each ``(from, rate)`` is in force from its date
    until the next change. Empty: cash earns nothing."""

    changes: tuple[tuple[dt.date, float], ...] = ()

    def __post_init__(self) -> None:
        dates = [d for d, _ in self.changes]
        if any(b <= a for a, b in zip(dates, dates[1:])):
            raise ValueError(f"cash rate: the dates must increase strictly, got {[d.isoformat() for d in dates]}")

    @classmethod
    def of(cls, changes: Sequence[tuple[dt.date, float]]) -> CashRate:
        return cls(tuple((d, float(r)) for d, r in changes))

    def rate_on(self, day: dt.date) -> float:
        """The annual rate in force on ``day``."""
        if not self.changes:
            return 0.0
        if day < self.changes[0][0]:
            raise ValueError(f"cash rate: no rate in force on {day}: the series starts on {self.changes[0][0]}")
        return next(rate for start, rate in reversed(self.changes) if start <= day)

    def accrual(self, start: dt.date, end: dt.date) -> float:
        """``sum_{s = start}^{end - 1} c_s / 365``: the simple ACT/365 return of cash held from
        ``start``'s close to ``end``'s (a rate change on a weekend counts from its date)."""
        days = (end - start).days
        return sum(self.rate_on(start + dt.timedelta(days=k)) for k in range(days)) / DAY_COUNT


@dataclass(frozen=True)
class FeeTerms:
    """What one solution is charged (firm.yaml's fees, overridden per solution), the cash
    rate its uninvested cash earns and its hurdle's base, and the holidays a
    crystallisation day must avoid."""

    management_fee: float = 0.0
    performance_fee: float = 0.0
    hurdle: HurdleKind = HurdleKind.NONE
    hurdle_rate: float = 0.0
    crystallisation: CrystallisationFrequency = CrystallisationFrequency.ANNUAL
    cash_rate: CashRate = field(default_factory=CashRate)
    holidays: frozenset[dt.date] = frozenset()

    def __post_init__(self) -> None:
        for name in ("management_fee", "performance_fee"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"fee terms: {name} {getattr(self, name)} is not in [0, 1)")
        object.__setattr__(self, "hurdle", HurdleKind(self.hurdle))
        object.__setattr__(self, "crystallisation", CrystallisationFrequency(self.crystallisation))

    def period_end(self, day: dt.date) -> dt.date:
        """The end of the crystallisation period holding ``day``: the last calendar day of
        the first month at or after ``day``'s whose number is a multiple of the period's
        months (annual: 31 December)."""
        months = self.crystallisation.months
        month = -(-day.month // months) * months
        return dt.date(day.year, month, calendar.monthrange(day.year, month)[1])

    def crystallisation_day(self, period_end: dt.date) -> dt.date:
        """The last business day on or before ``period_end``: not a weekend, not a holiday."""
        day = period_end
        while day.weekday() >= 5 or day in self.holidays:
            day -= dt.timedelta(days=1)
        return day

    def hurdle_accrual(self, start: dt.date, end: dt.date) -> float:
        """The hurdle's return from ``start``'s close to ``end``'s: cash plus ``hurdle_rate``, ACT/365."""
        return self.cash_rate.accrual(start, end) + self.hurdle_rate * (end - start).days / DAY_COUNT

    def performance_fee_per_unit(self, gav, hwm, hurdle_return: float):
        """``A`` for a unit at ``gav`` (module docstring: hard, soft or no hurdle); ``gav``
        and ``hwm`` floats or arrays over paths."""
        p, hurdle = self.performance_fee, hwm * (1.0 + hurdle_return)
        if self.hurdle == HurdleKind.HARD:
            return _like(gav, p * np.maximum(0.0, gav - np.maximum(hwm, hurdle)))
        gain = p * np.maximum(0.0, gav - hwm)
        if self.hurdle == HurdleKind.SOFT:
            return _like(gav, np.where(gav < hurdle, 0.0, gain))
        return _like(gav, gain)


NO_FEES = FeeTerms()
"""No fees, and cash that earns nothing: a solution stepped without the firm's economics."""


@dataclass(frozen=True)
class FeeState:
    """One solution's fee state at a day's close, per unit: ``units``, gross asset value
    ``gav``, accrued performance fee ``accrued`` (A), high-water mark ``hwm`` (floats, or
    arrays over paths), the hurdle's return since the period began and the day the period
    began (None before launch)."""

    day: dt.date | None
    units: float | np.ndarray
    gav: float | np.ndarray
    accrued: float | np.ndarray
    hwm: float | np.ndarray
    hurdle_return: float = 0.0
    period_start: dt.date | None = None

    @classmethod
    def launch(cls, aum: float) -> FeeState:
        """A solution before its first day: ``aum / 100`` units at NAV (and HWM) 100."""
        if not aum > 0:
            raise ValueError(f"fee state: a solution launches with a positive AUM, not {aum}")
        return cls(None, aum / INITIAL_NAV_PER_UNIT, INITIAL_NAV_PER_UNIT, 0.0, INITIAL_NAV_PER_UNIT)

    def on_paths(self, n_paths: int) -> FeeState:
        """The same state on each of ``n_paths`` paths (per-unit figures as arrays ``[P]``)."""
        copy = {name: np.full(n_paths, float(getattr(self, name))) for name in ("units", "gav", "accrued", "hwm")}
        return replace(self, **copy)

    @property
    def nav(self) -> float:
        """NAV per unit: ``GAV - A``."""
        return self.gav - self.accrued

    @property
    def aum(self) -> float:
        """``units x NAV``."""
        return self.units * self.nav

    @property
    def assets(self) -> float:
        """Gross assets, what the strategies hold: ``units x GAV``."""
        return self.units * self.gav

    @property
    def balance(self) -> float:
        """The accrued performance fee in money: ``units x A``."""
        return self.units * self.accrued


@dataclass(frozen=True)
class FeeDay:
    """One day's fee figures in money (per-unit returns): the management fee accrued, the
    performance-fee charge (the change in the balance before crystallisation and flows; may
    be negative), the fee crystallised (at a period's end and on redeemed units) and the
    flows (a subscription positive)."""

    days: int
    gross_return: float
    net_return: float
    management_fee: float
    performance_fee_charge: float
    crystallised_fee: float
    flows: float

    @property
    def fees(self) -> float:
        """What the day's fees take from AUM: management fee plus performance-fee charge."""
        return self.management_fee + self.performance_fee_charge


def advance_fees(
    terms: FeeTerms, state: FeeState, day: dt.date, gross_return, flow: float = 0.0
) -> tuple[FeeState, FeeDay]:
    """One business day of one solution's fees (module docstring): from the state at the
    previous close, the day's gross return per unit (a float, or an array over the paths
    of an array state) and the day's flow in money (positive a subscription, negative a
    redemption; the same on every path), the state at the day's close and the day's figures.

    On the first day (``state.day`` None) nothing accrues (d_t = 0) and the period begins."""
    if state.day is not None and day <= state.day:
        raise ValueError(f"fee state of {state.day} cannot step to {day}")
    previous = state.day or day
    days = (day - previous).days
    period_start = state.period_start or day
    fee = terms.management_fee * state.nav * days / DAY_COUNT
    gav = state.gav * (1.0 + gross_return) - fee
    if not np.all(gav > 0):
        raise ValueError(f"fee state on {day}: GAV per unit would fall to {np.min(gav):.6g}")
    hurdle_return = state.hurdle_return + terms.hurdle_accrual(previous, day)
    accrued = terms.performance_fee_per_unit(gav, state.hwm, hurdle_return)
    charge = (accrued - state.accrued) * state.units
    nav, hwm, crystallised = gav - accrued, state.hwm, 0.0 * accrued
    end = terms.period_end(period_start)
    if day >= terms.crystallisation_day(end):
        crystallised = accrued * state.units
        hwm = _like(nav, np.where(accrued > 0, nav, hwm))
        gav, accrued, hurdle_return, period_start = nav, 0.0 * accrued, 0.0, end + dt.timedelta(days=1)
    closed = FeeState(day, state.units, gav, accrued, hwm, hurdle_return, period_start)
    closed, redeemed_fee = _apply_flow(closed, flow)
    figures = FeeDay(
        days=days,
        gross_return=gross_return,
        net_return=nav / state.nav - 1.0,
        management_fee=fee * state.units,
        performance_fee_charge=charge,
        crystallised_fee=crystallised + redeemed_fee,
        flows=flow,
    )
    return closed, figures


def _apply_flow(state: FeeState, flow: float) -> tuple[FeeState, float]:
    """Units issued or redeemed at the day's NAV; returns the state and the fee
    crystallised on redeemed units (``u A``)."""
    if flow == 0:
        return state, 0.0 * state.accrued
    nav, units = state.nav, flow / state.nav
    if flow > 0:
        accrued = state.balance / (state.units + units)
        return replace(state, units=state.units + units, accrued=accrued, gav=nav + accrued), 0.0 * state.accrued
    if np.any(-units >= state.units):
        raise ValueError(
            f"fee state on {state.day}: a redemption of {-flow:.2f} takes all of the AUM {np.min(state.aum):.2f} or more"
        )
    return replace(state, units=state.units + units), -units * state.accrued


def _like(template, value):
    """``value`` as a float when ``template`` is one (numpy's where and maximum return
    numpy scalars), else as it is."""
    return float(value) if np.ndim(template) == 0 else value
