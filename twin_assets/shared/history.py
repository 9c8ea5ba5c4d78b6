"""Trailing windows read from the warehouse as date-range queries (not as Dagster
partition mappings with long offsets), and the state a self-dependent asset carries."""

import datetime as dt

import dagster as dg
import polars as pl

from twin_model.calendar import previous_business_day
from twin_model.contracts import TableSpec
from twin_resources.resources import WarehouseResource


def strategy_returns(warehouse: WarehouseResource, start: dt.date | None, end: dt.date) -> pl.DataFrame:
    return warehouse.read_history("raw.strategy_returns", start, end)


def factor_returns(warehouse: WarehouseResource, start: dt.date | None, end: dt.date) -> pl.DataFrame:
    """The factors' simple daily total returns ``date, factor_id, ret, is_benchmark`` from
    ``start`` to ``end`` (``raw.factor_returns``, ordered by date and factor); empty when
    alpha is measured over cash."""
    return warehouse.read_history("raw.factor_returns", start, end)


def benchmark(warehouse: WarehouseResource, start: dt.date | None, end: dt.date) -> pl.DataFrame:
    """The benchmark factor's simple daily total return ``date, ret`` from ``start`` to
    ``end``, sorted by date (empty without factors)."""
    factors = factor_returns(warehouse, start, end)
    return factors.filter(pl.col("is_benchmark")).select("date", "ret")


def metalabels(warehouse: WarehouseResource, start: dt.date, end: dt.date, reader: str) -> pl.DataFrame:
    """``date, strategy_id, p_profitable`` of ``models.metalabels`` from ``start`` to ``end``
    for a ``reader`` whose policy uses them (the pool's gate, a solution's sizing) without
    depending on the asset in the graph: a day with a usable posterior but no metalabel
    raises ``dg.Failure`` naming it, rather than the policy deciding as if none existed."""
    rows = warehouse.read_history("models.metalabels", start, end, ["date", "strategy_id", "p_profitable"])
    fitted = warehouse.read_history("models.strategy_posteriors", start, end, ["date", "converged"])
    wanted = set(fitted.filter(pl.col("converged")).get_column("date").to_list())
    missing = sorted(wanted - set(rows.get_column("date").to_list()))
    if missing:
        shown = ", ".join(str(d) for d in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise dg.Failure(
            description=(
                f"{reader} uses the metalabels, and models.metalabels has no rows for {shown}: "
                "materialise models.metalabels for those days first"
            )
        )
    return rows


def last_traded_before(warehouse: WarehouseResource, day: dt.date) -> dt.date:
    """The last day before ``day`` with an available return (the day whose state a run
    from ``day`` continues); the previous business day when none is within 30 days."""
    recent = strategy_returns(warehouse, day - dt.timedelta(days=30), day - dt.timedelta(days=1))
    traded = recent.filter(pl.col("available")).get_column("date")
    return traded.max() if traded.len() else previous_business_day(day)


def previous_state(
    warehouse: WarehouseResource, spec: TableSpec, first_day: dt.date, wanted: dt.date | None = None
) -> tuple[pl.DataFrame, bool]:
    """The state of ``spec`` on the business day before ``first_day`` (or on ``wanted``, for
    a level that writes only the days with data), and whether this is a cold start (no
    earlier state at all).

    Raises ``dg.Failure`` when earlier state exists but that day is missing: a continuing
    history never skips a day.
    """
    last = warehouse.warehouse().last_date_before(spec, first_day)
    if last is None:
        return spec.empty_frame(), True
    wanted = wanted or previous_business_day(first_day)
    if last != wanted:
        raise dg.Failure(
            description=(
                f"{spec.qualified_name}: materialise {wanted} first: the state carried into {first_day} "
                f"comes from the previous business day, and the latest state stored is {last}"
            )
        )
    return warehouse.read_history(spec.qualified_name, last, last), False
