"""Which days a load may cover and must contain: the window check made before anything is fetched, the refusal
of answers that lack rows already loaded, and of answers with no row for a day the source should have published.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from pipelines.calendar import is_trading_day
from pipelines.landing.tables import RawTable
from pipelines.sources.http import SourceError


class WindowError(ValueError):
    """A requested window holds no day the source can have data for. One line, with the valid range."""


def check_window(table: RawTable, window: tuple[date, date], last_day: date, why_last: str) -> tuple[date, date]:
    """The part of [start, end) inside [history start, ``last_day``]; refuse a window wholly outside it.

    ``last_day``: today (live) or the replay dataset's last day (replay), ``why_last`` says which.
    """
    first = table.history_start
    start, end = window
    valid = f"valid days for raw.{table.name}: {first} .. {last_day} ({why_last})"
    if end <= start:
        raise WindowError(f"raw.{table.name}: empty window {start}..{end}; {valid}")
    if start > last_day:
        raise WindowError(f"raw.{table.name}: window {start}..{end - timedelta(days=1)} is after the last day; {valid}")
    if end <= first:
        raise WindowError(f"raw.{table.name}: window {start}..{end - timedelta(days=1)} is before the source's "
                          f"history starts; {valid}")
    return max(start, first), min(end, last_day + timedelta(days=1))


def publishes_on(table: RawTable, day: date) -> bool:
    if table.calendar == "daily":
        return True
    if table.calendar == "us_trading":
        return is_trading_day(day)
    return False


def expected_days(table: RawTable, window: tuple[date, date], published_until: date) -> list[date]:
    """Days of the window the source publishes on (its calendar) and has published by ``published_until``."""
    start, end = window
    last = min(end - timedelta(days=1), published_until)
    days = [start + timedelta(days=i) for i in range((last - start).days + 1)]
    return [d for d in days if publishes_on(table, d)]


def missing_days_error(table: RawTable, window: tuple[date, date], frame: pl.DataFrame, expected: list[date],
                       endpoints: dict[str, str]) -> None:
    """Refuse an answer with no row for a day the source should have published (named in the error)."""
    have = set(frame[table.date_column].to_list())
    missing = [d for d in expected if d not in have]
    if missing:
        shown = ", ".join(str(d) for d in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise SourceError(
            ",".join(endpoints) or "-", ",".join(dict.fromkeys(endpoints.values())) or f"raw.{table.name}",
            f"raw.{table.name} has no row for {len(missing)} day(s) the source should have published in {window[0]}..{window[1]}: "
            f"{shown}; nothing stored (not yet published, or a partial answer?)",
            field=table.date_column, value=[str(d) for d in missing[:5]],
        )


def _exists(con: duckdb.DuckDBPyConnection, table: RawTable) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                            "and table_name = ?", [table.name]).fetchone()[0])


def refuse_shrinking(con: duckdb.DuckDBPyConnection, table: RawTable, window: tuple[date, date],
                     frame: pl.DataFrame, sources: list[str] | None, endpoints: dict[str, str]) -> None:
    """An answer that lacks keys already loaded for the window is partial (truncated, not yet published, an
    outage): replacing would lose good data, so the load is refused whole. ``sources``: only their rows count."""
    if not _exists(con, table):
        return
    key = list(table.shrink_key)
    dc = table.date_column
    scoped = " and list_contains(?, source)" if sources is not None else ""
    args = [window[0], window[1]] + ([sources] if sources is not None else [])
    loaded = con.execute(f"select distinct {', '.join(key)}, source from raw.{table.name} "
                         f"where {dc} >= ? and {dc} < ?{scoped}", args).fetchall()
    got = set(frame.select(key).iter_rows())
    missing = sorted({row[:-1]: row[-1] for row in loaded if row[:-1] not in got}.items(),
                     key=lambda kv: tuple(str(v) for v in kv[0]))
    if missing:
        source = str(missing[0][1])
        what = "day(s)" if key == [dc] else f"({', '.join(key)})"
        raise SourceError(
            source, endpoints.get(source, f"raw.{table.name}"),
            f"the response lacks {len(missing)} {what} already loaded for {window[0]}..{window[1]}; "
            "keeping the loaded data (partial or truncated answer?)",
            field=":".join(key), value=[":".join(str(v) for v in r) for r, _ in missing[:5]],
        )
