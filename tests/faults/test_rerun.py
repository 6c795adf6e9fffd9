"""Re-running a partition five times in live mode against the loopback server leaves identical tables."""

from __future__ import annotations

import pytest

from pipelines.resources import WarehouseResource

from .harness import FAKE_KEY, failure_message, range_tags, run_btc, run_etf

RUNS = 5


def contents(db) -> dict[str, list[tuple]]:
    """Full contents of every raw table except what a run stamps on its rows (``ingested_at``/``run_id``,
    the archive's ``fetched_at``/``run_id``)."""
    with WarehouseResource(database=str(db)).get_connection() as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1").fetchall()]
        out = {}
        for t in tables:
            stamp = "fetched_at, run_id" if t == "landing_payloads" else "ingested_at, run_id"
            out[t] = con.execute(f'select * exclude ({stamp}) from raw."{t}" order by all').fetchall()
        out["_archive_per_source"] = con.execute(
            "select source, count(*) from raw.landing_payloads group by 1 order by 1").fetchall()
        out["_distinct_runs"] = [
            (t, con.execute(f'select count(distinct run_id) from raw."{t}"').fetchone()[0])
            for t in tables if t != "landing_payloads"
        ]
    return out


LOADS = {
    "etf-coinglass-partition": lambda db, srv: run_etf(db, srv, source="auto", partition="2026-02-05"),
    "etf-farside-range": lambda db, srv: run_etf(db, srv, source="farside", tags=range_tags("2026-01-02", "2026-02-06")),
    "btc-price-range": lambda db, srv: run_btc(db, srv, tags=range_tags("2025-12-01", "2026-02-05")),
}


@pytest.mark.parametrize("what", list(LOADS))
def test_five_reruns_leave_identical_tables(tmp_path, server, sleeps, monkeypatch, what):
    load = LOADS[what]
    monkeypatch.setenv("COINGLASS_API_KEY", FAKE_KEY)
    db = tmp_path / "w.duckdb"
    states = []
    for _ in range(RUNS):
        result = load(db, server)
        assert result.success, failure_message(result)
        states.append(contents(db))
    assert all(state == states[0] for state in states[1:])
    first = states[0]
    # one archived body per distinct answer, one run's rows only (each re-run replaced the previous)
    assert all(n == 1 for _, n in first["_archive_per_source"]), first["_archive_per_source"]
    assert all(n == 1 for _, n in first["_distinct_runs"]), first["_distinct_runs"]
    table = "btc_price_daily" if what.startswith("btc") else "etf_flows"
    assert len(first[table]) > 0
    expected_requests = RUNS  # one request per run: nothing retried, nothing paginated twice
    route = {"etf-coinglass-partition": "coinglass", "etf-farside-range": "farside", "btc-price-range": "binance"}[what]
    assert len(server.seen(route)) == expected_requests
    assert sleeps == []
