"""The production Dagster instance's event log (deploy/dagster.postgres.yaml): dagster-postgres's, with a kept
connection pool. A module of its own: dagster-postgres costs ≈ 1 s to import, which the embedded instance
(``pipelines/instance.py``) does not pay."""

from __future__ import annotations

from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
    """dagster-postgres's event log with a small kept connection pool (the production instance,
    deploy/dagster.postgres.yaml).

    ``PostgresEventLogStorage`` opens its engine with ``NullPool`` (only the webserver gets a pool), so a run
    process opens a new PostgreSQL connection, a server process and its authentication, for every statement:
    several per event. Measured on a local cluster: 7.2 ms wall per connect-and-query against 0.5 ms from a
    kept pool; a 5-day run 65–67 s against 54–57 s (deploy/README.md). This subclass keeps the same
    tables, statements and batching (``DAGSTER_EVENT_BATCH_SIZE``) and only holds up to ``POOL_SIZE``
    connections while its process lives: a run, the daemon, a code server. Connections older than
    ``POOL_RECYCLE_S`` are replaced, and each is checked before use, so a restarted server costs one
    retried connect, not a failed run.
    """

    POOL_SIZE = 2
    POOL_RECYCLE_S = 600

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, inst_data=None,
                 token_provider=None):
        super().__init__(postgres_url, should_autocreate_tables, inst_data=inst_data, token_provider=token_provider)
        self._engine.dispose()  # dagster-postgres's NullPool engine: its schema set-up is done
        self._engine = create_pg_engine(self.postgres_url, token_provider, isolation_level="AUTOCOMMIT",
                                        pool_size=self.POOL_SIZE, max_overflow=0,
                                        pool_recycle=self.POOL_RECYCLE_S, pool_pre_ping=True)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                   token_provider=get_token_provider_from_config(config_value))

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()
