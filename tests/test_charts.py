"""The dashboard charts: matplotlib figures with date axes, the rule seed's key levels, ETF flow bars and a
status heatmap that knows every status (no_data included), read from the marts."""

import io
from datetime import date, timedelta

import duckdb
import numpy as np
import pytest
from PIL import Image

from pipelines import charts

DAYS = [date(2026, 2, 2) + timedelta(days=i) for i in range(5)]
# BTC closes and ETF net flows of 2–6 Feb 2026, as in the replay dataset (Binance BTCUSDT daily closes;
# Farside's daily totals); the 6th's flow is left out to stand for a day with no figure.
CLOSES = [78_688.77, 75_633.55, 73_019.70, 62_702.10, 70_555.39]
FLOWS = [561.8e6, -272.0e6, -544.9e6, -434.1e6, None]
STATUS = {
    "etf_net_flow": ["neutral", "neutral", "bear_continuation", "bear_continuation", "bear_continuation"],
    "liquidations": ["no_data"] * 5,
    "price_vs_key_levels": ["bull_confirmation", "bull_confirmation", "neutral", "bear_continuation", "neutral"],
    "regime": ["neutral", "neutral", "bear_continuation", "bear_continuation", None],  # no regime row on the 6th
}
CATEGORY = {"etf_net_flow": "capital_flow", "liquidations": "leverage", "price_vs_key_levels": "price", "regime": "composite"}


def tiny_warehouse(path, with_derived: bool = False) -> None:
    """The three relations the charts and the report read, with a few real days."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema seeds")
        con.execute("create table seeds.signal_rules (indicator varchar, parameter varchar, value double, unit varchar)")
        con.execute("""insert into seeds.signal_rules values ('price', 'key_level_usd', 70000, 'usd'),
                       ('price', 'support_band_low_usd', 66900, 'usd'), ('price', 'support_band_high_usd', 70600, 'usd'),
                       ('open_interest', 'key_level_usd', 70000, 'usd')""")
        con.execute("create table marts.fct_daily_market (as_of_date date, btc_close_usd double, etf_net_flow_usd double)")
        con.executemany("insert into marts.fct_daily_market values (?, ?, ?)", list(zip(DAYS, CLOSES, FLOWS, strict=True)))
        derived_col = ", is_derived boolean" if with_derived else ""
        con.execute(f"""create table marts.signal_dashboard (as_of_date date, indicator varchar, category varchar,
                        status varchar, reading_text varchar, rule varchar, source varchar, source_as_of date,
                        is_stale boolean{derived_col})""")
        for ind, statuses in STATUS.items():
            for d, s in zip(DAYS, statuses, strict=True):
                if s is None:
                    continue
                rule = ("1 macro risk appetite: fails (bear_continuation); 2 ETF outflows slowing or reversing: fails "
                        "(bear_continuation); 3 derivatives normalising: unknown") if ind == "regime" else f"{ind} rule on {d}"
                no_data = s == "no_data"
                row = [d, ind, CATEGORY[ind], s, "no data" if no_data else f"{ind} reading on {d}", rule,
                       None if no_data else "farside", None if no_data else d, no_data]
                if with_derived:
                    row.append(ind == "liquidations")
                con.execute(f"insert into marts.signal_dashboard values ({', '.join('?' * len(row))})", row)


@pytest.fixture()
def con(tmp_path):
    tiny_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as c:
        yield c


def test_chart_data_reads_series_levels_and_statuses(con):
    data = charts.load_chart_data(con)
    assert data.days == DAYS
    assert data.close_usd == CLOSES and data.etf_flow_usd == FLOWS
    assert data.indicators[0] == "regime"  # the composite on top, then by category
    assert data.levels == charts.KeyLevels(70000, 66900, 70600)
    assert data.status[("etf_net_flow", date(2026, 2, 5))] == "bear_continuation"


def test_chart_data_clips_to_the_dashboards_window(con):
    data = charts.load_chart_data(con, date(2026, 1, 1), date(2026, 2, 3))
    assert data.days == DAYS[:2]


def test_status_grid_codes_every_status_and_missing_rows_as_no_data(con):
    data = charts.load_chart_data(con)
    grid = charts.status_grid(data)
    codes = {s: i for i, s in enumerate(charts.STATUSES)}
    row = {ind: grid[i] for i, ind in enumerate(data.indicators)}
    assert list(row["liquidations"]) == [codes["no_data"]] * 5
    assert row["regime"][-1] == codes["no_data"]  # no row that day
    assert list(row["price_vs_key_levels"][:4]) == [codes[s] for s in STATUS["price_vs_key_levels"][:4]]


def test_overview_figure_has_dated_axes_key_levels_flows_and_heatmap(con):
    data = charts.load_chart_data(con)
    fig = charts.overview_figure(data, "test", mark=date(2026, 2, 5))
    price, flow, heat = fig.axes[:3]
    assert price.get_ylabel() == "BTC close, USD" and flow.get_ylabel() == "ETF net flow, USD"
    legend = [t.get_text() for t in price.get_legend().get_texts()]
    assert "key level 70,000" in legend and "support band 66,900–70,600" in legend
    (bars,) = flow.collections  # one bar per day with a flow figure, in one PolyCollection
    assert len(bars.get_paths()) == 4
    assert bars.get_facecolors()[1][:3] == pytest.approx((207 / 255, 34 / 255, 46 / 255))  # outflow red
    heights = [path.vertices[:, 1].max() if path.vertices[:, 1].max() > 0 else path.vertices[:, 1].min()
               for path in bars.get_paths()]
    assert heights[1] < 0 < heights[0]  # an outflow goes down, an inflow up
    assert [t.get_text() for t in heat.get_yticklabels()] == data.indicators
    fig.canvas.draw()
    dates = [t.get_text() for t in heat.get_xticklabels() if t.get_text()]
    assert dates and any("Feb" in t or t.isdigit() for t in dates)
    heat_legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert heat_legend == ["no data", "bear", "neutral", "bull"]


def test_overview_png_is_a_real_image(con):
    png = charts.overview_png(charts.load_chart_data(con), "test")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width >= 1000 and image.height >= 600
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    # the status colours are drawn
    for colour in ("#cf222e", "#2da44e"):
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert (pixels == rgb).all(axis=1).any(), colour
    assert charts.as_markdown(png, "cap").startswith("![cap](data:image/png;base64,")
