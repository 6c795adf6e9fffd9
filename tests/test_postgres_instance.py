"""The production Dagster instance: the same code location on PostgreSQL-backed run, event-log and
schedule storage (deploy/dagster.postgres.yaml), with batched event writes.

A throw-away PostgreSQL cluster is started on a free loopback port in the test's scratch directory
(deploy/local_postgres.py; the Debian `postgresql` package, which .ci/run installs) and stopped after.
`btc-signals run` then loads a few days of every source and rebuilds dbt on that instance, exactly as
an operator would with DAGSTER_HOME pointing at the deploy config.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
from local_postgres import local_cluster  # noqa: E402

# Five days on which every bundled source has data (mining hashrate ends before the window does),
# across a month boundary: at least two partitions per asset, daily or monthly.
START, END = date(2026, 1, 30), date(2026, 2, 3)
BATCH_SIZE = 100


def raw_partitions() -> dict:
    """Every partitioned (raw) asset of the code location -> the keys of the (monthly) partitions holding
    START..END."""
    from pipelines.definitions import defs
    from pipelines.partitions import partition_key

    graph = defs.resolve_asset_graph()
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    keys = {partition_key(d) for d in days}
    partitioned = [key for key in graph.get_all_asset_keys() if graph.get(key).is_partitioned]
    assert all(keys <= set(graph.get(key).partitions_def.get_partition_keys()) for key in partitioned)
    return {key: keys for key in partitioned}


@pytest.fixture(scope="module")
def postgres():
    # not pytest's tmp_path: the server runs as the `postgres` user when the tests run as root, and
    # pytest's per-user temp root is private to root
    base = Path(tempfile.mkdtemp(prefix="btc_signals_pg_"))
    os.chmod(base, 0o755)
    try:
        with local_cluster(base / "cluster") as cluster:
            yield cluster
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_run(postgres, tmp_path_factory, scratch_session):
    """DAGSTER_HOME with the deploy config, an empty warehouse (the worker's scratch one), and one
    `btc-signals run` of five days."""
    work = tmp_path_factory.mktemp("pg_instance")
    scratch = scratch_session.emptied()
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        **postgres.env,
        "DAGSTER_HOME": str(home),
        **scratch.env,
        "DAGSTER_EVENT_BATCH_SIZE": str(BATCH_SIZE),
    }
    cmd = [str(Path(sys.executable).parent / "btc-signals"), "run", "--start", START.isoformat(), "--end", END.isoformat()]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, f"btc-signals run on the Postgres instance failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return home, scratch.path, env


@pytest.fixture
def instance(postgres_run, monkeypatch):
    from dagster import DagsterInstance

    home, _, env = postgres_run
    for key in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
        monkeypatch.setenv(key, env[key])
    with DagsterInstance.from_config(str(home)) as inst:
        yield inst


def test_the_instance_keeps_runs_events_and_schedules_in_postgres(instance, postgres_run):
    from dagster_postgres import PostgresRunStorage, PostgresScheduleStorage

    from pipelines.instance_postgres import PooledPostgresEventLogStorage  # dagster-postgres's, subclassed

    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PooledPostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    home, _, _ = postgres_run
    # nothing fell back to the embedded SQLite storage
    assert not [p for p in home.rglob("*.db")], "SQLite files in DAGSTER_HOME"
    assert instance.event_log_storage.postgres_url.startswith("postgresql+psycopg2://")


def test_both_runs_succeeded_and_every_raw_partition_is_recorded(instance):
    from dagster import AssetKey, DagsterRunStatus, RunsFilter

    runs = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.SUCCESS]))
    assert sorted(r.job_name for r in runs) == ["raw_sources_job", "transform_job"]
    assert not instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))

    expected = raw_partitions()
    assert len(expected) >= 10
    for key, partitions in expected.items():
        assert instance.get_materialized_partitions(key) == partitions, key.to_user_string()
    dashboard = instance.get_latest_materialization_event(AssetKey(["marts", "signal_dashboard"]))
    assert dashboard is not None and dashboard.run_id in {r.run_id for r in runs if r.job_name == "transform_job"}


def test_materialisation_events_were_written_in_batches(instance):
    """With DAGSTER_EVENT_BATCH_SIZE the materialisations of a raw asset's partitions (the two months holding five days) are
    stored by one INSERT: one PostgreSQL transaction (xmin) per asset, where unbatched writes take one
    per event."""
    import sqlalchemy as sa

    expected = {key.to_string(): len(partitions) for key, partitions in raw_partitions().items()}
    assert min(expected.values()) >= 2  # several partitions per asset in one step: batching is visible
    raw_keys = set(expected)
    with instance.event_log_storage._engine.connect() as conn:  # noqa: SLF001  (the storage's own engine)
        rows = conn.execute(sa.text(
            """select asset_key, count(*), count(distinct xmin::text) from event_logs
               where dagster_event_type = 'ASSET_MATERIALIZATION' group by asset_key"""
        )).all()
    per_asset = {key: (events, transactions) for key, events, transactions in rows if key in raw_keys}
    assert set(per_asset) == raw_keys
    assert all(per_asset[key] == (expected[key], 1) for key in raw_keys), per_asset


def test_the_event_log_kept_its_connections(instance):
    """Dagster's PostgreSQL event log opens a connection per statement (several per event); the pooled one keeps
    a few per process. Every session the server ever accepted (the runs', the tests', the storages' schema
    set-up) is far fewer than the events written."""
    import sqlalchemy as sa

    with instance.event_log_storage._engine.connect() as conn:  # noqa: SLF001  (the storage's own engine)
        events = conn.execute(sa.text("select count(*) from event_logs")).scalar_one()
        sessions = conn.execute(sa.text(
            "select sessions from pg_stat_database where datname = current_database()")).scalar_one()
    assert events > 500
    assert sessions < events / 2, (sessions, events)


def test_the_dashboard_was_built_from_the_run(postgres_run):
    from pipelines import cli

    _, warehouse, _ = postgres_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        last, indicators = con.execute(
            "select max(as_of_date), count(distinct indicator) from marts.signal_dashboard"
        ).fetchone()
        regime = con.execute(
            "select status from marts.signal_dashboard where as_of_date = ? and indicator = 'regime'", [END]
        ).fetchall()
    assert last == cli.replay_window()[1]  # replay: the dashboard runs to the bundled window's end
    assert indicators >= 10
    assert len(regime) == 1 and regime[0][0] in {"bull_confirmation", "neutral", "bear_continuation"}
