"""The daily dbt increment gives the same marts as a full rebuild.

On a copy of the replay warehouse (whose marts are the first build of the whole window, i.e. every model
built from scratch): take the last days
out of every raw table, rebuild dbt from scratch (the warehouse as it was before those days landed),
land the days again and run the daily increment exactly as the dbt asset does
(``pipelines.dbt_invocation.dbt_build_args``). Every mart, every row and column, must then equal the
whole-window build. dbt runs directly (the dbt beside this Python), not through Dagster: the asset adds
nothing to what dbt builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from pipelines.landing.tables import TABLES
from pipelines.partitions import replay_window
from pipelines.dbt_invocation import dbt_build_args, dbt_executable, dbt_vars_args
from pipelines.settings import DBT_PROJECT_DIR

# The days of the window that land "today": more than one, so that a source that skips days (ETF flows
# at the weekend, the window ends on a Saturday) still delivers one of them.
LAST_DAYS = 3
MARTS = ("signal_dashboard", "fct_daily_market", "fct_signal_outcomes", "fct_signal_outcome_summary")


def _dbt(args: list[str], warehouse: Path, target: Path) -> None:
    done = subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(target)],
        cwd=DBT_PROJECT_DIR, env={**os.environ, "BTC_SIGNALS_DUCKDB_PATH": str(warehouse)},
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def _mart(con: duckdb.DuckDBPyConnection, name: str, catalog: str | None = None) -> pl.DataFrame:
    relation = f'{catalog + "." if catalog else ""}marts."{name}"'
    frame = con.sql(f"select * from {relation}").pl()
    return frame.sort(frame.columns)


def test_the_daily_increment_gives_the_marts_of_a_full_rebuild(replay_warehouse: Path, scratch_warehouse):
    warehouse = scratch_warehouse.path
    shutil.copyfile(replay_warehouse, warehouse)  # the session's warehouse is shared: never written here
    with duckdb.connect(str(warehouse), read_only=True) as con:
        full_build = {name: _mart(con, name) for name in MARTS}
    target = scratch_warehouse.target
    cutoff = replay_window()[1] - timedelta(days=LAST_DAYS - 1)

    # The warehouse before the last days landed: their raw rows set aside, dbt rebuilt from scratch.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema held_back")
        for table in TABLES:
            where = f"{table.date_column} >= date '{cutoff}'"
            con.execute(f"create table held_back.{table.name} as select * from raw.{table.name} where {where}")
            con.execute(f"delete from raw.{table.name} where {where}")
        held = {t.name: con.execute(f"select count(*) from held_back.{t.name}").fetchone()[0] for t in TABLES}
    assert sum(held.values()) > 0 and held["btc_price_daily"] == LAST_DAYS, held
    _dbt(["run", "--full-refresh", *dbt_vars_args()], warehouse, target)  # the models alone: the tests come below
    with duckdb.connect(str(warehouse), read_only=True) as con:
        before = _mart(con, "signal_dashboard")

    # The days land; the daily run's dbt build.
    with duckdb.connect(str(warehouse)) as con:
        for table in TABLES:
            con.execute(f"insert into raw.{table.name} select * from held_back.{table.name}")
        con.execute("drop schema held_back cascade")
    _dbt(dbt_build_args(), warehouse, target)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        for name in MARTS:
            got = _mart(con, name)
            assert got.height > 0, name
            assert_frame_equal(got, full_build[name], check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
    # the last days did change the dashboard: the comparison above is not of two stale copies
    recent = pl.col("as_of_date") >= cutoff
    assert not before.filter(recent).equals(full_build["signal_dashboard"].filter(recent))
