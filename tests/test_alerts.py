"""Alert texts: a change into no_data is reported as missing data (naming the input), never as a signal."""

from datetime import date
from pathlib import Path

import duckdb

from pipelines import alerts


def _dashboard(path: Path, rows: list[tuple]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            """create table marts.signal_dashboard (as_of_date date, indicator varchar, status varchar,
               reading_text varchar, rule varchar, source_as_of date, is_stale boolean, is_derived boolean,
               missing_inputs varchar)"""
        )
        con.executemany("insert into marts.signal_dashboard values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def test_status_changes_mark_no_data_as_a_data_problem(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    d0, d1 = date(2026, 2, 4), date(2026, 2, 5)
    _dashboard(db, [
        (d0, "hash_price", "bear_continuation", "t", "new low", d0, False, False, None),
        (d1, "hash_price", "no_data", "t", "stale", d0, True, False, "mining stale since 2026-02-04"),
        (d0, "funding_rate", "no_data", "no data", "none", None, True, False, "futures funding"),
        (d1, "funding_rate", "bear_continuation", "t", "funding negative", d1, False, True, None),
        (d0, "etf_net_flow", "neutral", "t", "r", d0, False, False, None),
        (d1, "etf_net_flow", "bear_continuation", "t", "outflows accelerate", d1, False, False, None),
    ])
    changes = {c["indicator"]: c for c in alerts.status_changes(db)}
    assert {k: c["kind"] for k, c in changes.items()} == {
        "hash_price": "data_missing", "funding_rate": "data_restored", "etf_net_flow": "signal"}
    text = alerts.format_text({"type": "status_change", "as_of_date": str(d1), "changes": list(changes.values())})
    assert "hash_price: bear_continuation → no_data (no data: mining stale since 2026-02-04)" in text
    assert "funding_rate: no_data → bear_continuation (data restored; funding negative) [derived input]" in text
    assert "etf_net_flow: neutral → bear_continuation (outflows accelerate)" in text
