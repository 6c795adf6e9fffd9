"""Readers query while a run writes: they read the published read-only copy, never the locked file."""

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import load_settings
from pipelines.snapshot import path_for_reading, publish_reader_copy

HOLD_WRITE_LOCK = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists main.busy as select 1 as x")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_the_dbt_run_published_a_reader_copy(replay_warehouse):
    settings = load_settings()
    assert settings.reader_path.exists()
    assert path_for_reading(settings.duckdb_path, settings.reader_path) == settings.reader_path
    with duckdb.connect(str(settings.reader_path), read_only=True) as con:
        assert con.execute("select count(*) from marts.signal_dashboard").fetchone()[0] > 0


def test_reader_works_while_another_process_holds_the_write_lock(replay_warehouse, tmp_path):
    db = tmp_path / "w.duckdb"
    reader = tmp_path / "w.read.duckdb"
    db.write_bytes(Path(replay_warehouse).read_bytes())
    publish_reader_copy(db, reader)
    writer = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(db), "20"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException):  # what a reader of the live file would hit
            duckdb.connect(str(db), read_only=True)
        with duckdb.connect(str(reader), read_only=True) as con:
            assert con.execute("select count(*) from marts.signal_dashboard where indicator = 'etf_net_flow'").fetchone()[0] > 0
    finally:
        writer.kill()
        writer.wait(timeout=10)


def test_republishing_does_not_disturb_an_open_reader(tmp_path):
    db, reader = tmp_path / "w.duckdb", tmp_path / "w.read.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table t as select 1 as v")
    publish_reader_copy(db, reader)
    old = duckdb.connect(str(reader), read_only=True)
    with duckdb.connect(str(db)) as con:
        con.execute("update t set v = 2")
    publish_reader_copy(db, reader)
    assert old.execute("select v from t").fetchone() == (1,)  # the open reader keeps its consistent copy
    old.close()
    with duckdb.connect(str(reader), read_only=True) as new:
        assert new.execute("select v from t").fetchone() == (2,)
    assert not list(tmp_path.glob(".*.tmp"))
