"""The embedded Dagster instance's event log: Dagster's SQLite event log, one connection per database file.

Dagster's ``SqliteEventLogStorage`` opens a new SQLAlchemy engine and connection for every write and reads
(``NullPool``), commits with a full fsync and, on closing the last connection, checkpoints the write-ahead
log into the database file. A run writes several statements per event (the run's own file, the cross-run
index, the asset and check tables): measured ≈ 28 ms per event, 51 s of a cold build under cProfile (166 s)
(docs/operations.md, Performance). This subclass keeps the same files, schema and behaviour and changes
three things:

- one engine per database file, kept open (the index and the few run files in use; older ones are closed);
- ``PRAGMA synchronous=NORMAL`` on each connection: in WAL mode a commit no longer waits for an fsync, and a
  crash of the process loses nothing committed (a power cut may lose the last transactions of the run
  history; the warehouse itself is DuckDB's and untouched by this);
- after a write, the run file's mtime is touched: Dagster's watchers (the UI's live run view) follow that
  file, which with a kept connection changes only at a checkpoint.

``pipelines/cli.py::DAGSTER_YAML`` names this class as the ``event_log_storage`` of the ``dagster.yaml`` it
writes; run and schedule storage stay Dagster's SQLite defaults. The production instance
(deploy/dagster.postgres.yaml) uses ``pipelines/instance_postgres.py`` instead.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# How many database files keep an open engine: the index and the run files being written or watched.
OPEN_FILES = 4


def default_base_dir() -> str:
    """Where Dagster's default SQLite storage keeps the event log: $DAGSTER_HOME/history/runs/."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError("DAGSTER_HOME is not set: the event log's base_dir cannot be derived")
    return os.path.join(home, "history", "runs", "")


def _relaxed_sync(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with one kept engine per database file (the module's docstring)."""

    def __init__(self, base_dir: str | None = None, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir or default_base_dir(), inst_data=inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            if shard not in self._initialized_dbs:  # Dagster's schema set-up, on its own short-lived engine
                self._initdb(create_engine(self.conn_string_for_shard(shard), poolclass=NullPool,
                                           connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}))
                self._initialized_dbs.add(shard)
            engine = create_engine(
                self.conn_string_for_shard(shard),
                pool_size=1,
                max_overflow=0,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _relaxed_sync)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_FILES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn:
                before = conn.connection.dbapi_connection.total_changes
                with conn.begin():
                    yield conn
                wrote = conn.connection.dbapi_connection.total_changes != before
            if wrote and shard != INDEX_SHARD_NAME:
                os.utime(self.path_for_shard(shard))  # wake the watchers of this run (see the module)

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_engines()
        super().wipe()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()
