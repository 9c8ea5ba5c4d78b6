"""The firm's month-end assets as a graph: February's month end (28 Feb 2017) of the stress
firm writes its 12-month projection and its initiate-solution decision, checks passing.

The stress firm (tests/graph/test_solution_layer.py): one solution, four synthetic
strategies all in the seeded alpha pool and all held; here a 2% management fee only, so
a year's revenue is about 2% of the AUM, far below the firm's costs on every path:
P(loss-making year) = 1 and the break-even AUM is above the AUM. The template is the
stress solution itself and no unused pool strategy is required, so the launch (10m, the
same strategies, no strategy added, so no added cost) earns about 2% of 10m a year: launch."""

import datetime as dt
import shutil

import polars as pl
import pytest
import yaml

from tests.graph.test_policy_in_force import _seed_draws
from tests.graph.test_solution_layer import FIRST, _copy, stress_history  # noqa: F401
from tests.helpers.day_metadata import day_events
from tests.helpers.graph import materialize_days, resources
from twin_assets.firm import firm_decisions, firm_projections
from twin_assets.portfolio import solution_level
from twin_model.calendar import business_days
from twin_model.conventions import FIRM_TOTAL
from twin_resources.config import load_config

T = dt.date(2017, 2, 28)


@pytest.mark.slow
def test_month_end_writes_projection_and_decision(stress_history, tmp_path):  # noqa: F811
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "firm_month_end")
    small = tmp_path / "config"
    shutil.copytree(config_dir, small)
    firm = yaml.safe_load((small / "firm.yaml").read_text())
    firm["projection"].update(scenarios=100, seed=3)
    firm["management_fee"] = 0.02
    firm["new_solution"].update(min_unused_pool_strategies=0, launch_aum=1e7)
    (small / "firm.yaml").write_text(yaml.safe_dump(firm))
    res = resources(warehouse, small)
    assert materialize_days([solution_level], res, FIRST, "2017-02-28").success
    _seed_draws(warehouse, small, T)

    result = materialize_days([firm_projections, firm_decisions], res, "2017-02-01")
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    rows = warehouse.read_history("firm.firm_projections", None, None)
    assert set(rows.get_column("date")) == {T}
    assert rows.group_by("solution_id").len().sort("solution_id").rows() == [(FIRM_TOTAL, 12), ("stress", 12)]
    firm_rows = rows.filter(pl.col("solution_id") == FIRM_TOTAL).sort("months_ahead")
    config = load_config(small)
    per_year = config.firm.fixed_costs_per_year + config.firm.cost_per_strategy_per_year * _in_use(warehouse)
    first_month = business_days(dt.date(2017, 3, 1), dt.date(2017, 3, 29))  # the 21 weekdays after t
    assert firm_rows.get_column("cost")[0] == pytest.approx(per_year / 260 * len(first_month))
    assert (firm_rows.get_column("revenue_p50") > 0).all()
    assert firm_rows.get_column("p_loss_year").to_list() == [1.0] * 12
    aum_t = warehouse.read_history("portfolio.solution_performance", T, T).get_column("aum").sum()
    assert firm_rows.get_column("breakeven_aum")[0] > aum_t
    metadata = day_events(result, "firm.firm_projections")["2017-02-01"]
    assert metadata["p_loss_year"] == 1.0 and metadata["month_end"] == "2017-02-28"

    decision = warehouse.read_history("firm.firm_decisions", None, None).row(0, named=True)
    assert decision["date"] == T and decision["template"] == "stress"
    assert decision["n_unused_pool_strategies"] == 0
    assert 0.01 * 1e7 < decision["projected_profit_p50"] < 0.03 * 1e7
    assert decision["decision"] == "launch" and "projected p50 profit" in decision["reason"]


def _in_use(warehouse) -> int:
    weights = warehouse.read_history("portfolio.solution_weights", T, T)
    return weights.filter(pl.col("weight_close") != 0).get_column("strategy_id").n_unique()
