"""The one Definitions of Strategy Twin: assets, checks, jobs, schedule and resources.

The read snapshot is built downstream of every warehouse asset, so it is the last step
of every job (twin_assets.snapshot)."""

import os

import dagster as dg

from twin_resources.config import config_dir
from twin_resources.io_manager import WarehouseIOManager
from twin_resources.resources import ReturnSourceResource, TwinConfigResource, WarehouseResource, env_or_default
from twin_resources.warehouse import warehouse_path
from twin_assets.common import WAREHOUSE_IO
from twin_assets.operations import business_day_job, business_day_schedule, modelling_job, raw_history_job
from twin_assets.alpha import alpha_pool
from twin_assets.models import MODEL_ASSETS
from twin_assets.portfolio import solution_level
from twin_assets.raw import RAW_ASSETS
from twin_assets.snapshot import warehouse_snapshot_asset
from twin_assets.stats import strategy_statistics

WAREHOUSE_ASSETS = [*RAW_ASSETS, *MODEL_ASSETS, strategy_statistics, alpha_pool, solution_level]
"""Every asset that writes a warehouse table."""
warehouse_snapshot = warehouse_snapshot_asset(WAREHOUSE_ASSETS)


def resources() -> dict:
    """Resources from the environment: TWIN_WAREHOUSE, TWIN_CONFIG_DIR, TWIN_RETURNS_FILE."""
    warehouse = WarehouseResource(path=env_or_default("TWIN_WAREHOUSE", str(warehouse_path())))
    configured = env_or_default("TWIN_CONFIG_DIR", str(config_dir()))
    return {
        "warehouse": warehouse,
        WAREHOUSE_IO: WarehouseIOManager(warehouse=warehouse),
        "twin_config": TwinConfigResource(config_dir=configured),
        "return_source": ReturnSourceResource(
            config_dir=configured,
            returns_file=dg.EnvVar("TWIN_RETURNS_FILE") if os.environ.get("TWIN_RETURNS_FILE") else None,
        ),
    }


defs = dg.Definitions(
    assets=[*WAREHOUSE_ASSETS, warehouse_snapshot],
    jobs=[business_day_job, raw_history_job, modelling_job],
    schedules=[business_day_schedule],
    resources=resources(),
    executor=dg.in_process_executor,
)
