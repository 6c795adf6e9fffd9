"""Charts of the dashboard, drawn with matplotlib (pinned in pyproject.toml).

Why matplotlib: it is the long-kept standard Python plotting library, it renders PNG and SVG
in-process with its Agg rasteriser (no browser, no Node, no display, nothing fetched at run time, unlike
Vega-Lite's renderers), and it has real date axes (``ConciseDateFormatter``). We use its
object-oriented ``Figure`` API, never ``pyplot``: no global figure state and no GUI backend is ever
selected, so charts render the same inside a Dagster run, under ``dagster dev`` or in a test.

One figure, :func:`overview_png`, for a span of days: BTC close with the rule seed's key levels, the
daily ETF net flows, and a status heatmap (indicator × day). The dashboard asset carries it for the last
90 days and for the whole window; the daily report (``pipelines/report.py``) draws it around its day.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import duckdb
import numpy as np

# matplotlib is imported where a figure is drawn (overview_figure): a process that draws none, such as a raw
# run or the code server, does not pay its import (≈ 0.5 s).
if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Heatmap categories, in order; a day with no row for an indicator counts as no_data.
STATUSES = ("no_data", "bear_continuation", "neutral", "bull_confirmation")
STATUS_COLOURS = {
    "no_data": "#ffffff",
    "bear_continuation": "#cf222e",
    "neutral": "#c9ced6",
    "bull_confirmation": "#2da44e",
}
STATUS_LABELS = {"no_data": "no data", "bear_continuation": "bear", "neutral": "neutral", "bull_confirmation": "bull"}
PRICE_COLOUR, KEY_LEVEL_COLOUR, BAND_COLOUR = "#f7931a", "#1f6feb", "#8c959f"


@dataclass(frozen=True)
class KeyLevels:
    """From the rule seed (dbt_project/seeds/signal_rules.csv, indicator 'price')."""

    key_level_usd: float | None
    band_low_usd: float | None
    band_high_usd: float | None


@dataclass(frozen=True)
class ChartData:
    days: list[date]                     # every calendar day of the span
    close_usd: list[float | None]        # BTC daily close
    etf_flow_usd: list[float | None]     # spot ETF net flow (None: no trading day / no figure)
    indicators: list[str]                # heatmap rows, top to bottom
    status: dict[tuple[str, date], str]  # (indicator, day) -> status
    levels: KeyLevels

    def __len__(self) -> int:
        return len(self.days)


def load_chart_data(con: duckdb.DuckDBPyConnection, start: date | None = None, end: date | None = None) -> ChartData:
    """Read the series of [start, end] (default: the dashboard's whole window) from the marts and seeds."""
    first, last = con.execute("select min(as_of_date), max(as_of_date) from marts.signal_dashboard").fetchone()
    if first is None:
        raise ValueError("marts.signal_dashboard is empty: nothing to chart")
    start, end = max(start or first, first), min(end or last, last)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    market = {
        d: (c, f)
        for d, c, f in con.execute(
            "select as_of_date, btc_close_usd, etf_net_flow_usd from marts.fct_daily_market where as_of_date between ? and ?",
            [start, end],
        ).fetchall()
    }
    rows = con.execute(
        """select as_of_date, indicator, category, status from marts.signal_dashboard
           where as_of_date between ? and ?""",
        [start, end],
    ).fetchall()
    categories = {ind: cat for _, ind, cat, _ in rows}
    # The regime first (top row), then by category and name.
    indicators = sorted(categories, key=lambda i: (i != "regime", categories[i] or "", i))
    params = dict(
        con.execute(
            """select parameter, value from seeds.signal_rules
               where indicator = 'price' and parameter in ('key_level_usd', 'support_band_low_usd', 'support_band_high_usd')"""
        ).fetchall()
    )
    return ChartData(
        days=days,
        close_usd=[market.get(d, (None, None))[0] for d in days],
        etf_flow_usd=[market.get(d, (None, None))[1] for d in days],
        indicators=indicators,
        status={(ind, d): s for d, ind, _, s in rows},
        levels=KeyLevels(params.get("key_level_usd"), params.get("support_band_low_usd"), params.get("support_band_high_usd")),
    )


def status_grid(data: ChartData) -> np.ndarray:
    """indicators × days of category codes (indexes into STATUSES); unknown statuses count as no_data."""
    code = {s: i for i, s in enumerate(STATUSES)}
    return np.array(
        [[code.get(data.status.get((ind, d), "no_data"), 0) for d in data.days] for ind in data.indicators], dtype=float
    )


def _usd(value: float, _pos: int | None = None) -> str:
    return f"{value:,.0f}"


def _musd(value: float, _pos: int | None = None) -> str:
    return f"{value / 1e6:+,.0f}M" if value else "0"


def overview_png(data: ChartData, title: str, mark: date | None = None) -> bytes:
    """:func:`overview_figure` as PNG bytes (Agg)."""
    buf = io.BytesIO()
    overview_figure(data, title, mark).savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def overview_figure(data: ChartData, title: str, mark: date | None = None, width_in: float = 12.0, dpi: int = 96) -> Figure:
    """Three panels sharing one date axis: BTC close with key levels, ETF net flows, status heatmap.
    ``mark`` draws a dotted line on that day (the report's day)."""
    from matplotlib import dates as mdates
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    if not data.days:
        raise ValueError("no days to chart")
    n_ind = max(len(data.indicators), 1)
    fig = Figure(figsize=(width_in, 5.6 + 0.22 * n_ind), dpi=dpi, layout="constrained")
    axes = fig.subplots(3, 1, sharex=True, height_ratios=[3.0, 1.6, 0.3 + 0.26 * n_ind])
    ax_price, ax_flow, ax_heat = axes
    fig.suptitle(title, fontsize=12, fontweight="bold")
    x = np.array(data.days, dtype="datetime64[D]")
    half_day = np.timedelta64(12, "h")
    lo, hi = x[0] - half_day, x[-1] + half_day

    closes = np.array([np.nan if v is None else v for v in data.close_usd], dtype=float)
    ax_price.plot(x, closes, color=PRICE_COLOUR, linewidth=1.6, label="BTC close (USD)")
    lv = data.levels
    if lv.band_low_usd is not None and lv.band_high_usd is not None:
        ax_price.axhspan(lv.band_low_usd, lv.band_high_usd, color=BAND_COLOUR, alpha=0.18,
                         label=f"support band {lv.band_low_usd:,.0f}–{lv.band_high_usd:,.0f}")
    if lv.key_level_usd is not None:
        ax_price.axhline(lv.key_level_usd, color=KEY_LEVEL_COLOUR, linestyle="--", linewidth=1.1,
                         label=f"key level {lv.key_level_usd:,.0f}")
    if np.isfinite(closes).any():
        last = int(np.flatnonzero(np.isfinite(closes))[-1])
        ax_price.annotate(f"{closes[last]:,.0f}", (x[last], closes[last]), textcoords="offset points", xytext=(4, 4),
                          fontsize=8, color=PRICE_COLOUR)
    ax_price.set_ylabel("BTC close, USD")
    ax_price.yaxis.set_major_formatter(FuncFormatter(_usd))
    ax_price.grid(True, color="#eaeef2", linewidth=0.8)
    ax_price.legend(loc="upper left", fontsize=8, frameon=False)

    flows = np.array([np.nan if v is None else v for v in data.etf_flow_usd], dtype=float)
    has = np.isfinite(flows)
    # one bar per day with a flow figure, drawn as one PolyCollection: Axes.bar makes a Rectangle artist per
    # bar, and for the whole window's ≈ 530 bars that took 0.75 s of the chart's 1.25 s
    days, half = mdates.date2num(x[has]), 0.85 / 2
    ax_flow.add_collection(PolyCollection(
        [[(d - half, 0.0), (d - half, v), (d + half, v), (d + half, 0.0)] for d, v in zip(days, flows[has], strict=True)],
        facecolors=np.where(flows[has] >= 0, "#2da44e", "#cf222e"), edgecolors="none"))
    ax_flow.autoscale_view()
    ax_flow.axhline(0, color="#57606a", linewidth=0.8)
    ax_flow.set_ylabel("ETF net flow, USD")
    ax_flow.yaxis.set_major_formatter(FuncFormatter(_musd))
    ax_flow.grid(True, axis="y", color="#eaeef2", linewidth=0.8)

    grid = status_grid(data) if data.indicators else np.zeros((1, len(data.days)))
    edges = np.append(x - half_day, x[-1] + half_day)
    cmap = ListedColormap([STATUS_COLOURS[s] for s in STATUSES])
    norm = BoundaryNorm(np.arange(len(STATUSES) + 1) - 0.5, cmap.N)
    ax_heat.pcolormesh(mdates.date2num(edges), np.arange(n_ind + 1), grid, cmap=cmap, norm=norm,
                       edgecolors="#ffffff" if len(data.days) <= 120 else "none", linewidth=0.4)
    ax_heat.set_yticks(np.arange(n_ind) + 0.5, data.indicators or ["(no indicators)"], fontsize=8)
    ax_heat.set_ylim(n_ind, 0)
    for spine in ax_heat.spines.values():
        spine.set_edgecolor("#8c959f")
    fig.legend(handles=[Patch(facecolor=STATUS_COLOURS[s], edgecolor="#8c959f", label=STATUS_LABELS[s]) for s in STATUSES],
               loc="outside lower center", ncols=len(STATUSES), fontsize=8, frameon=False, title="status (heatmap)",
               title_fontsize=8)

    if mark is not None:
        for ax in axes:
            ax.axvline(np.datetime64(mark, "D"), color="#24292f", linewidth=1.0, linestyle=":")
        ax_price.annotate(str(mark), (np.datetime64(mark, "D"), 1.0), xycoords=("data", "axes fraction"),
                          xytext=(3, -12), textcoords="offset points", fontsize=8)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=12)
    ax_heat.xaxis.set_major_locator(locator)
    ax_heat.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax_heat.set_xlim(mdates.date2num(lo), mdates.date2num(hi))
    return fig


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def as_markdown(png: bytes, caption: str) -> str:
    """An image the Dagster UI renders in an asset's metadata (markdown with a data URI)."""
    return f"![{caption}]({data_uri(png)})\n\n{caption}"
