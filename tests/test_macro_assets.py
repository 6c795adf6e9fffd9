"""raw/macro_daily_closes: one request per series over a partition range, the landing staying intact after
a malformed payload, and the blocking GX check on hand-made tables (calendar aware)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from pipelines.ingest import macro
from pipelines.landing.tables import MACRO_DAILY_CLOSES
from pipelines.partitions import days_tags
from pipelines.resources import SourcesResource, WarehouseResource
from pipelines.settings import REPLAY_DATA_DIR

RANGE_TAGS = days_tags("2026-02-02", "2026-02-08")


def run_asset(db: Path, replay_dir: Path, tags: dict[str, str]):
    with DagsterInstance.ephemeral() as instance:
        return materialize(
            [macro.raw_macro_daily_closes],
            instance=instance,
            resources={
                "duckdb": WarehouseResource(database=str(db)),
                "sources": SourcesResource(mode="replay", replay_dir=str(replay_dir)),
            },
            tags=tags,
            raise_on_error=False,
        )


@pytest.fixture()
def loaded(tmp_path: Path) -> Path:
    db = tmp_path / "macro.duckdb"
    assert run_asset(db, REPLAY_DATA_DIR, RANGE_TAGS).success
    return db


def test_a_partition_range_is_one_request_per_series(loaded: Path):
    with WarehouseResource(database=str(loaded)).get_connection() as con:
        per_source = dict(con.execute(
            "select source, count(*) from raw.landing_payloads group by source").fetchall())
        rows = con.execute(
            "select series, count(*), min(obs_date), max(obs_date) from raw.macro_daily_closes group by series order by series"
        ).fetchall()
        windows = con.execute("select distinct window_start, window_end from raw.macro_daily_closes").fetchall()
        sp = con.execute(
            "select obs_date, close_value, source, endpoint from raw.macro_daily_closes where series = 'sp500' order by obs_date"
        ).fetchall()
        no_payload = con.execute("select count(*) from raw.macro_daily_closes where payload_id = ''").fetchone()[0]
    assert per_source == {"fred": 4, "stooq": 4}
    assert [r[0] for r in rows] == sorted(macro.SERIES)
    assert all(r[1] == 5 and r[2] == date(2026, 2, 2) and r[3] == date(2026, 2, 6) for r in rows)
    assert windows == [(date(2026, 2, 2), date(2026, 2, 9))]
    assert sp[3][:3] == (date(2026, 2, 5), 6798.40, "fred") and sp[3][3] == "/graph/fredgraph.csv"
    assert no_payload == 0


def test_a_malformed_payload_leaves_the_landed_rows_and_archives_the_body(loaded: Path, tmp_path: Path):
    broken = tmp_path / "replay"
    shutil.copytree(REPLAY_DATA_DIR, broken)
    gold = broken / "stooq" / "xauusd.csv"
    gold.write_text(gold.read_text().replace("Date,Open,High,Low,Close", "Datum,Otwarcie,Max,Min,Zamkniecie"))
    with WarehouseResource(database=str(loaded)).get_connection() as con:
        before = con.execute("select * from raw.macro_daily_closes order by series, obs_date").fetchall()
    result = run_asset(loaded, broken, RANGE_TAGS)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    error, message = failure.step_failure_data.error, ""
    while error is not None:
        message += error.message
        error = error.cause
    assert "[stooq]" in message and "header" in message and "Datum" in message
    with WarehouseResource(database=str(loaded)).get_connection() as con:
        after = con.execute("select * from raw.macro_daily_closes order by series, obs_date").fetchall()
        archived = con.execute(
            "select count(*) from raw.landing_payloads where source = 'stooq' and body like 'Datum,%'").fetchone()[0]
    assert after == before
    assert archived == 1


def test_a_truncated_series_is_refused_and_the_loaded_closes_kept(loaded: Path, tmp_path: Path):
    truncated = tmp_path / "replay"
    shutil.copytree(REPLAY_DATA_DIR, truncated)
    sox = truncated / "stooq" / "sox.csv"
    sox.write_text("".join(line for line in sox.read_text().splitlines(keepends=True) if not line.startswith("2026-02-06")))
    with WarehouseResource(database=str(loaded)).get_connection() as con:
        before = con.execute("select * from raw.macro_daily_closes order by series, obs_date").fetchall()
    result = run_asset(loaded, truncated, RANGE_TAGS)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    error, message = failure.step_failure_data.error, ""
    while error is not None:
        message += error.message
        error = error.cause
    assert "[stooq]" in message and "sox:2026-02-06" in message
    with WarehouseResource(database=str(loaded)).get_connection() as con:
        after = con.execute("select * from raw.macro_daily_closes order by series, obs_date").fetchall()
    assert after == before


# --- the GX check on hand-made tables -------------------------------------------------------------


def make_table(db: Path, rows: list[tuple[str, str, float]]) -> WarehouseResource:
    with duckdb.connect(str(db)) as con:
        con.execute(MACRO_DAILY_CLOSES.ddl)
        for day, series, value in rows:
            con.execute(
                f"insert into raw.{MACRO_DAILY_CLOSES.name} values (?, ?, 'X', ?, 'fred', '/e', '{{}}', 'p', ?, ?, now(), 'r', false)",
                [day, series, value, day, day],
            )
    return WarehouseResource(database=str(db))


# 2026-02-13 (Fri) .. 2026-02-17 (Tue): the weekend and Presidents' Day (Mon 16 Feb) are no gap.
WEEK = ["2026-02-12", "2026-02-13", "2026-02-17", "2026-02-18"]


def test_gx_passes_across_weekend_and_us_holiday(tmp_path: Path):
    resource = make_table(tmp_path / "a.duckdb", [(d, "sp500", 6800.0) for d in WEEK])
    result = macro.raw_macro_daily_closes_gx(duckdb=resource)
    assert result.passed, result.description


def test_gx_fails_on_a_missing_trading_day(tmp_path: Path):
    resource = make_table(tmp_path / "b.duckdb", [(d, "sp500", 6800.0) for d in WEEK if d != "2026-02-17"])
    result = macro.raw_macro_daily_closes_gx(duckdb=resource)
    assert not result.passed and "sp500:2026-02-17" in result.description


def test_gx_fails_on_duplicates_and_non_positive_closes(tmp_path: Path):
    rows = [(d, "gold", 5000.0) for d in WEEK] + [("2026-02-12", "gold", 5001.0), ("2026-02-18", "silver", 0.0)]
    result = macro.raw_macro_daily_closes_gx(duckdb=make_table(tmp_path / "c.duckdb", rows))
    assert not result.passed
    assert "expect_compound_columns_to_be_unique" in result.description
    assert "column=close_value, min_value=0.0, strict_min=True): unexpected 1: [0.0]" in result.description


def test_gx_treasury_holidays_are_no_gap_for_the_10y_yield_only(tmp_path: Path):
    # Columbus Day 2025 (13 Oct): NYSE open, the bond market closed
    days = ["2025-10-09", "2025-10-10", "2025-10-14"]
    ok = macro.raw_macro_daily_closes_gx(duckdb=make_table(tmp_path / "d.duckdb", [(d, "us10y_yield", 4.1) for d in days]))
    assert ok.passed, ok.description
    bad = macro.raw_macro_daily_closes_gx(duckdb=make_table(tmp_path / "e.duckdb", [(d, "dow_jones", 46000.0) for d in days]))
    assert not bad.passed and "dow_jones:2025-10-13" in bad.description


def test_bond_market_extra_holidays():
    assert macro.bond_market_extra_holidays(date(2024, 1, 1), date(2025, 12, 31)) == {
        date(2024, 10, 14), date(2024, 11, 11), date(2025, 10, 13), date(2025, 11, 11),
    }
