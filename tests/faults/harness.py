"""Helpers of the fault-injection suite: run an asset in live mode against the loopback server, read
failures, snapshot the warehouse."""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterInstance, materialize

from pipelines.partitions import days_tags
import pipelines.resources as resources
from pipelines.ingest.btc_price import raw_btc_price_daily, raw_btc_price_daily_gx
from pipelines.ingest.etf_flows import raw_etf_flows, raw_etf_flows_gx

from .server import FaultServer

FAKE_KEY = "cg-fake-0123456789abcdef"


def live(server: FaultServer) -> resources.SourcesResource:
    """Live mode; the ``server`` fixture's BTC_SIGNALS_LIVE_REDIRECTS sends every host to ``server``."""
    assert server.redirects_env, "no host to redirect"
    return resources.SourcesResource(mode="live")


def range_tags(start: str, end: str) -> dict[str, str]:
    return days_tags(start, end)


def run_etf(db: Path, server: FaultServer, *, source: str = "auto", partition: str | None = None,
            tags: dict[str, str] | None = None, instance: DagsterInstance | None = None, check: bool = False):
    """Materialise raw.etf_flows (and its blocking GX check when ``check``) in live mode against ``server``."""
    return materialize(
        [raw_etf_flows, raw_etf_flows_gx] if check else [raw_etf_flows],
        tags={**(days_tags(partition) if partition else {}), **(tags or {})},
        resources={"duckdb": resources.WarehouseResource(database=str(db)), "sources": live(server)},
        run_config={"ops": {"raw__etf_flows": {"config": {"source": source}}}},
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def run_btc(db: Path, server: FaultServer, *, partition: str | None = None, tags: dict[str, str] | None = None,
            check: bool = False):
    return materialize(
        [raw_btc_price_daily, raw_btc_price_daily_gx] if check else [raw_btc_price_daily],
        tags={**(days_tags(partition) if partition else {}), **(tags or {})},
        resources={"duckdb": resources.WarehouseResource(database=str(db)), "sources": live(server)},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def failure_message(result) -> str:
    """Step failure messages with their causes (Dagster wraps the user exception)."""
    out = []
    for event in result.all_events:
        if event.is_step_failure and event.event_specific_data.error:
            err = event.event_specific_data.error
            while err is not None:
                out.append(err.message)
                err = err.cause
    return "\n".join(out)


def snapshot(db: Path, *, volatile: bool = True) -> dict[str, list[tuple]]:
    """Every raw table, fully, in a stable order. ``volatile=False`` leaves out what a successful re-load
    legitimately changes: a record's ``ingested_at``, ``run_id``, request window and ``payload_id`` (the
    archive row of the request that brought it), and the archive's ``fetched_at``/``run_id``."""
    with resources.WarehouseResource(database=str(db)).get_connection() as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1"
        ).fetchall()
        out: dict[str, list[tuple]] = {}
        for (table,) in tables:
            if table == "landing_payloads":
                drop = "" if volatile else " exclude (fetched_at, run_id)"
            else:
                drop = "" if volatile else " exclude (ingested_at, run_id, window_start, window_end, payload_id)"
            out[table] = con.execute(f'select *{drop} from raw."{table}" order by all').fetchall()
    return out


def count(db: Path, sql: str, params: list | None = None) -> int:
    with resources.WarehouseResource(database=str(db)).get_connection() as con:
        return con.execute(sql, params or []).fetchone()[0]
