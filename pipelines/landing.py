"""The raw landing in DuckDB (schema ``raw``).

Two kinds of table:

* ``raw.landing_payloads`` — append-only archive of every response body a source returned (also
  the malformed ones, stored *before* parsing), keyed by a content hash so that re-fetching an
  identical payload adds nothing while a revised payload adds a row. Nothing is ever deleted here.
* ``raw.<entity>`` — one row per fetched record with ``source``, ``endpoint``, the request window,
  ``ingested_at``, the run id and the record's own payload (JSON text), plus the parsed values.
  A run replaces the rows of the partitions it covers in one transaction: a partition loads whole
  or not at all, and re-runs are idempotent.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import polars as pl

LANDING_DDL = """
create schema if not exists raw;
create table if not exists raw.landing_payloads (
    payload_id      varchar primary key,   -- sha256 of source, endpoint, request and body
    source          varchar not null,
    endpoint        varchar not null,
    request_params  varchar not null,      -- JSON, secrets never included
    window_start    date,
    window_end      date,                  -- exclusive
    fetched_at      timestamptz not null,
    run_id          varchar,
    body_bytes      bigint not null,
    body            varchar not null
);
"""


def utcnow() -> datetime:
    return datetime.now(tz=UTC)


def ensure_landing(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LANDING_DDL)


def archive_payload(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str,
    endpoint: str,
    body: str,
    request_params: dict[str, Any] | None = None,
    window: tuple[date, date] | None = None,
    run_id: str | None = None,
) -> str:
    """Store a response body in the append-only archive (once per distinct content); return its id."""
    ensure_landing(con)
    params = json.dumps(request_params or {}, sort_keys=True, default=str)
    digest = hashlib.sha256("\x1f".join([source, endpoint, params, body]).encode()).hexdigest()
    start, end = window if window else (None, None)
    con.execute(
        """insert into raw.landing_payloads
           select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
           where not exists (select 1 from raw.landing_payloads where payload_id = ?)""",
        [digest, source, endpoint, params, start, end, utcnow(), run_id, len(body.encode()), body, digest],
    )
    return digest


def replace_window(
    con: duckdb.DuckDBPyConnection,
    *,
    table: str,
    date_column: str,
    frame: pl.DataFrame,
    window: tuple[date, date],
    ddl: str,
) -> int:
    """In one transaction: create ``raw.<table>`` if needed, delete the window's rows, insert ``frame``.

    ``window`` is [start, end). Rows of ``frame`` outside the window are a programming error.
    Returns the number of rows inserted.
    """
    start, end = window
    outside = frame.filter((pl.col(date_column) < start) | (pl.col(date_column) >= end))
    if outside.height:
        raise ValueError(f"{outside.height} rows of raw.{table} fall outside the window {start}..{end}")
    con.execute(ddl)
    from pipelines.provenance import with_is_derived  # TEMP (superseded by the ingest branch)

    frame = with_is_derived(con, table, date_column, frame)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{table} where {date_column} >= ? and {date_column} < ?", [start, end])
        if frame.height:
            con.register("_incoming", frame.to_arrow())
            cols = ", ".join(frame.columns)
            con.execute(f"insert into raw.{table} ({cols}) select {cols} from _incoming")
            con.unregister("_incoming")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return frame.height
