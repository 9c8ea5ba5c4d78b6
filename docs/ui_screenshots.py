"""Screenshots of per-day metadata in the Dagster UI and plotted over partitions from its
GraphQL API, into ``docs/ui/``.

    DAGSTER_HOME=<a main job's instance> TWIN_WAREHOUSE=<its warehouse> \\
        .venv/bin/python -m docs.ui_screenshots [--port 3999]

Starts ``dagster-webserver`` on 127.0.0.1 for the instance of ``DAGSTER_HOME`` (nothing is
launched), then in Debian's headless chromium through playwright:

- the UI's Events tab of ``portfolio/solution_performance`` (one materialisation per
  day, its own NAV, AUM and drawdown per solution): ``events_solution_performance.png``;
- each asset's numeric per-day metadata read back through the webserver's GraphQL API
  (``assetMaterializations``: partition and metadata entries) and drawn over partitions
  with plotly: ``<asset>_over_partitions.png``. Dagster 1.13's open-source UI shows no
  Plots tab, so the plot is drawn from the same API the UI reads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import plotly.graph_objects as go
from playwright.sync_api import sync_playwright

from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, chromium_missing

OUT = Path(__file__).parent / "ui"
PLOTTED = {
    "solution_performance": (["portfolio", "solution_performance"], ("nav_",)),
    "alpha_pool": (["alpha", "alpha_pool"], ("in_pool", "entered", "left", "changes")),
    "strategy_posteriors": (["models", "strategy_posteriors"], ("rhat_max", "fit_seconds", "refitted")),
}
"""Each asset's plotted labels: a name ending in ``_`` is a prefix (one line per solution), else exact."""
QUERY = """query($path: [String!]!, $limit: Int!) { assetOrError(assetKey: {path: $path}) { ... on Asset {
  assetMaterializations(limit: $limit) { partition metadataEntries { label
    ... on FloatMetadataEntry { floatValue } ... on IntMetadataEntry { intValue } } } } } }"""
STARTUP_S = 120
LIMIT = 500


def _wait_for(url: str) -> None:
    """Poll ``url`` until it answers (the webserver loads the code location first)."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(2)
    raise TimeoutError(f"no dagster webserver at {url} after {STARTUP_S} s")


def _wanted(label: str, names: tuple[str, ...]) -> bool:
    return any(label.startswith(n) if n.endswith("_") else label == n for n in names)


def numeric_series(base: str, path: list[str], names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Label -> {partition: value} of the numeric metadata ``names`` picks, over the
    asset's latest materialisation of each partition."""
    body = json.dumps({"query": QUERY, "variables": {"path": path, "limit": LIMIT}}).encode()
    request = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        events = json.loads(response.read())["data"]["assetOrError"]["assetMaterializations"]
    series: dict[str, dict[str, float]] = {}
    for event in reversed(events):  # oldest first: a later materialisation of a day wins
        for entry in event["metadataEntries"]:
            value = entry.get("floatValue", entry.get("intValue"))
            if value is not None and _wanted(entry["label"], names):
                series.setdefault(entry["label"], {})[event["partition"]] = float(value)
    return series


def _figure(name: str, series: dict[str, dict[str, float]]) -> go.Figure:
    figure = go.Figure()
    for label, points in sorted(series.items()):
        days = sorted(points)
        figure.add_trace(go.Scatter(x=days, y=[points[d] for d in days], mode="lines+markers", name=label))
    figure.update_layout(
        title=f"{name}: per-day metadata over partitions (Dagster GraphQL)",
        width=1300,
        height=600,
        xaxis_title="partition",
    )
    return figure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3999, help="port of the webserver on 127.0.0.1 (default 3999)")
    args = parser.parse_args()
    missing = chromium_missing()
    if missing or "DAGSTER_HOME" not in os.environ:
        print(missing or "set DAGSTER_HOME to the instance whose runs to show", file=sys.stderr)
        return 2
    base = f"http://127.0.0.1:{args.port}"
    command = [sys.executable, "-m", "dagster_webserver", "-m", "twin_assets.definitions", "-h", "127.0.0.1"]
    server = subprocess.Popen([*command, "-p", str(args.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(f"{base}/server_info")
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as folder:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/assets/portfolio/solution_performance?view=events")
            page.wait_for_timeout(6000)
            skip = page.get_by_role("button", name="Skip")  # the UI's first-visit community dialog
            if skip.count():
                skip.first.click()
                page.wait_for_timeout(1000)
            _shot(page, "events_solution_performance")
            page.set_viewport_size({"width": 1400, "height": 650})
            for name, (path, names) in PLOTTED.items():
                html = Path(folder) / f"{name}.html"
                _figure(name, numeric_series(base, path, names)).write_html(html, include_plotlyjs=True)
                page.goto(html.as_uri())
                page.wait_for_selector(".js-plotly-plot")
                _shot(page, f"{name}_over_partitions")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


def _shot(page, name: str) -> None:
    target = OUT / f"{name}.png"
    page.screenshot(path=str(target))
    print(f"  {target}")


if __name__ == "__main__":
    raise SystemExit(main())
