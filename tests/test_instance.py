"""The embedded instance's event log (pipelines/instance.py): Dagster's SQLite files and behaviour, one kept
engine per file. What another process (the UI's webserver) reads and is told must not change."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from dagster import DagsterInstance, DailyPartitionsDefinition, asset, materialize
from dagster._core.instance.ref import InstanceRef

from pipelines.cli import DAGSTER_YAML
from pipelines.instance import OPEN_FILES, PooledSqliteEventLogStorage

days = DailyPartitionsDefinition(start_date="2026-02-01", end_date="2026-02-04")


@asset(partitions_def=days)
def tiny() -> int:
    return 1


def _home(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return home


def _instance(home) -> DagsterInstance:
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def _run(instance, key="2026-02-01") -> str:
    result = materialize([tiny], instance=instance, partition_key=key)
    assert result.success
    return result.run_id


def test_the_written_dagster_yaml_uses_it_with_relaxed_sync_and_a_bounded_set_of_open_files(tmp_path, monkeypatch):
    home = _home(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with _instance(home) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        assert storage._base_dir.startswith(str(home / "history" / "runs"))  # Dagster's default place
        for _ in range(OPEN_FILES + 2):
            _run(instance)
        assert len(storage._engines) <= OPEN_FILES
        with storage.index_connection() as conn:
            assert conn.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL
        runs = instance.get_runs()
        assert len(runs) == OPEN_FILES + 2
        assert all(instance.all_logs(r.run_id) for r in runs)  # also the runs whose engine was closed
        storage.wipe()
        assert list(storage._engines) == ["index"]  # the run files' engines closed; the index was emptied through its own
        assert not list((home / "history" / "runs").glob("*-*-*.db"))  # the run files are gone


def test_another_process_reads_every_event_while_the_writer_keeps_its_connections(tmp_path, monkeypatch):
    home = _home(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with _instance(home) as instance:
        run_id = _run(instance)
        written = len(instance.all_logs(run_id))
        assert instance.event_log_storage._engines  # still open: the events may sit in the WAL only
        reader = subprocess.run(
            [sys.executable, "-c",
             "import sys; from dagster import DagsterInstance; "
             "i = DagsterInstance.get(); print(len(i.all_logs(sys.argv[1])), "
             "i.get_latest_materialization_event(__import__('dagster').AssetKey('tiny')) is not None)", run_id],
            capture_output=True, text=True, timeout=120, env={**__import__("os").environ, "DAGSTER_HOME": str(home)})
        assert reader.returncode == 0, reader.stderr[-2000:]
        assert reader.stdout.split() == [str(written), "True"]


def test_a_watcher_in_another_instance_is_told_of_each_new_event(tmp_path, monkeypatch):
    """The UI follows a run launched elsewhere through Dagster's file watcher on the run's .db file; with a
    kept connection the events go to the WAL, so the writer must still signal the file."""
    home = _home(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with _instance(home) as writer, _instance(home) as watcher:
        run_id = _run(writer, "2026-02-02")  # the run's file exists; a second run would be a new file
        first = len(writer.all_logs(run_id))
        seen: list[str] = []
        done = threading.Event()

        def on_event(entry, cursor):
            seen.append(cursor)
            if len(seen) >= 3:
                done.set()

        storage = watcher.event_log_storage
        cursor = writer.get_records_for_run(run_id).cursor
        storage.watch(run_id, cursor, on_event)
        time.sleep(0.5)  # the observer thread has started
        for message in ("one", "two", "three"):
            writer.report_engine_event(message, writer.get_run_by_id(run_id))
        assert done.wait(timeout=30), f"the watcher saw {len(seen)} of 3 new events"
        storage.end_watch(run_id, on_event)
        assert len(writer.all_logs(run_id)) == first + 3
