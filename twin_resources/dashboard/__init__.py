"""The dashboard: one self-contained offline HTML file of the twin's state on one day,
written beside the warehouse (``<stem>.dashboard.html``).

The page data comes from ``twin_model.reports`` (pure functions); this package reads the
warehouse (``_data``), draws the pages (``_book_pages``: overview, risk, performance;
``_model_pages``: strategy deep dive, firm, stress) with plotly, and writes one file with
plotly.js inlined once (``_html``), through a temporary file and an atomic rename.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from twin_resources.dashboard._book_pages import overview, performance, risk
from twin_resources.dashboard._data import DashboardData, Limits, load
from twin_resources.dashboard._html import AS_OF_META, Page, document
from twin_resources.dashboard._model_pages import BACKTEST_MISSING, firm, strategies, stress
from twin_resources.warehouse import Warehouse

DASHBOARD_SUFFIX = ".dashboard.html"
PAGES = (overview, risk, performance, strategies, firm, stress)
PAGE_IDS = ("overview", "risk", "performance", "strategies", "firm", "stress")
TITLE = "Strategy Twin"


@dataclass(frozen=True)
class Rendered:
    """The file's text and what it holds: figures per page id, in order."""

    html: str
    figures: dict[str, int]


@dataclass(frozen=True)
class Written:
    path: Path
    size_bytes: int
    figures: dict[str, int]


def dashboard_path(warehouse_path: str | Path) -> Path:
    """``<dir>/<stem>.dashboard.html`` beside the warehouse file."""
    path = Path(warehouse_path)
    return path.with_name(path.stem + DASHBOARD_SUFFIX)


def written_as_of(path: Path) -> str | None:
    """The day a written dashboard draws (from its head), or None when there is no file."""
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as file:
        head = file.read(2048)
    found = re.search(f'<meta name="{AS_OF_META}" content="([^"]*)"', head)
    return found.group(1) if found else None


def render(data: DashboardData) -> Rendered:
    pages: list[Page] = [build(data) for build in PAGES]
    return Rendered(document(TITLE, data.as_of.isoformat(), pages), {page.id: page.figures for page in pages})


def write(warehouse: Warehouse, as_of: dt.date, limits: Limits) -> Written:
    """Render the dashboard of ``as_of`` from ``warehouse`` and swap it in beside it."""
    rendered = render(load(warehouse, as_of, limits))
    target = dashboard_path(warehouse.path)
    staging = target.with_name(target.name + ".tmp")
    try:
        staging.write_text(rendered.html, encoding="utf-8")
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return Written(target, target.stat().st_size, rendered.figures)


__all__ = [
    "BACKTEST_MISSING",
    "DASHBOARD_SUFFIX",
    "PAGE_IDS",
    "DashboardData",
    "Limits",
    "Rendered",
    "Written",
    "dashboard_path",
    "load",
    "render",
    "write",
    "written_as_of",
]
