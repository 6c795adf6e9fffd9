"""Resources, declared once: the DuckDB warehouse, the source transport (live/replay) and dbt.

:class:`SourcesResource` is the one place that knows the mode: it makes the HTTP client over the right transport,
and answers the questions whose answer depends on it (which days a window may cover, which days a source has
published by now, which days a current-state endpoint can be snapshotted for), so no asset tests the mode.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, InitResourceContext
from dagster_dbt import DbtCliInvocation, DbtCliResource
from dagster_duckdb import DuckDBResource
from packaging.version import Version
from pydantic import PrivateAttr

from pipelines.landing.tables import Publication, RawTable
from pipelines.landing.window import check_window
from pipelines.dbt_invocation import dbt_executable
from pipelines.project import dbt_project
from pipelines.replay import binance_spot as binance_spot_replay
from pipelines.replay import bybit as bybit_replay
from pipelines.replay import deribit as deribit_replay
from pipelines.replay import mempool as mempool_replay
from pipelines.replay import okx as okx_replay
from pipelines.replay.transport import dataset_window, make_transport
from pipelines.settings import Settings, dbt_target_dir, load_settings
from pipelines.sources import binance_spot
from pipelines.sources.http import HOST_MIN_INTERVAL_S, HttpClient, RateLimiter
from pipelines.warehouse import WarehouseLock, open_warehouse

# Current-state endpoints: the days the replay dataset can answer for (live: only the day that just closed).
SNAPSHOT_RANGES = {"deribit_chain": deribit_replay.snapshot_range, "mempool_estimate": mempool_replay.estimate_range}
# Sources whose history the replay dataset does not hold: source -> (endpoint -> why not).
REPLAY_GAPS = {"bybit": bybit_replay.why_not, "okx": okx_replay.why_not}
# Endpoints whose replay data is another provider's series, served in the API's shape: (source, endpoint) -> the
# name its rows carry in replay (live they carry the source's own name).
REPLAY_SERVED_AS = {(binance_spot.SOURCE, binance_spot.KLINES): binance_spot_replay.SERVED_AS}


class SourcesResource(ConfigurableResource):
    """How sources reach their APIs. ``mode`` is ``replay`` (bundled dataset) or ``live``.

    API keys are deliberately *not* config fields (config is shown in the UI and stored with
    runs): they are read from the environment when a client is made.
    """

    mode: str = "replay"
    replay_dir: str = ""
    # live mode only: send some hosts elsewhere, e.g. {"farside.co.uk": "http://127.0.0.1:8080"}
    # (a caching proxy, a recorder, the fault-injection server of the tests); added to BTC_SIGNALS_LIVE_REDIRECTS.
    redirects: dict[str, str] = {}

    def settings(self) -> Settings:
        env = dict(os.environ)
        env["BTC_SIGNALS_MODE"] = self.mode
        if self.replay_dir:
            env["BTC_SIGNALS_REPLAY_DIR"] = self.replay_dir
        return load_settings(env)

    @contextmanager
    def http(self) -> Iterator[HttpClient]:
        settings = self.settings()
        limiter = RateLimiter(HOST_MIN_INTERVAL_S if settings.mode == "live" else {})
        redirects = {**settings.redirects, **dict(self.redirects)}
        client = HttpClient(
            transport=make_transport(settings.mode, Path(settings.replay_dir), redirects),
            rate_limiter=limiter,
            secrets=settings.secrets,
        )
        try:
            yield client
        finally:
            client.close()

    def now(self) -> datetime:
        """The run's clock: the wall clock live; the close of the dataset's last day in replay."""
        if self.mode == "live":
            return datetime.now(tz=UTC)
        last = dataset_window(Path(self.settings().replay_dir))[1]
        return datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)

    def last_day(self) -> tuple[date, str]:
        """The last day a window may hold, and why."""
        if self.mode == "live":
            return datetime.now(tz=UTC).date(), "live: today, UTC"
        return dataset_window(Path(self.settings().replay_dir))[1], "replay: the bundled dataset ends there"

    def check_window(self, table: RawTable, window: tuple[date, date]) -> tuple[date, date]:
        """The window clipped to the days the source can have; a window wholly outside them is refused."""
        last, why = self.last_day()
        return check_window(table, window, last, why)

    def published_until(self, publication: Publication) -> date:
        """The last day D a source has published by now (D + 1 at its publication time)."""
        now = self.now()
        ready = now - timedelta(hours=publication.hour_utc, minutes=publication.minute)
        return ready.date() - timedelta(days=1)

    def unavailable(self, source: str, endpoint: str) -> str | None:
        """Why ``source`` cannot answer ``endpoint`` in this mode (None: it can). Live: always can; replay: the
        replay server says (e.g. no OKX history is bundled), so a planner skips it instead of failing."""
        if self.mode == "live" or source not in REPLAY_GAPS:
            return None
        return REPLAY_GAPS[source](endpoint)

    def source_name(self, source: str, endpoint: str) -> str:
        """The name the rows of ``source``'s ``endpoint`` carry (raw ``source`` column, dashboard source): the source
        itself live; in replay, what the bundled series really is when it is another provider's (the BTC close served
        as Binance klines is Yahoo's BTC-USD aggregate)."""
        if self.mode == "live":
            return source
        return REPLAY_SERVED_AS.get((source, endpoint), source)

    def snapshot_days(self, window: tuple[date, date], endpoint: str,
                      now: datetime | None = None) -> tuple[list[date], str]:
        """The days of ``window`` a current-state ``endpoint`` can be snapshotted for, and why not the others."""
        start, end = window
        days = [start + timedelta(days=i) for i in range((end - start).days)]
        if self.mode == "live":
            just_closed = (now or datetime.now(tz=UTC)).date() - timedelta(days=1)
            return [d for d in days if d == just_closed], (
                f"live: the server serves only the current state, so only {just_closed} (closed at 00:00 UTC "
                "today) can be snapshotted by this run")
        first, last = SNAPSHOT_RANGES[endpoint](Path(self.settings().replay_dir))
        return [d for d in days if first <= d <= last], (
            f"replay dataset holds daily snapshots from {first} to {last}; the server serves only the current state")


# ---- The warehouse as the runs see it: one writer at a time, opened once (pipelines/warehouse.py) ----

WRITER_PID_TAG = "btc-signals/writer-pid"  # on every run that writes the warehouse: the process doing it
WRITER_HOST_TAG = "btc-signals/writer-host"
KEEP_DBT_TARGETS = 3  # dagster-dbt writes each invocation's artifacts and log to a new dir under target/


def _take_writer_lock(context: InitResourceContext, db_path: str) -> WarehouseLock:
    """The warehouse's writer lock for this run, refused at once if another run holds it. The run is
    tagged with this process's PID, and runs an earlier killed process left STARTED are marked failed."""
    lock = WarehouseLock(db_path).acquire(command=f"Dagster run of {context.dagster_run.job_name}"
                                          if context.dagster_run else None, run_id=context.run_id)
    if context.instance is not None and context.run_id:
        context.instance.add_run_tags(context.run_id, {WRITER_PID_TAG: str(os.getpid()), WRITER_HOST_TAG: socket.gethostname()})
        for line in sweep_orphaned_runs(context.instance):
            if context.log:
                context.log.warning(line)
    return lock


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphaned_runs(instance) -> list[str]:
    """Mark failed the runs still STARTING/STARTED whose writing process is gone (killed, machine
    restarted): Dagster's run monitoring cannot check the health of in-process runs (the CLI) nor of
    the default run launcher's runs. A run is recognised by the PID and host its tags name; a run of a
    live process, of another host, or without those tags is left alone. Returns one line per run."""
    from dagster import DagsterRunStatus, RunsFilter

    here = socket.gethostname()
    lines = []
    for run in instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED])):
        pid, host = run.tags.get(WRITER_PID_TAG), run.tags.get(WRITER_HOST_TAG)
        if not pid or not pid.isdigit() or host != here or int(pid) == os.getpid() or _process_alive(int(pid)):
            continue
        message = f"its process (PID {pid}) ended without finishing the run (killed?): marked failed by the next start"
        instance.report_run_failed(run, message=message)
        lines.append(f"{run.job_name} run {run.run_id} was left {run.status.value}: {message}")
    return lines


# The warehouse a run of this process keeps open, by path (WarehouseResource), so that a dbt build in the same
# run can close it first: dbt is another process, and DuckDB lets one process at a time open the file.
_OPEN_WAREHOUSES: dict[str, duckdb.DuckDBPyConnection] = {}


def _kept_key(database: str) -> str:
    return str(Path(database).resolve())


def close_kept_warehouse(database: str) -> None:
    """Close the warehouse a run keeps open (checkpointing it), if any; the run's next connection reopens it."""
    con = _OPEN_WAREHOUSES.pop(_kept_key(database), None)
    if con is not None:
        con.close()


class WarehouseResource(DuckDBResource):
    """``DuckDBResource`` that takes the warehouse's writer lock for the run and opens the file once per run:
    a locked, read-only or missing warehouse fails in one line, not after ten retries. Each
    ``get_connection`` is a cursor of its own (its own transactions) on that one open database: opening and
    closing a DuckDB file costs ≈ 45 ms whatever its size, and a raw run asks for a connection ≈ 40 times
    (each asset and check). No other process can open the file while a run writes it anyway (one writer,
    docs/operations.md); the file is closed, and checkpointed, when the run ends or before a dbt build.
    Outside a run (the resource used directly) each connection opens and closes the file."""

    _lock: WarehouseLock | None = PrivateAttr(default=None)
    _in_run: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._lock = _take_writer_lock(context, self.database)
        self._in_run = True

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self._in_run = False
        try:
            close_kept_warehouse(self.database)
        finally:
            if self._lock is not None:
                self._lock.release()

    def _open(self) -> duckdb.DuckDBPyConnection:
        return open_warehouse(self.database, config={"custom_user_agent": "dagster", **self.connection_config})

    @contextmanager
    def get_connection(self):
        if self._in_run:
            key = _kept_key(self.database)
            if key not in _OPEN_WAREHOUSES:
                _OPEN_WAREHOUSES[key] = self._open()
            con = _OPEN_WAREHOUSES[key].cursor()
        else:
            con = self._open()
        try:
            yield con
        finally:
            con.close()


class WarehouseDbtResource(DbtCliResource):
    """``DbtCliResource`` for dbt builds into the warehouse: takes the writer lock for the run, runs dbt
    through the launcher that dies with its parent (``pipelines/dbt_child.py``) and keeps only the last
    few per-invocation target directories."""

    warehouse: str

    _lock: WarehouseLock | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        super().setup_for_execution(context)
        self._lock = _take_writer_lock(context, self.warehouse)
        prune_dbt_targets(dbt_target_dir(), keep=KEEP_DBT_TARGETS - 1)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.release()

    def cli(self, args: Sequence[str], **kwargs) -> DbtCliInvocation:
        close_kept_warehouse(self.warehouse)  # a raw step of the same run may have it open: dbt must write it
        return super().cli(args, **kwargs)

    # Before every invocation dagster-dbt 0.29 asks `dbt --version` in a subprocess, to tell dbt Core from
    # the Fusion engine (a whole dbt import: ≈ 3.7 s), and builds an in-process dbt adapter with the
    # project's profile and macros (≈ 7 s) for `fetch_column_metadata` / `fetch_row_counts`. The dbt here
    # is this venv's dbt Core, and neither feature is used (pipelines/assets/dbt.py reads the models'
    # metadata over its own read-only connection): 10 s of every transform run, measured
    # (docs/operations.md, Performance). tests/test_dbt_resource.py fails if dagster-dbt renames them.
    @cached_property
    def _cli_version(self) -> Version:
        return Version(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


# dagster-dbt's name for an invocation's directory: f"{op name}-{run_id[:7]}-{uuid4()[:7]}"
INVOCATION_DIR = re.compile(r".+-[0-9a-f]{7}-[0-9a-f]{7}")


def prune_dbt_targets(target_dir: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest invocation directories dagster-dbt left under ``target/``
    (each holds a manifest, run results and dbt.log: ~10 MB a run). What dbt itself writes at the top
    (``manifest.json``, the partial-parse file, ``compiled/``, ``run/``) is not touched. Returns what
    was removed."""
    runs = sorted(
        (d for d in target_dir.iterdir() if d.is_dir() and INVOCATION_DIR.fullmatch(d.name)) if target_dir.is_dir() else [],
        key=lambda d: d.stat().st_mtime,
        reverse=True,
    )
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return runs[keep:]


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    from pipelines.dbt_child import launcher_path

    settings = settings or load_settings()
    return {
        "duckdb": WarehouseResource(database=str(settings.duckdb_path)),
        "sources": SourcesResource(mode=settings.mode, replay_dir=str(settings.replay_dir)),
        "dbt": WarehouseDbtResource(project_dir=dbt_project, dbt_executable=launcher_path() or dbt_executable(),
                                    profiles_dir=str(dbt_project.project_dir), warehouse=str(settings.duckdb_path)),
    }
