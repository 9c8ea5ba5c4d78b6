"""The dashboard's HTML pieces: the one-file shell (plotly.js inlined once, a nav bar
of tabs reachable by URL hash, a small sort for tables), figures written without their
own copy of plotly.js, tables, notes and CSV downloads as data: URIs (offline)."""

from __future__ import annotations

import datetime as dt
import html
import math
import urllib.parse
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.offline
import polars as pl

FIGURE_HEIGHT = 360
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["sendDataToCloud"]}
AS_OF_META = "twin-as-of"
"""The head's meta tag naming the day drawn (read back by ``twin status``)."""
TABLE_ROWS = 200
"""Rows a page's table shows; its CSV download holds them all."""


@dataclass
class Page:
    """One tab: its id (the URL hash), title, HTML blocks in order, the tables behind it
    (offered as CSV) and how many figures it draws."""

    id: str
    title: str
    blocks: list[str] = field(default_factory=list)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    figures: int = 0

    def heading(self, text: str) -> None:
        self.blocks.append(f"<h2>{html.escape(text)}</h2>")

    def note(self, text: str) -> None:
        self.blocks.append(f'<p class="note">{html.escape(text)}</p>')

    def missing(self, what: str, materialise: str) -> None:
        """The short note a block shows instead of its chart or table when it has no data."""
        self.note(f"No data for {what}: materialise {materialise}.")

    def figure(self, fig: go.Figure, title: str, height: int = FIGURE_HEIGHT) -> None:
        fig.update_layout(
            title=title,
            height=height,
            template="plotly_white",
            margin=dict(l=50, r=20, t=50, b=40),
            legend_font_size=10,
        )
        div_id = f"fig-{self.id}-{self.figures + 1}"
        body = fig.to_html(include_plotlyjs=False, full_html=False, div_id=div_id, config=PLOT_CONFIG)
        self.blocks.append(f'<div class="figure">{body}</div>')
        self.figures += 1

    def table(self, name: str, frame: pl.DataFrame, sortable: bool = False, rows: int = TABLE_ROWS) -> None:
        """A table of ``frame`` (its first ``rows`` rows) and its CSV in the page's export."""
        self.tables[name] = frame
        self.blocks.append(table_html(frame, sortable, rows))

    def export(self, name: str, frame: pl.DataFrame) -> None:
        """A table behind a chart: offered as CSV only."""
        self.tables[name] = frame

    def html(self) -> str:
        links = "".join(csv_link(f"{self.id}_{name}", frame) for name, frame in self.tables.items())
        export = f'<div class="export"><b>CSV:</b> {links}</div>' if links else ""
        return f'<section id="{self.id}" class="page"><h1>{html.escape(self.title)}</h1>{"".join(self.blocks)}{export}</section>'


def grouped_bars(frame: pl.DataFrame, x: str, y: str, tickformat: str, by: str = "solution_id") -> go.Figure:
    """One bar trace per ``by`` (a solution), side by side over ``x``."""
    fig = go.Figure(
        [
            go.Bar(x=group.get_column(x).to_list(), y=group.get_column(y).to_list(), name=str(key))
            for (key,), group in frame.group_by(by, maintain_order=True)
        ]
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=tickformat)
    return fig


def cell(value) -> str:
    """A value as a person reads it in a table."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def table_html(frame: pl.DataFrame, sortable: bool = False, shown: int = TABLE_ROWS) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in frame.columns)
    rows = []
    for row in frame.head(shown).iter_rows():
        cells = []
        for value in row:
            sort_key = "" if value is None else (value.isoformat() if isinstance(value, dt.date) else str(value))
            cells.append(f'<td data-value="{html.escape(sort_key, quote=True)}">{html.escape(cell(value))}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = f'<p class="note">{frame.height - shown} more rows in the CSV.</p>' if frame.height > shown else ""
    css = "data sortable" if sortable else "data"
    return f'<div class="table-wrap"><table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>{more}'


def csv_link(name: str, frame: pl.DataFrame) -> str:
    """A download link holding the frame as CSV in a data: URI (works offline)."""
    text = frame.write_csv()
    href = "data:text/csv;charset=utf-8," + urllib.parse.quote(text)
    return f'<a class="csv" download="{html.escape(name)}.csv" href="{href}">{html.escape(name)}.csv</a> '


def cards(items: list[tuple[str, str]]) -> str:
    """Headline figures as cards: (label, value) pairs."""
    body = "".join(
        f'<div class="card"><div class="label">{html.escape(label)}</div><div class="value">{html.escape(value)}</div></div>'
        for label, value in items
    )
    return f'<div class="cards">{body}</div>'


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1d2733;color:#fff;padding:10px 20px;display:flex;align-items:center;gap:24px;flex-wrap:wrap}
header .brand{font-weight:600}header .asof{opacity:.8;font-size:13px}
nav a{color:#cfd8e3;text-decoration:none;margin-right:14px;padding:4px 2px;font-size:14px}
nav a.active{color:#fff;border-bottom:2px solid #4aa3ff}
main{padding:10px 20px}.page h1{font-size:20px;margin:10px 0}.page h2{font-size:16px;margin:18px 0 6px}
.figure{background:#fff;border:1px solid #e1e6ec;margin:8px 0;padding:4px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #e1e6ec;padding:10px 14px;min-width:150px}
.card .label{font-size:12px;color:#5b6b7c}.card .value{font-size:20px;font-weight:600}
.note{color:#5b6b7c;font-size:13px}.table-wrap{overflow-x:auto;background:#fff;border:1px solid #e1e6ec}
table.data{border-collapse:collapse;font-size:12px;width:100%}table.data th,table.data td{padding:3px 8px;border-bottom:1px solid #eef1f4;text-align:right;white-space:nowrap}
table.data th:first-child,table.data td:first-child{text-align:left}table.sortable th{cursor:pointer}
table.sortable th.asc:after{content:" \\25B2"}table.sortable th.desc:after{content:" \\25BC"}
.export{margin:16px 0;font-size:13px}.export a{margin-right:10px}
"""

SCRIPT = """
(function(){
  var pages = Array.prototype.slice.call(document.querySelectorAll("section.page"));
  function show(id){
    if(!pages.some(function(p){return p.id===id;})){id=pages[0].id;}
    pages.forEach(function(p){p.style.display = p.id===id ? "block" : "none";});
    document.querySelectorAll("nav a").forEach(function(a){a.classList.toggle("active", a.getAttribute("href")==="#"+id);});
    document.querySelectorAll("#"+id+" .js-plotly-plot").forEach(function(el){Plotly.Plots.resize(el);});
  }
  window.addEventListener("hashchange", function(){show(location.hash.slice(1));});
  document.querySelectorAll("table.sortable").forEach(function(table){
    table.querySelectorAll("th").forEach(function(th, column){
      th.addEventListener("click", function(){
        var descending = th.classList.contains("asc");
        table.querySelectorAll("th").forEach(function(h){h.classList.remove("asc","desc");});
        th.classList.add(descending ? "desc" : "asc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function(a, b){
          var x = a.cells[column].getAttribute("data-value"), y = b.cells[column].getAttribute("data-value");
          var nx = Number(x), ny = Number(y), order;
          if(x===""||y===""){order = (x==="") - (y==="");}
          else if(!isNaN(nx) && !isNaN(ny)){order = nx - ny;}
          else {order = x < y ? -1 : (x > y ? 1 : 0);}
          return descending ? -order : order;
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  show(location.hash.slice(1));
})();
"""


def document(title: str, as_of: str, pages: list[Page]) -> str:
    """The whole file: plotly.js once in the head, the nav bar, every page, the script."""
    nav = "".join(f'<a href="#{page.id}">{html.escape(page.title)}</a>' for page in pages)
    body = "".join(page.html() for page in pages)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="{AS_OF_META}" content="{html.escape(as_of)}">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script></head><body>'
        f'<header><span class="brand">{html.escape(title)}</span><span class="asof">as of {html.escape(as_of)}</span>'
        f"<nav>{nav}</nav></header><main>{body}</main>"
        f'<script type="text/javascript">{SCRIPT}</script></body></html>'
    )
