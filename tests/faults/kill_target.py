"""Subprocess of test_sigkill.py: materialise raw.etf_flows (CoinGlass, live mode against the loopback
server) and stop at a kill point inside the landing transaction, where the parent SIGKILLs it.

    python tests/faults/kill_target.py DB BASE_URL PARTITION POINT MARKER

POINT is ``after_delete`` (the window's old rows deleted, new ones not yet inserted) or ``before_commit``
(new rows inserted, the transaction not yet committed). On reaching it the script writes MARKER and
waits (bounded); if it is not killed within that time it exits with status 3, which fails the test.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from dagster import DagsterInstance, materialize
from dagster_duckdb import DuckDBResource

from pipelines.ingest.etf_flows import raw_etf_flows
from pipelines.partitions import days_tags
from pipelines.resources import SourcesResource
from pipelines.sources import binance_spot, coinglass, farside

WAIT_FOR_KILL_S = 60.0
POINTS = ("after_delete", "before_commit")


def main(db: str, base_url: str, partition: str, point: str, marker: str) -> int:
    if point not in POINTS:
        raise SystemExit(f"unknown kill point {point!r}")

    def pause(what: str) -> None:
        Path(marker).write_text(what)
        time.sleep(WAIT_FOR_KILL_S)
        sys.exit(3)

    class PausingConnection:
        """The real DuckDB connection, pausing at the kill point."""

        def __init__(self, con) -> None:
            self._con = con

        def __getattr__(self, name):
            return getattr(self._con, name)

        def execute(self, sql, *args, **kwargs):
            statement = " ".join(sql.split()).lower()
            if point == "before_commit" and statement == "commit":
                pause("inserted, not committed")
            result = self._con.execute(sql, *args, **kwargs)
            if point == "after_delete" and statement.startswith("delete from raw.etf_flows"):
                pause("deleted, not inserted")
            return result

    real = DuckDBResource.get_connection

    @contextlib.contextmanager
    def get_connection(self):
        with real(self) as con:
            yield PausingConnection(con)

    DuckDBResource.get_connection = get_connection
    hosts = [coinglass.HOST, farside.HOST, *binance_spot.HOSTS]
    os.environ["BTC_SIGNALS_LIVE_REDIRECTS"] = ",".join(f"{h}={base_url}" for h in hosts)
    result = materialize(
        [raw_etf_flows],
        tags=days_tags(partition),
        resources={
            "duckdb": DuckDBResource(database=db),
            "sources": SourcesResource(mode="live"),
        },
        run_config={"ops": {"raw__etf_flows": {"config": {"source": "coinglass"}}}},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    print(f"run finished without reaching the kill point: success={result.success}")
    return 4


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
