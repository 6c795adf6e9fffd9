"""The whole replay pipeline, as `make run` runs it: raw sources in one run over the window, then dbt."""

import io
import os
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import cli


def query(path: Path, sql: str, params=None):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def table_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by all"
        ).fetchall()
        return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables}


def dashboard_row(path: Path, day: str, indicator: str) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        cur = con.execute(
            "select * from marts.signal_dashboard where as_of_date = ? and indicator = ?", [date.fromisoformat(day), indicator]
        )
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    assert len(rows) == 1, f"expected one {indicator} row on {day}, got {len(rows)}"
    return dict(zip(names, rows[0], strict=True))


def test_etf_row_on_the_reference_day_reads_bear_continuation(replay_warehouse):
    row = dashboard_row(replay_warehouse, "2026-02-05", "etf_net_flow")
    assert row["status"] == "bear_continuation"
    assert row["reading"] == pytest.approx(-434_100_000.0)
    assert row["category"] == "capital_flow"
    assert "-434.1M" in row["reading_text"] and "MTD -689.2M" in row["reading_text"]
    assert "2 consecutive trading days <= -400.0M" in row["rule"] and "-544.9M" in row["rule"]
    assert row["source"] == "farside" and row["source_as_of"] == date(2026, 2, 5) and row["is_stale"] is False


def test_weekend_rows_carry_the_last_trading_day_and_say_so(replay_warehouse):
    row = dashboard_row(replay_warehouse, "2026-02-08", "etf_net_flow")  # a Sunday
    assert row["source_as_of"] == date(2026, 2, 6)
    assert row["is_stale"] is False


def test_dashboard_covers_every_day_of_the_window(replay_warehouse):
    start, end = cli.replay_window()
    (n_days, first, last), = query(
        replay_warehouse, "select count(distinct as_of_date), min(as_of_date), max(as_of_date) from marts.signal_dashboard"
    )
    assert (first, last) == (start, end)
    assert n_days == (end - start).days + 1


def test_every_layer_is_populated(replay_warehouse):
    counts = table_counts(replay_warehouse)
    assert counts["raw.etf_flows"] > 6000
    assert counts["raw.btc_price_daily"] == 780
    assert counts["raw.landing_payloads"] >= 2
    assert counts["marts.signal_dashboard"] > 0
    assert counts["marts.fct_daily_market"] == 780
    (close,), = query(replay_warehouse, "select btc_close_usd from marts.fct_daily_market where as_of_date = '2026-02-05'")
    assert close == pytest.approx(62702.10, abs=0.01)


def test_rules_come_from_the_seed(replay_warehouse):
    rules = query(replay_warehouse, "select indicator, parameter, value from seeds.signal_rules where indicator = 'etf_net_flow'")
    assert ("etf_net_flow", "bear_outflow_day_usd", -400_000_000.0) in rules


def test_show_prints_the_dashboard_for_a_date(replay_warehouse):
    out = io.StringIO()
    assert cli.show(date(2026, 2, 5), out=out) == 0
    text = out.getvalue()
    assert "Signal dashboard for 2026-02-05" in text
    assert "etf_net_flow" in text and "bear_continuation" in text


def test_readers_open_read_only_beside_the_pipeline(replay_warehouse):
    assert os.environ["BTC_SIGNALS_DUCKDB_PATH"] == str(replay_warehouse)
    with duckdb.connect(str(replay_warehouse), read_only=True) as a, duckdb.connect(str(replay_warehouse), read_only=True) as b:
        assert a.execute("select count(*) from marts.signal_dashboard").fetchone() == b.execute(
            "select count(*) from marts.signal_dashboard"
        ).fetchone()


def test_dashboard_asset_carries_ui_metadata(replay_warehouse):
    from dagster import AssetKey, DagsterInstance

    event = DagsterInstance.get().get_latest_materialization_event(AssetKey(["marts", "signal_dashboard"]))
    meta = event.asset_materialization.metadata
    (rows,), = query(replay_warehouse, "select count(*) from marts.signal_dashboard")
    assert meta["dagster/row_count"].value == rows
    assert meta["first_date"].value == "2024-01-11" and meta["last_date"].value == "2026-02-28"
    assert "| etf_net_flow |" in meta["latest_readings"].value


def test_dashboard_asset_carries_its_charts(replay_warehouse):
    import base64

    from dagster import AssetKey, DagsterInstance

    event = DagsterInstance.get().get_latest_materialization_event(AssetKey(["marts", "signal_dashboard"]))
    for name in ("chart_last_90_days", "chart_whole_window"):
        md = event.asset_materialization.metadata[name].value
        assert md.startswith("![") and "data:image/png;base64," in md
        png = base64.b64decode(md.split("base64,", 1)[1].split(")", 1)[0])
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width >= 1000 and height >= 600, (name, width, height)  # a matplotlib figure with axes, not a strip
