"""The dashboard's HTML pieces: CSV downloads that decode to the frame, escaped cells,
one plotly.js in the whole file and none in a figure."""

import datetime as dt
import urllib.parse

import plotly.graph_objects as go
import polars as pl

from twin_resources.dashboard._html import Page, csv_link, document, table_html


def test_a_csv_link_holds_the_frame_in_a_data_uri():
    frame = pl.DataFrame({"strategy_id": ["a,b", "c"], "weight": [0.5, None]})
    link = csv_link("risk_weights", frame)
    href = link.split('href="')[1].split('"')[0]
    assert href.startswith("data:text/csv;charset=utf-8,") and 'download="risk_weights.csv"' in link
    assert urllib.parse.unquote(href.split(",", 1)[1]) == frame.write_csv()


def test_cells_are_escaped_and_sortable_by_their_raw_value():
    frame = pl.DataFrame({"reason": ["<script>x</script>"], "value": [12345.678], "day": [dt.date(2024, 1, 2)]})
    text = table_html(frame, sortable=True)
    assert "<script>x" not in text and "&lt;script&gt;" in text
    assert 'data-value="12345.678">12,346<' in text and 'data-value="2024-01-02">2024-01-02<' in text
    assert 'class="data sortable"' in text


def test_figures_carry_no_plotly_js_and_the_document_one():
    page = Page("overview", "Overview")
    page.figure(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), "a line")
    page.figure(go.Figure(go.Bar(x=["a"], y=[1])), "a bar")
    assert page.figures == 2
    assert sum(block.count("Plotly.newPlot(") for block in page.blocks) == 2
    assert all("plotly.js v" not in block for block in page.blocks)
    text = document("Strategy Twin", "2024-01-02", [page])
    assert text.count("plotly.js v") == 1 and 'id="fig-overview-1"' in text and 'id="fig-overview-2"' in text
