"""Derivatives end to end: the dashboard rows on the replay warehouse (keyless: Binance alone, observed), and the
CoinGlass path (with a key) through raw landing and dbt for the reference week."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from pipelines.ingest import btc_price, derivatives
from pipelines.partitions import days_tags
from pipelines.dbt_invocation import dbt_vars_args
from pipelines.resources import SourcesResource, WarehouseResource
from pipelines.settings import DBT_PROJECT_DIR, REPLAY_DATA_DIR

FEB5 = date(2026, 2, 5)


def dashboard(db: Path, day: date) -> dict[str, dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute(
            "select * from marts.signal_dashboard where as_of_date = ? "
            "and indicator in ('funding_rate', 'open_interest', 'liquidations')", [day])
        cols = [c[0] for c in cur.description]
        return {r[cols.index("indicator")]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


def test_replay_dashboard_reads_bear_continuation_on_2026_02_05(replay_warehouse):
    rows = dashboard(replay_warehouse, FEB5)
    funding, oi, liq = rows["funding_rate"], rows["open_interest"], rows["liquidations"]
    # funding: the day's close (last 8h settlement, one definition for every source) of the real Binance
    # fundings is negative on 5 Feb 2026 (-0.004957 % per 8h at 16:00 UTC)
    assert funding["status"] == "bear_continuation"
    assert funding["rule"] == "funding negative: -0.0050 % per 8h (shorts pay longs)"
    assert funding["reading"] == pytest.approx(-0.004957, abs=1e-6)
    assert funding["source"] == "binance" and funding["source_as_of"] == FEB5 and not funding["is_stale"]
    assert not funding["is_derived"]  # Binance's real fundings; replay bundles no Bybit copy any more
    # OI: forced deleveraging (7d about -35.3 %, observed Binance OI, BTC closed 62,702 below the 70,000 key level)
    assert oi["status"] == "bear_continuation" and oi["source"] == "binance" and not oi["is_derived"]
    assert oi["rule"].startswith("forced deleveraging: 7d OI -35.3 % <= -10 % while BTC closed at 62,702")
    assert oi["category"] == "leverage" and oi["reading_unit"] == "usd"
    # keyless: no liquidation history in replay, said plainly (it starts with live OKX collection)
    assert liq["status"] == "no_data" and liq["is_stale"] and liq["source_as_of"] is None
    assert "keyless liquidation history starts when you start collecting live (OKX" in liq["rule"]
    assert "CoinGlass API key" in liq["rule"]


def test_replay_funding_turns_negative_after_the_crash(replay_warehouse):
    feb7 = dashboard(replay_warehouse, date(2026, 2, 7))["funding_rate"]
    assert feb7["status"] == "bear_continuation" and feb7["reading"] < 0
    assert feb7["rule"].startswith("funding negative:") and "days in a row" in feb7["rule"]


def test_replay_funding_is_observed_on_every_day(replay_warehouse):
    with duckdb.connect(str(replay_warehouse), read_only=True) as con:
        funding = con.execute("select count(*), count(*) filter (where is_derived), string_agg(distinct source, ',') "
                              "from intermediate.int_futures_funding__daily").fetchone()
        price = con.execute("select string_agg(distinct source, ',') from raw.btc_price_daily").fetchone()
    assert funding == (780, 0, "binance")
    assert price == ("yahoo_btc_usd_aggregate",)  # the replay's klines are Yahoo's BTC-USD aggregate close


def test_replay_intermediate_series(replay_warehouse):
    with duckdb.connect(str(replay_warehouse), read_only=True) as con:
        oi = con.execute("select oi_usd, oi_change_7d_pct, btc_close_usd, source from intermediate.int_futures_open_interest__daily "
                         "where oi_date = ?", [FEB5]).fetchone()
        venues = con.execute("select venue, oi_usd, is_usd_from_btc_close from intermediate.int_futures_open_interest__by_venue "
                             "where oi_date = ? order by venue", [FEB5]).fetchall()
        days = con.execute("select count(*), count(distinct oi_date), min(oi_date) "
                           "from intermediate.int_futures_open_interest__daily").fetchone()
    assert oi[3] == "binance" and oi[1] == pytest.approx(-35.30, abs=0.05) and oi[2] == pytest.approx(62702.1, abs=1)
    assert oi[0] == pytest.approx(sum(v[1] for v in venues)) == pytest.approx(5.831e9, rel=1e-3)
    assert [(v[0], v[2]) for v in venues] == [("binance", False)]
    assert days == (672, 672, date(2024, 4, 28))  # every observed Binance OI day, from the first


def test_coinglass_path_end_to_end_shows_the_liquidation_cascade(scratch_warehouse, monkeypatch):
    """With a key: CoinGlass's aggregate is preferred; the 5 Feb liquidation cascade and the negative
    OI-weighted funding close come through landing and dbt."""
    monkeypatch.setenv("COINGLASS_API_KEY", "replay-key")
    db = scratch_warehouse.path
    result = materialize(
        [btc_price.raw_btc_price_daily, derivatives.raw_futures_open_interest, derivatives.raw_futures_funding,
         derivatives.raw_futures_liquidations, derivatives.raw_futures_liquidations_gx],
        resources={"duckdb": WarehouseResource(database=str(db)),
                   "sources": SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR))},
        tags=days_tags("2025-12-01", "2026-02-28"),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    env = {**os.environ, **scratch_warehouse.env}
    dbt = Path(sys.executable).parent / "dbt"
    selection = ["+int_signal__funding_rate", "+int_signal__open_interest", "+int_signal__liquidations"]
    proc = subprocess.run(
        [str(dbt), "build", "--quiet", "--select", *selection, *dbt_vars_args(),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(scratch_warehouse.target), "--log-path", str(scratch_warehouse.target)],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with duckdb.connect(str(db), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute(
            "select indicator, status, rule, source from (select * from intermediate.int_signal__funding_rate union all "
            "select * from intermediate.int_signal__open_interest union all select * from intermediate.int_signal__liquidations) "
            "where as_of_date = ?", [FEB5]).fetchall()}
        quiet = con.execute("select status, rule from intermediate.int_signal__liquidations where as_of_date = '2026-02-02'").fetchone()
    assert rows["funding_rate"][0] == "bear_continuation" and rows["funding_rate"][1].startswith("funding negative: -0.0050 %")
    assert rows["funding_rate"][2] == "coinglass"
    assert rows["open_interest"][0] == "bear_continuation" and rows["open_interest"][2] == "coinglass"
    assert "forced deleveraging: 7d OI -19.7 %" in rows["open_interest"][1]
    assert rows["liquidations"][0] == "bear_continuation" and rows["liquidations"][2] == "coinglass"
    assert rows["liquidations"][1].startswith("cascade day: long liquidations 109.5M USD")
    assert quiet[0] == "neutral" and quiet[1].startswith("no cascade (context only): total 34.7M < 1,000M")
