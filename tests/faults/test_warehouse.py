"""The warehouse as operators meet it: one writer at a time, fail fast in one line, a failed run says why,
the read copy published whole under a lock, no leftovers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, materialize
from dagster._core.instance.ref import InstanceRef

from pipelines.partitions import days_tags
import pipelines.snapshot as snapshot
from pipelines.ingest.etf_flows import raw_etf_flows
from pipelines.cli import DAGSTER_YAML, OLD_DAGSTER_YAMLS, prepare_environment
from pipelines.progress import failure_lines
from pipelines.resources import WRITER_HOST_TAG, WRITER_PID_TAG, WarehouseResource, prune_dbt_targets, sweep_orphaned_runs
from pipelines.warehouse import WarehouseBusy, WarehouseLock

from .harness import FAKE_KEY, failure_message, live, run_etf
from .server import json_edit

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "btc-signals"
FAIL_FAST_S = 20.0  # the CLI's start (Python, settings) on a busy machine; the open itself is one attempt

HOLD_WRITER_LOCK = """
import sys, time
from pipelines.warehouse import WarehouseLock
WarehouseLock(sys.argv[1]).acquire(command="btc-signals run 2026-02-01..2026-02-05", run_id="run-of-the-holder")
print("held", flush=True)
time.sleep(60)
"""
HOLD_DUCKDB = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


def hold(code: str, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "held"
    return proc


def cli_env(tmp_path: Path, db: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True, mode=0o777)
    os.chmod(home, 0o777)
    return {**os.environ, "DAGSTER_HOME": str(home), "BTC_SIGNALS_DUCKDB_PATH": str(db), "PYTHONPATH": str(ROOT)}


def run_cli(env: dict[str, str], *args: str, user: str | None = None) -> tuple[subprocess.CompletedProcess, float]:
    cmd = [str(CLI), "run", "--start", "2026-02-05", "--end", "2026-02-05", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    t = time.monotonic()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return out, time.monotonic() - t


# ---- one writer at a time ------------------------------------------------------------------------


def test_a_run_launched_by_dagster_is_refused_while_another_writes(tmp_path, server, sleeps):
    """The resources every UI/schedule/sensor run uses take the writer lock: refused at once, naming the holder."""
    db = tmp_path / "w.duckdb"
    holder = hold(HOLD_WRITER_LOCK, str(db))
    try:
        t = time.monotonic()
        result = materialize([raw_etf_flows], tags=days_tags("2026-02-05"), instance=DagsterInstance.ephemeral(),
                             resources={"duckdb": WarehouseResource(database=str(db)), "sources": live(server)},
                             raise_on_error=False)
        took = time.monotonic() - t
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert not result.success and took < FAIL_FAST_S
    lines = failure_lines(result.all_events, [])
    assert len(lines) == 1, lines
    assert f"PID {holder.pid}" in lines[0] and "run-of-the-holder" in lines[0] and "refused" in lines[0], lines
    assert server.seen("coinglass") == [] and server.seen("farside") == []  # refused before fetching anything
    assert not db.exists()


def test_the_lock_is_reentrant_in_a_process_and_released_by_a_killed_holder(tmp_path):
    db = tmp_path / "w.duckdb"
    with WarehouseLock(db), WarehouseLock(db):  # the CLI holds it; its runs' resources take it again
        pass
    holder = hold(HOLD_WRITER_LOCK, str(db))
    with pytest.raises(WarehouseBusy, match=f"PID {holder.pid}"):
        WarehouseLock(db).acquire()
    holder.kill()  # SIGKILL: the kernel drops the lock, nothing stale to clear
    holder.wait(timeout=10)
    with WarehouseLock(db):
        assert "pid" in (db.with_name("w.duckdb.lock").read_text())
    assert db.with_name("w.duckdb.lock").read_text() == ""  # released: the description goes too


@pytest.mark.parametrize("earlier", OLD_DAGSTER_YAMLS)
def test_dagster_yaml_queues_launched_runs_one_at_a_time(tmp_path, monkeypatch, earlier):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(earlier)  # what earlier versions wrote is upgraded
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    prepare_environment()
    assert (home / "dagster.yaml").read_text() == DAGSTER_YAML
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        assert instance.run_monitoring_enabled
        assert type(instance.event_log_storage).__name__ == "PooledSqliteEventLogStorage"
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n# mine\n")  # a user's own file is left alone
    prepare_environment()
    assert (home / "dagster.yaml").read_text().endswith("# mine\n")


def test_the_sweep_fails_runs_of_dead_processes_only(tmp_path):
    with DagsterInstance.ephemeral() as instance:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        dead_pid = dead.stdout.strip()
        live_proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            import socket

            def started(pid: str):
                run = instance.create_run_for_job(
                    job_def=_noop_job(), tags={WRITER_PID_TAG: pid, WRITER_HOST_TAG: socket.gethostname()})
                instance.handle_run_event(run.run_id, _run_start_event(run))
                return run

            orphan, running = started(dead_pid), started(str(live_proc.pid))
            lines = sweep_orphaned_runs(instance)
        finally:
            live_proc.kill()
            live_proc.wait(timeout=10)
        assert len(lines) == 1 and orphan.run_id in lines[0] and f"PID {dead_pid}" in lines[0]
        assert instance.get_run_by_id(orphan.run_id).status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(running.run_id).status == DagsterRunStatus.STARTED


def _noop_job():
    from dagster import job, op

    @op
    def noop():
        pass

    @job
    def noop_job():
        noop()

    return noop_job


def _run_start_event(run):
    from dagster import DagsterEvent, DagsterEventType

    return DagsterEvent(event_type_value=DagsterEventType.RUN_START.value, job_name=run.job_name)


# ---- fail fast, in one line ----------------------------------------------------------------------


def test_cli_fails_fast_on_a_warehouse_another_program_holds_open(tmp_path):
    db = tmp_path / "w.duckdb"
    holder = hold(HOLD_DUCKDB, str(db))  # e.g. the DuckDB CLI left open on the file
    try:
        out, took = run_cli(cli_env(tmp_path, db))
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert out.returncode == 1 and took < FAIL_FAST_S, (out.stdout, out.stderr, took)
    assert out.stderr.strip().splitlines() == [
        f"btc-signals: warehouse {db} is locked by another process ({Path(os.path.realpath(sys.executable)).name}, "
        f"PID {holder.pid}): only one process may write it; close it or wait for it to finish"
    ], out.stderr


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs root to drop to nobody")
def test_cli_fails_fast_on_a_read_only_warehouse():
    tmp_path = Path(tempfile.mkdtemp(prefix="btc_signals_ro_"))  # pytest's tmp_path is closed to other users
    os.chmod(tmp_path, 0o777)
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    os.chmod(db, 0o444)
    try:
        out, took = run_cli(cli_env(tmp_path, db), user="65534")
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert out.returncode == 1 and took < FAIL_FAST_S, (out.stdout, out.stderr, took)
    assert out.stderr.strip().splitlines() == [
        f"btc-signals: warehouse {db} is read-only (no write permission): runs need to write it"
    ], out.stderr


def test_a_launched_run_fails_fast_on_a_missing_warehouse_directory(tmp_path, server, sleeps):
    db = tmp_path / "no" / "such" / "w.duckdb"
    t = time.monotonic()
    result = materialize([raw_etf_flows], tags=days_tags("2026-02-05"), instance=DagsterInstance.ephemeral(),
                         resources={"duckdb": WarehouseResource(database=str(db)), "sources": live(server)},
                         raise_on_error=False)
    assert not result.success and time.monotonic() - t < FAIL_FAST_S
    assert failure_lines(result.all_events, []) == [f"raw__etf_flows: warehouse {db}: directory {db.parent} does not exist"]


def test_the_open_is_not_retried(tmp_path, monkeypatch):
    """What made a locked warehouse take ~100 s per asset: dagster_duckdb's ten retries. One attempt here."""
    db = tmp_path / "w.duckdb"
    calls = []
    real = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: calls.append(a) or real(*a, **k))
    holder = hold(HOLD_DUCKDB, str(db))
    try:
        with pytest.raises(Exception, match="locked by another process"):
            with WarehouseResource(database=str(db)).get_connection():
                pass
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert len(calls) == 1


# ---- one line that says why ----------------------------------------------------------------------


def test_a_failed_step_ends_with_the_sources_own_message(tmp_path, server, sleeps, monkeypatch):
    monkeypatch.setenv("COINGLASS_API_KEY", FAKE_KEY)

    def rename(body):
        for rec in body["data"]:
            rec["netflow_usd"] = rec.pop("flow_usd")
        return body

    server.always("coinglass", json_edit(rename))
    result = run_etf(tmp_path / "w.duckdb", server, source="coinglass", partition="2026-02-05")
    assert not result.success
    lines = failure_lines(result.all_events, result.get_asset_check_evaluations())
    assert len(lines) == 1, lines
    assert lines[0].startswith("raw__etf_flows: [coinglass] /api/etf/bitcoin/flow-history: record for ")
    assert "missing field (field 'flow_usd', value None)" in lines[0]
    assert "Dagster" not in lines[0] and "Error occurred while executing" not in lines[0]
    assert "missing field (field 'flow_usd', value None)" in failure_message(result)  # the same cause Dagster stored


def test_a_failed_blocking_check_ends_with_its_failing_rows(tmp_path, monkeypatch):
    from pipelines.ingest.etf_flows import raw_etf_flows_gx
    from pipelines.resources import SourcesResource
    from pipelines.settings import REPLAY_DATA_DIR
    from pipelines.sources import farside

    real = farside.parse_flow_table

    def with_duplicate(*args, **kwargs):  # the keyless replay path parses Farside's table: one row twice
        frame = real(*args, **kwargs)
        return frame.vstack(frame.filter(frame["issuer"] == "IBIT"))

    monkeypatch.setattr(farside, "parse_flow_table", with_duplicate)
    result = materialize(
        [raw_etf_flows, raw_etf_flows_gx], tags=days_tags("2026-02-05"), instance=DagsterInstance.ephemeral(),
        resources={"duckdb": WarehouseResource(database=str(tmp_path / "w.duckdb")),
                   "sources": SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR))},
        raise_on_error=False)
    assert not result.success
    lines = failure_lines(result.all_events, result.get_asset_check_evaluations())
    assert len(lines) == 1, lines
    assert lines[0].startswith("check raw/etf_flows:raw_etf_flows_gx failed: ")
    assert "unique" in lines[0].lower() and "unexpected" in lines[0], lines[0]


# ---- the read copy: under a lock for the whole copy, atomic, no leftovers -------------------------


def test_publish_holds_the_warehouse_for_the_whole_copy(tmp_path, monkeypatch):
    db, reader = tmp_path / "w.duckdb", tmp_path / "w.read.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table t as select range as v from range(1000)")
    attempts = []
    real_copy = snapshot.shutil.copyfileobj

    def copy_while_a_writer_tries(src, dst, length=0):
        writer = subprocess.run([sys.executable, "-c", "import duckdb,sys; duckdb.connect(sys.argv[1]).execute("
                                 "'insert into t values (-1)')", str(db)], capture_output=True, text=True, timeout=60)
        attempts.append(writer)
        real_copy(src, dst, length)

    monkeypatch.setattr(snapshot.shutil, "copyfileobj", copy_while_a_writer_tries)
    snapshot.publish_reader_copy(db, reader)
    assert attempts and attempts[0].returncode != 0 and "Could not set lock" in attempts[0].stderr
    with duckdb.connect(str(reader), read_only=True) as con:
        assert con.execute("select count(*), min(v) from t").fetchone() == (1000, 0)


def test_publish_is_refused_while_another_run_writes(tmp_path):
    db, reader = tmp_path / "w.duckdb", tmp_path / "w.read.duckdb"
    duckdb.connect(str(db)).close()
    holder = hold(HOLD_WRITER_LOCK, str(db))
    try:
        with pytest.raises(WarehouseBusy, match=f"PID {holder.pid}"):
            snapshot.publish_reader_copy(db, reader)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert not reader.exists()


def test_an_interrupted_publish_leaves_a_temp_file_the_next_one_removes(tmp_path, monkeypatch):
    db, reader = tmp_path / "w.duckdb", tmp_path / "w.read.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table t as select 1 as v")

    def die(src, dst, length=0):
        dst.write(src.read(100))
        raise KeyboardInterrupt  # the interrupt arrives mid-copy

    monkeypatch.setattr(snapshot.shutil, "copyfileobj", die)
    with pytest.raises(KeyboardInterrupt):
        snapshot.publish_reader_copy(db, reader)
    assert not reader.exists() and not list(tmp_path.glob(".*.tmp"))  # cleaned on the way out
    stale = tmp_path / ".w.read.duckdb.4242.tmp"  # a SIGKILL gives no way out: the next publish removes it
    stale.write_bytes(b"partial")
    monkeypatch.undo()
    snapshot.publish_reader_copy(db, reader)
    assert not stale.exists() and reader.exists()


def test_dbt_target_keeps_only_the_newest_invocations(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "manifest.json").write_text("{}")
    (target / "partial_parse.msgpack").write_bytes(b"x")
    (target / "compiled").mkdir()
    dirs = []
    for i in range(6):
        d = target / f"btc_signals_dbt-{i:07x}-abcdef{i}"
        d.mkdir()
        (d / "dbt.log").write_text("log")
        os.utime(d, (1_000_000 + i, 1_000_000 + i))
        dirs.append(d)
    removed = prune_dbt_targets(target, keep=2)
    assert sorted(removed) == sorted(dirs[:4])
    assert sorted(p.name for p in target.iterdir()) == sorted(
        ["manifest.json", "partial_parse.msgpack", "compiled", dirs[4].name, dirs[5].name])


def test_a_failed_dbt_step_ends_with_dbts_own_error():
    """A dbt command that fails: the summary line is dbt's error, not dagster-dbt's 'check the stdout'."""
    from dagster import job, op

    from pipelines.dbt_invocation import dbt_vars_args
    from pipelines.resources import build_resources

    dbt = build_resources()["dbt"]

    @op
    def dbt_step(context):  # the builds' --vars: dbt keeps the worker's parse instead of parsing every node
        dbt.cli(["run-operation", "no_such_macro_anywhere", *dbt_vars_args()], context=context).wait()

    @job
    def dbt_job():
        dbt_step()

    result = dbt_job.execute_in_process(raise_on_error=False)
    assert not result.success
    lines = failure_lines(result.all_events, [])
    assert lines and all(line.startswith("dbt_step: dbt: ") for line in lines), lines
    assert any("no_such_macro_anywhere" in line for line in lines), lines
    assert not any("Check the stdout" in line or "exit code" in line for line in lines), lines


def test_one_lock_per_file_however_the_path_is_spelt(tmp_path):
    db = tmp_path / "w.duckdb"
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path)
    with WarehouseLock(db), WarehouseLock(tmp_path / "sub" / ".." / "w.duckdb"), WarehouseLock(tmp_path / "link" / "w.duckdb"):
        pass  # the same process holds the same file's lock: re-entered, not refused by itself
