"""Re-running a range after a full rebuild gives the whole-window build: the daily dbt increment gives the
marts of a full rebuild, and a re-run replaces rows instead of adding them.

On the session's replay warehouse (the whole window built from scratch, as `make run` builds it): take the
last days out of every raw table and rebuild dbt from scratch as `btc-signals run --full-refresh` rebuilds it
(``pipelines.dbt_invocation.dbt_build_args(full_refresh=True)``, run directly: the dbt beside this Python;
its unit tests included): the warehouse as it was before those days landed. Then `btc-signals run` over the
window's last month, as an operator re-runs a range: the month's raw rows are replaced (the days taken out
land again, the others over themselves) and the daily dbt build runs. Every table must then hold the rows it
held before (dbt's too: no temporary table left behind), and every mart, every row and column, must equal
the whole-window build. The landing archive keeps every distinct body fetched: the re-run's requests
(another window) add theirs.

One test for both, because each needs the same real runs (a raw run and a dbt build on the whole window).
It writes the shared warehouse, as the re-run it tests does; at the end the warehouse holds what it held.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal
from test_pipeline_e2e import table_counts

from pipelines import cli
from pipelines.dbt_invocation import dbt_build_args, dbt_executable
from pipelines.landing.tables import TABLES
from pipelines.settings import DBT_PROJECT_DIR, dbt_target_dir

# The days of the window that land "today": more than one, so that a source that skips days (ETF flows
# at the weekend, the window ends on a Saturday) still delivers one of them.
LAST_DAYS = 3
MARTS = ("signal_dashboard", "fct_daily_market", "fct_signal_outcomes", "fct_signal_outcome_summary")
UNIT_TESTS = 14  # _unit_tests.yml (3) + __rules (6) + __derivatives (5)
ARCHIVE = "raw.landing_payloads"


def _full_rebuild(target: Path) -> list[dict]:
    """dbt's full rebuild of the session's warehouse into ``target``; its run results."""
    target.mkdir()
    # the partial-parse state this session parsed for this warehouse, as dagster-dbt copies it per invocation
    shutil.copy(dbt_target_dir() / "partial_parse.msgpack", target / "partial_parse.msgpack")
    done = subprocess.run(
        [dbt_executable(), *dbt_build_args(full_refresh=True), "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(target)],
        cwd=DBT_PROJECT_DIR, env=os.environ, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return json.loads((target / "run_results.json").read_text())["results"]


def _mart(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    frame = con.sql(f'select * from marts."{name}"').pl()
    return frame.sort(frame.columns)


def test_a_rerun_after_a_full_rebuild_gives_the_whole_window_build(replay_warehouse: Path, tmp_path, capsys):
    counts = table_counts(replay_warehouse)
    with duckdb.connect(str(replay_warehouse), read_only=True) as con:
        full_build = {name: _mart(con, name) for name in MARTS}
    _, end = cli.replay_window()
    cutoff = end - timedelta(days=LAST_DAYS - 1)
    month = end.replace(day=1)
    assert month < cutoff  # the re-run replaces loaded days too, not only the days taken out

    # The warehouse before the last days landed: their raw rows deleted, dbt rebuilt from scratch.
    with duckdb.connect(str(replay_warehouse)) as con:
        held = {}
        for table in TABLES:
            where = f"{table.date_column} >= date '{cutoff}'"
            held[table.name] = con.execute(f"select count(*) from raw.{table.name} where {where}").fetchall()[0][0]
            con.execute(f"delete from raw.{table.name} where {where}")
    assert sum(held.values()) > 0 and held["btc_price_daily"] == LAST_DAYS, held
    results = _full_rebuild(tmp_path / "target")
    unit_tests = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) == UNIT_TESTS and all(r["status"] == "pass" for r in unit_tests), unit_tests
    with duckdb.connect(str(replay_warehouse), read_only=True) as con:
        before = _mart(con, "signal_dashboard")

    # The re-run of the last month: the days land again; the daily run's dbt build.
    assert cli.run(month, end)

    after = table_counts(replay_warehouse)
    with duckdb.connect(str(replay_warehouse), read_only=True) as con:
        rebuilt = {name: _mart(con, name) for name in MARTS}
    assert after.pop(ARCHIVE) > counts.pop(ARCHIVE)
    assert after == counts
    for name in MARTS:
        assert rebuilt[name].height > 0, name
        assert_frame_equal(rebuilt[name], full_build[name], check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
    # the last days did change the dashboard: the comparison above is not of two stale copies
    recent = pl.col("as_of_date") >= cutoff
    assert not before.filter(recent).equals(full_build["signal_dashboard"].filter(recent))

    # the run succeeds with warnings, and says which: replay has no liquidations without a CoinGlass key
    out = capsys.readouterr().out
    assert re.search(r"raw_sources_job run \S+: succeeded; \d+ checks evaluated, [1-9]\d* failed", out), out[-2000:]
    assert "  not blocking (nothing was held back): " in out
    assert "  check raw/futures_liquidations:data_is_fresh failed: raw.futures_liquidations: latest day none" in out
