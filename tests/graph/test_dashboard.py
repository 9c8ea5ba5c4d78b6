"""The dashboard asset on a small seeded warehouse: one offline file for the last day of
its partition or range, every page and chart in it, plotly.js once, metadata and check;
pages without their tables say so; and the file in a real headless chromium."""

import datetime as dt
import re
from html.parser import HTMLParser

import dagster as dg
import polars as pl
import pytest

from tests.helpers.browser import browser_required, chromium_missing, chromium_page
from tests.helpers.dashboard import AS_OF, seed_dashboard_warehouse
from tests.helpers.graph import materialize_days, resources
from twin_assets.cli.summary import dashboard_lines
from twin_assets.reports import DASHBOARD_KEY, dashboard_asset
from twin_assets.reports.dashboard import FILE_COMPLETE, file_problems, plotly_banner
from twin_resources.dashboard import BACKTEST_MISSING, PAGE_IDS, Limits, dashboard_path, load, render
from twin_resources.warehouse import Warehouse

FIGURES = {"overview": 1, "risk": 6, "performance": 7, "strategies": 6, "firm": 5, "stress": 2}
"""Charts per page on the seeded warehouse (the firm page's fifth: the back-test's Sharpe)."""
BACKTEST = pl.DataFrame(
    {"policy": ["twin", "equal_weight", "sp500"], "sharpe": [0.9, 0.7, 0.5], "cagr": [0.1, 0.08, 0.07]}
)


class _Pages(HTMLParser):
    """Per page section: its id, Plotly.newPlot calls, CSV links; and the scripts' sizes."""

    def __init__(self):
        super().__init__()
        self.pages: dict[str, dict] = {}
        self.current: str | None = None
        self.in_script = False
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "page" in (attrs.get("class") or ""):
            self.current = attrs["id"]
            self.pages[self.current] = {"plots": 0, "csv": []}
        elif tag == "script":
            self.in_script = True
            self.scripts.append("")
        elif tag == "a" and self.current and (attrs.get("href") or "").startswith("data:text/csv"):
            self.pages[self.current]["csv"].append(attrs["download"])

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False
        elif tag == "section":
            self.current = None

    def handle_data(self, data):
        if self.in_script:
            self.scripts[-1] += data
            if self.current:
                self.pages[self.current]["plots"] += data.count("Plotly.newPlot(")


def _parsed(text: str) -> _Pages:
    parser = _Pages()
    parser.feed(text)
    return parser


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """The dashboard asset run for AS_OF on the seeded warehouse (with a back-test table)."""
    warehouse = seed_dashboard_warehouse(tmp_path_factory.mktemp("dashboard") / "twin.duckdb", BACKTEST)
    result = materialize_days([dashboard_asset()], resources(warehouse), AS_OF.isoformat())
    return warehouse, result


def test_the_asset_writes_one_offline_file_with_every_page_and_chart(drawn):
    warehouse, result = drawn
    assert result.success
    path = dashboard_path(warehouse.path)
    text = path.read_text(encoding="utf-8")
    parsed = _parsed(text)
    assert list(parsed.pages) == list(PAGE_IDS)
    assert {page: found["plots"] for page, found in parsed.pages.items()} == FIGURES
    assert all(found["csv"] for found in parsed.pages.values())  # every page exports its tables
    bundles = [script for script in parsed.scripts if plotly_banner() in script]
    assert len(bundles) == 1 and text.count(plotly_banner()) == 1
    assert not re.search(r"<script[^>]+src=", text)  # nothing loaded from elsewhere: no CDN
    assert f'content="{AS_OF}"' in text and file_problems(path) == []


def test_the_metadata_names_the_file_and_the_check_passes(drawn):
    warehouse, result = drawn
    [materialization] = result.asset_materializations_for_node(dashboard_asset().op.name)
    metadata = materialization.metadata
    assert metadata["path"] == dg.MetadataValue.path(str(dashboard_path(warehouse.path)))
    assert metadata["size_bytes"].value == dashboard_path(warehouse.path).stat().st_size
    assert (metadata["pages"].value, metadata["figures"].value) == (6, sum(FIGURES.values()))
    assert metadata["as_of"].value == AS_OF.isoformat()
    [check] = result.get_asset_check_evaluations()
    assert (check.asset_key, check.check_name, check.passed) == (DASHBOARD_KEY, FILE_COMPLETE, True)


def test_the_summary_names_the_file_and_its_day(drawn, tmp_path):
    warehouse, _ = drawn
    lines = dashboard_lines(warehouse.path)
    assert str(dashboard_path(warehouse.path)) in lines[0] and f"as of {AS_OF}" in lines[0]
    assert dashboard_lines(tmp_path / "twin.duckdb") == []  # nothing drawn there yet


def test_a_range_draws_its_last_day_once(drawn):
    warehouse, _ = drawn
    start = AS_OF - dt.timedelta(days=6)
    result = materialize_days([dashboard_asset()], resources(warehouse), start.isoformat(), AS_OF.isoformat())
    assert result.success
    materializations = result.asset_materializations_for_node(dashboard_asset().op.name)
    assert len(materializations) == 5  # one event per business day of the range, one file
    assert {m.metadata["as_of"].value for m in materializations} == {AS_OF.isoformat()}
    assert list(dashboard_path(warehouse.path).parent.glob("*.html")) == [dashboard_path(warehouse.path)]


def test_the_file_check_names_what_is_wrong(tmp_path):
    assert file_problems(tmp_path / "none.html") == [f"no dashboard at {tmp_path / 'none.html'}"]
    broken = tmp_path / "broken.html"
    broken.write_text('<section id="overview" class="page"></section>')
    problems = file_problems(broken)
    assert "page 'risk' missing" in problems and "0 copies of plotly.js (want exactly 1)" in problems


def test_every_page_says_what_to_materialise_when_its_tables_are_missing(tmp_path):
    """An empty warehouse (no table written yet): every page is there, with notes, no chart."""
    rendered = render(load(Warehouse(tmp_path / "empty.duckdb"), AS_OF, Limits(1.5, 0.12)))
    parsed = _parsed(rendered.html)
    assert list(parsed.pages) == list(PAGE_IDS)
    assert sum(found["plots"] for found in parsed.pages.values()) == 0
    assert rendered.figures == dict.fromkeys(PAGE_IDS, 0)
    for table in (
        "portfolio.solution_performance",
        "models.strategy_posteriors",
        "firm.firm_pnl",
        "twin.policy_evaluations",
    ):
        assert f"materialise {table}" in rendered.html, table
    assert BACKTEST_MISSING.replace("`", "") in rendered.html.replace("`", "")


@pytest.fixture(scope="module")
def browser_ready():
    missing = chromium_missing()
    if missing:
        if browser_required():
            pytest.fail(missing)
        pytest.skip(missing)


def test_the_file_in_headless_chromium_every_tab_chart_and_sort_without_errors(browser_ready, drawn):
    warehouse, _ = drawn
    uri = dashboard_path(warehouse.path).as_uri()
    with chromium_page() as (page, problems):
        page.goto(uri)
        page.wait_for_load_state("load")
        assert page.locator("#overview").is_visible() and not page.locator("#risk").is_visible()
        for page_id, figures in FIGURES.items():
            page.click(f'nav a[href="#{page_id}"]')
            page.wait_for_function(f"getComputedStyle(document.getElementById('{page_id}')).display === 'block'")
            assert page.evaluate("location.hash") == f"#{page_id}"
            others = [other for other in PAGE_IDS if other != page_id]
            assert all(not page.locator(f"#{other}").is_visible() for other in others)
            assert page.locator(f"#{page_id} .js-plotly-plot").count() == figures
            assert page.locator(f"#{page_id} .js-plotly-plot .main-svg").count() >= figures  # drawn, not just placed
        page.goto(uri + "#stress")
        page.reload()
        assert page.locator("#stress").is_visible() and not page.locator("#overview").is_visible()
        _sorts_on_click(page)
        assert problems.all() == []


def _sorts_on_click(page) -> None:
    """The overview's strategy table sorts by a column on a click, then the other way."""
    page.click('nav a[href="#overview"]')
    table = page.locator("#overview table.sortable")
    headers = table.locator("th").all_inner_texts()
    index = headers.index("sharpe_mean") + 1

    def values() -> list[float]:
        return [float(v) for v in table.locator(f"tbody td:nth-child({index})").all_inner_texts()]

    header = table.locator("th").nth(index - 1)
    header.click()
    assert values() == sorted(values())
    header.click()
    assert values() == sorted(values(), reverse=True)
