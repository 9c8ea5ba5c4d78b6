"""The one Definitions of Strategy Twin: assets, checks, jobs, schedule and resources.

The read snapshot is built downstream of every warehouse asset and the dashboard, so it
is the last step of every job (twin_assets.reports). Dagster (the workspace, ``dg``) and the CLI load
``defs`` from here: importing this module imports the asset modules, whose decorators take
the calendar's partitions (twin_assets.shared.partitions), and ``build_definitions`` does the
process set-up and builds the schedule. No other module of the package does work at import."""

import os

import dagster as dg

from twin_assets.alerts import risk_alerts
from twin_assets.alpha import alpha_pool
from twin_assets.events import portfolio_optimized
from twin_assets.firm import firm_decisions, firm_pnl, firm_projections
from twin_assets.jobs import (
    BUSINESS_DAY_SCHEDULE,
    backtest_job,
    build_business_day_schedule,
    business_day_job,
    dashboard_job,
    events_job,
    modelling_job,
    month_end_job,
    raw_history_job,
    solution_job,
    strategy_job,
)
from twin_assets.models import METALABEL_ASSETS, MODEL_ASSETS
from twin_assets.portfolio import solution_level
from twin_assets.raw import RAW_ASSETS
from twin_assets.reports import dashboard_asset, warehouse_snapshot_asset
from twin_assets.shared.common import WAREHOUSE_IO
from twin_assets.stats import strategy_statistics
from twin_assets.twin import backtest_results, policy_evaluations
from twin_resources.alerts import WEBHOOK_ENV, AlertWebhookResource
from twin_resources.config import config_dir
from twin_resources.io_manager import WarehouseIOManager
from twin_resources.resources import ReturnSourceResource, TwinConfigResource, WarehouseResource, env_or_default
from twin_resources.runtime import own_pytensor_compiledir
from twin_resources.warehouse import warehouse_path

WAREHOUSE_ASSETS = [
    *RAW_ASSETS,
    *MODEL_ASSETS,
    *METALABEL_ASSETS,
    strategy_statistics,
    alpha_pool,
    solution_level,
    policy_evaluations,
    firm_pnl,
    firm_projections,
    firm_decisions,
    portfolio_optimized,
    backtest_results,
]
"""Every asset that writes a warehouse table."""
dashboard = dashboard_asset()
warehouse_snapshot = warehouse_snapshot_asset([*WAREHOUSE_ASSETS, dashboard])
"""Downstream of the dashboard too (which reads the tables but writes none), so the
snapshot stays the last step of every job that draws the dashboard."""


def resources() -> dict:
    """Resources from the environment: TWIN_WAREHOUSE, TWIN_CONFIG_DIR, TWIN_RETURNS_FILE, TWIN_FACTORS_FILE,
    TWIN_ALERT_WEBHOOK (unset: alerts are only logged)."""
    warehouse = WarehouseResource(path=env_or_default("TWIN_WAREHOUSE", str(warehouse_path())))
    configured = env_or_default("TWIN_CONFIG_DIR", str(config_dir()))
    return {
        "warehouse": warehouse,
        WAREHOUSE_IO: WarehouseIOManager(warehouse=warehouse),
        "twin_config": TwinConfigResource(config_dir=configured),
        "return_source": ReturnSourceResource(
            config_dir=configured,
            returns_file=dg.EnvVar("TWIN_RETURNS_FILE") if os.environ.get("TWIN_RETURNS_FILE") else None,
            factors_file=dg.EnvVar("TWIN_FACTORS_FILE") if os.environ.get("TWIN_FACTORS_FILE") else None,
        ),
        "alert_webhook": AlertWebhookResource(url=dg.EnvVar(WEBHOOK_ENV) if os.environ.get(WEBHOOK_ENV) else None),
    }


def build_definitions() -> dg.Definitions:
    """The code location. First gives this process its own PyTensor compile directory
    (a run process imports pytensor only when a model asset runs, after this); the
    asset modules' partitions and the schedule come from calendar.yaml, read once."""
    own_pytensor_compiledir()
    return dg.Definitions(
        assets=[*WAREHOUSE_ASSETS, dashboard, warehouse_snapshot],
        jobs=[
            business_day_job,
            raw_history_job,
            modelling_job,
            strategy_job,
            solution_job,
            month_end_job,
            dashboard_job,
            backtest_job,
            events_job,
        ],
        schedules=[build_business_day_schedule()],
        sensors=[risk_alerts],
        resources=resources(),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
business_day_schedule = defs.resolve_schedule_def(BUSINESS_DAY_SCHEDULE)
