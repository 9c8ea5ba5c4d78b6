"""Screenshots of each dashboard page, into ``docs/dashboard/<page>.png``.

    .venv/bin/python -m docs.screenshots [--warehouse PATH]

Draws the dashboard of the warehouse's last solution day from a COPY of the warehouse
(the file is copied to a temporary folder first and only read there; the dashboard is
written beside the copy), then opens it in Debian's headless chromium through playwright
and screenshots every tab. Without ``--warehouse`` it uses ``/tmp/mj/twin.duckdb`` when
that exists (a bundled main job's warehouse), else (or with ``--seeded``) the seeded
test warehouse of ``tests/helpers/dashboard.py``. Prints the file's size and its charts per page.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from tests.helpers.browser import chromium_missing, chromium_page
from tests.helpers.dashboard import seed_dashboard_warehouse
from twin_model.contracts import TABLES
from twin_resources.config import load_config
from twin_resources.dashboard import PAGE_IDS, Limits, write
from twin_resources.warehouse import Warehouse

OUT = Path(__file__).parent / "dashboard"
MAIN_JOB_WAREHOUSE = Path("/tmp/mj/twin.duckdb")


def _copy(source: Path, folder: Path) -> Warehouse:
    """The warehouse file (and a write-ahead log beside it) copied into ``folder``."""
    target = folder / source.name
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return Warehouse(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=None, help="a warehouse file to draw (copied first)")
    parser.add_argument("--seeded", action="store_true", help="draw the seeded test warehouse")
    args = parser.parse_args()
    missing = chromium_missing()
    if missing:
        print(missing)
        return 2
    with tempfile.TemporaryDirectory(prefix="twin_screenshots_") as folder:
        source = args.warehouse or (MAIN_JOB_WAREHOUSE if MAIN_JOB_WAREHOUSE.exists() else None)
        if args.seeded or source is None:
            warehouse = seed_dashboard_warehouse(Path(folder) / "twin.duckdb").warehouse()
            print("drawing the seeded test warehouse")
        else:
            warehouse = _copy(source, Path(folder))
            print(f"drawing a copy of {source}")
        performance = warehouse.read(TABLES["portfolio.solution_performance"], columns=["date"])
        as_of = performance.get_column("date").max()
        portfolio = load_config().risk_limits.portfolio
        written = write(warehouse, as_of, Limits(portfolio.max_gross_leverage, portfolio.volatility_target))
        print(f"dashboard of {as_of}: {written.size_bytes:,} bytes; charts per page {written.figures}")
        OUT.mkdir(parents=True, exist_ok=True)
        with chromium_page(width=1400, height=900) as (page, problems):
            page.goto(written.path.as_uri())
            for page_id in PAGE_IDS:
                page.click(f'nav a[href="#{page_id}"]')
                page.wait_for_function(f"getComputedStyle(document.getElementById('{page_id}')).display === 'block'")
                page.wait_for_timeout(500)
                page.screenshot(path=str(OUT / f"{page_id}.png"), full_page=True)
                print(f"  {OUT / f'{page_id}.png'}")
            if problems.all():
                print(f"problems in the page: {problems.all()}")
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
