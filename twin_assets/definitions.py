"""The one Definitions of Strategy Twin: assets, checks, jobs, schedule and resources."""

import dagster as dg

from twin_resources.config import config_dir
from twin_resources.io_manager import WarehouseIOManager
from twin_resources.resources import ReturnSourceResource, WarehouseResource, env_or_default
from twin_resources.warehouse import warehouse_path
from twin_assets.common import WAREHOUSE_IO
from twin_assets.operations import business_day_job, business_day_schedule
from twin_assets.raw import RAW_ASSETS


def resources() -> dict:
    """Resources from the environment: TWIN_WAREHOUSE, TWIN_CONFIG_DIR, TWIN_RETURNS_FILE."""
    warehouse = WarehouseResource(path=env_or_default("TWIN_WAREHOUSE", str(warehouse_path())))
    return {
        "warehouse": warehouse,
        WAREHOUSE_IO: WarehouseIOManager(warehouse=warehouse),
        "return_source": ReturnSourceResource(
            config_dir=env_or_default("TWIN_CONFIG_DIR", str(config_dir())),
            returns_file=dg.EnvVar("TWIN_RETURNS_FILE") if _set("TWIN_RETURNS_FILE") else None,
        ),
    }


def _set(name: str) -> bool:
    import os

    return bool(os.environ.get(name))


defs = dg.Definitions(
    assets=[*RAW_ASSETS],
    jobs=[business_day_job],
    schedules=[business_day_schedule],
    resources=resources(),
    executor=dg.in_process_executor,
)
