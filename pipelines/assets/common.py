"""What every raw landing asset shares: the partition window and the load-whole-or-nothing landing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb
import httpx
import polars as pl
from dagster import AssetExecutionContext

from pipelines.landing import archive_payload, replace_window, utcnow
from pipelines.sources.http import HttpClient, SourceError, redact

# Columns every raw record table carries after its own (see pipelines/landing.py).
RAW_RECORD_COLUMNS = """source        varchar not null,    -- coinglass | farside | binance | ...
    endpoint      varchar not null,
    payload       varchar not null,    -- the source's own record, JSON text
    payload_id    varchar not null,    -- raw.landing_payloads row the record came from
    window_start  date not null,       -- request window [start, end)
    window_end    date not null,
    ingested_at   timestamptz not null,
    run_id        varchar not null,
    is_derived    boolean not null     -- replay dataset's provenance says derived (TEMP, pipelines/provenance.py)"""


def partition_window(context: AssetExecutionContext) -> tuple[date, date]:
    """[start, end) of the partitions this run covers: one request window, however many days."""
    tw = context.partition_time_window
    return tw.start.date(), tw.end.date()


def _refuse_shrinking(
    con: duckdb.DuckDBPyConnection,
    table: str,
    date_column: str,
    window: tuple[date, date],
    frame: pl.DataFrame,
    source: str,
    endpoint: str,
) -> None:
    """A response that lacks days already loaded for the window is partial (truncated, not yet
    published, a source outage): replacing would lose good data, so the load is refused whole."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?", [table]
    ).fetchone()[0]
    if not exists:
        return
    loaded = {
        r[0]
        for r in con.execute(
            f"select distinct {date_column} from raw.{table} where {date_column} >= ? and {date_column} < ?", list(window)
        ).fetchall()
    }
    missing = sorted(loaded - set(frame[date_column].to_list()))
    if missing:
        raise SourceError(
            source,
            endpoint,
            f"the response lacks {len(missing)} day(s) already loaded for {window[0]}..{window[1]}; "
            "keeping the loaded data (partial or truncated answer?)",
            field=date_column,
            value=[str(d) for d in missing[:5]],
        )


def land_records(
    context: AssetExecutionContext,
    con: duckdb.DuckDBPyConnection,
    http: HttpClient,
    *,
    table: str,
    ddl: str,
    date_column: str,
    window: tuple[date, date],
    fetch: Callable[[], tuple[pl.DataFrame, str, str, Any]],
) -> tuple[pl.DataFrame, str, str, Any]:
    """Fetch, archive every response body, parse, then replace the window's rows in one transaction.

    ``fetch`` returns (frame, source, endpoint, extra) where frame has the entity's columns plus
    ``payload``. Bodies are archived as they arrive (before parsing), so a malformed payload is
    kept for inspection while the error propagates and the previous rows stay in place. Secrets the
    client knows (API keys) are masked in archived bodies, as in its logs and errors.
    """
    run_id = context.run.run_id
    payload_ids: dict[str, str] = {}

    def archive(source: str, endpoint: str, params: dict[str, Any], response: httpx.Response) -> None:
        payload_ids[source] = archive_payload(
            con,
            source=source,
            endpoint=endpoint,
            body=redact(response.text, http.secrets),  # a body may echo the key back: never store it
            request_params=params,
            window=window,
            run_id=run_id,
        )

    http.on_response = archive
    try:
        frame, used, endpoint, extra = fetch()
    finally:
        http.on_response = None
    start, end = window
    frame = frame.filter((pl.col(date_column) >= start) & (pl.col(date_column) < end)).with_columns(
        source=pl.lit(used),
        endpoint=pl.lit(endpoint),
        payload_id=pl.lit(payload_ids.get(used, "")),
        window_start=pl.lit(start),
        window_end=pl.lit(end),
        ingested_at=pl.lit(utcnow()),
        run_id=pl.lit(run_id),
    )
    _refuse_shrinking(con, table, date_column, window, frame, used, endpoint)
    inserted = replace_window(con, table=table, date_column=date_column, frame=frame, window=window, ddl=ddl)
    context.log.info(f"raw.{table}: replaced {start}..{end} with {inserted} rows from {used}")
    return frame, used, endpoint, extra
