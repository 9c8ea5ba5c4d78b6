"""The dashboard: one self-contained offline HTML file of the twin's state on the LAST
day of the partition or range it runs for (not one per day), written beside the
warehouse (``<stem>.dashboard.html``) by ``twin_resources.dashboard``.

It reads the live warehouse inside the DuckDB pool like every asset. It depends on the
daily tables it reads, so a run draws it after them; the month-end tables (policy search,
projection) and the back-test are read as stored, not as dependencies (a daily asset
cannot depend on the month end that depends on it). One blocking check opens the written
file: it exists, holds every page and exactly one copy of plotly.js.
"""

import time
from pathlib import Path

import dagster as dg
import plotly.offline

from twin_assets.shared.common import DUCKDB_POOL, OWNER, days_of, layer_code_version, provenance
from twin_assets.shared.partitions import daily_partitions
from twin_model.contracts import TABLES
from twin_resources.dashboard import PAGE_IDS, Limits, write
from twin_resources.resources import TwinConfigResource, WarehouseResource

DASHBOARD_KEY = dg.AssetKey(["reports", "dashboard"])
FILE_COMPLETE = "file_complete"
READS = (
    "raw.strategy_returns",
    "raw.factor_returns",
    "models.strategy_posteriors",
    "models.strategy_forecasts",
    "models.forecast_calibration",
    "models.metalabel_scores",
    "stats.strategy_statistics",
    "alpha.alpha_pool",
    "portfolio.solution_weights",
    "portfolio.solution_performance",
    "portfolio.strategy_attribution",
    "portfolio.risk_violations",
    "firm.firm_pnl",
)
"""The daily tables the dashboard draws (its dependencies)."""


def file_problems(path: Path) -> list[str]:
    """What is wrong with a written dashboard: missing, a page missing, not one plotly.js."""
    if not path.exists():
        return [f"no dashboard at {path}"]
    text = path.read_text(encoding="utf-8")
    problems = [f"page {page!r} missing" for page in PAGE_IDS if f'<section id="{page}"' not in text]
    bundles = text.count(plotly_banner())
    if bundles != 1:
        problems.append(f"{bundles} copies of plotly.js (want exactly 1)")
    return problems


def plotly_banner() -> str:
    """The line of the plotly.js bundle's licence banner that names it and its version
    (``* plotly.js v4.1.1``): once in the bundle, so once per copy."""
    return next(line for line in plotly.offline.get_plotlyjs().splitlines() if "plotly.js v" in line)


def dashboard_asset() -> dg.AssetsDefinition:
    """The dashboard asset, built when the Definitions are (its daily partitions read the
    calendar, which no import may do)."""

    @dg.asset(
        key=DASHBOARD_KEY,
        description=(
            "A multi-page offline HTML dashboard of the last day of the run's partition or range, written beside the "
            "warehouse (<stem>.dashboard.html): overview, risk, performance, strategy deep dive, firm and stress pages "
            "with CSV export, plotly.js inlined once."
        ),
        group_name="reports",
        partitions_def=daily_partitions(),
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_POOL,
        owners=[OWNER],
        kinds={"html", "plotly"},
        code_version=layer_code_version("reports"),
        deps=[dg.AssetDep(TABLES[name].path) for name in READS],
        check_specs=[
            dg.AssetCheckSpec(
                FILE_COMPLETE,
                asset=DASHBOARD_KEY,
                blocking=True,
                description="The written file exists, holds every page id and exactly one copy of plotly.js.",
            )
        ],
    )
    def dashboard(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
        started = time.perf_counter()
        as_of = days_of(context)[-1]
        portfolio = twin_config.risk_limits().portfolio
        limits = Limits(max_gross_leverage=portfolio.max_gross_leverage, volatility_target=portfolio.volatility_target)
        written = write(warehouse.warehouse(), as_of, limits)
        context.log.info(f"dashboard of {as_of}: {written.path} ({written.size_bytes:,} bytes)")
        yield dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(written.path)),
                "size_bytes": written.size_bytes,
                "pages": len(written.figures),
                "figures": sum(written.figures.values()),
                "as_of": str(as_of),
                "seconds": round(time.perf_counter() - started, 3),
                **provenance(context, twin_config.config_dir),
            }
        )
        problems = file_problems(written.path)
        yield dg.AssetCheckResult(
            check_name=FILE_COMPLETE,
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"problems": len(problems), "first_problems": "; ".join(problems[:10]) or "none"},
        )

    return dashboard
