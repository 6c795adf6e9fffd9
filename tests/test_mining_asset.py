"""The raw mining assets over replay: one request window, blocking GX checks, malformed payloads keep the last good data."""

from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from dagster import DagsterInstance, materialize

from pipelines.ingest import mining
from pipelines.partitions import days_tags
from pipelines.resources import SourcesResource, WarehouseResource
from pipelines.settings import REPLAY_DATA_DIR
from pipelines.replay import transport
from pipelines.sources import mempool

ASSETS = [
    mining.raw_mining_hashrate,
    mining.raw_mining_difficulty_adjustments,
    mining.raw_mining_block_rewards,
    mining.raw_mining_difficulty_estimate,
]
CHECKS = [
    mining.raw_mining_hashrate_gx,
    mining.raw_mining_difficulty_adjustments_gx,
    mining.raw_mining_block_rewards_gx,
    mining.raw_mining_difficulty_estimate_gx,
]


def run(db: Path, selection, start: str, end: str | None = None):
    return materialize(
        selection,
        tags=days_tags(start, end),
        resources={
            "duckdb": WarehouseResource(database=str(db)),
            "sources": SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR)),
        },
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def query(db: Path, sql: str):
    with WarehouseResource(database=str(db)).get_connection() as con:
        return con.execute(sql).fetchall()


def failure_message(result) -> str:
    out = []
    for e in result.all_events:
        if e.is_step_failure and e.event_specific_data.error:
            err = e.event_specific_data.error
            while err is not None:
                out.append(err.message)
                err = err.cause
    return "\n".join(out)


def test_a_range_is_one_request_per_history_asset_and_checks_pass(tmp_path):
    db = tmp_path / "w.duckdb"
    result = run(db, ASSETS + CHECKS, "2026-01-30", "2026-02-06")
    assert result.success, failure_message(result)
    assert all(c.passed for c in result.get_asset_check_evaluations())
    assert len(result.get_asset_check_evaluations()) == 4
    hashrate = query(db, "select hashrate_date, hashrate_hs, difficulty from raw.mining_hashrate order by 1")
    assert [r[0] for r in hashrate] == [date(2026, 1, 30) + (date(2026, 1, 31) - date(2026, 1, 30)) * i for i in range(8)]
    feb5 = hashrate[6]
    assert feb5[1] == pytest.approx(894_379_696.84106e12) and feb5[2] == 141_668_107_417_558
    # one request per history asset, one snapshot request per day
    endpoints = dict(query(db, "select endpoint, count(*) from raw.landing_payloads group by 1"))
    assert endpoints["/api/v1/difficulty-adjustment"] == 8
    assert sum(v for k, v in endpoints.items() if k.startswith("/api/v1/mining/")) == 3
    estimates = query(db, "select snapshot_date, difficulty_change_pct from raw.mining_difficulty_estimate order by 1")
    assert len(estimates) == 8 and estimates[-2][1] == pytest.approx(-13.45, abs=0.01)
    fees = query(db, "select avg_fees_per_block_sats * 144 / 1e8 from raw.mining_block_rewards where reward_date = '2026-02-05'")
    assert fees[0][0] == pytest.approx(6.15, abs=0.01)  # Coin Metrics: 6.15 BTC of fees that day


def test_retargets_of_the_window_only(tmp_path):
    db = tmp_path / "w.duckdb"
    assert run(db, [mining.raw_mining_difficulty_adjustments, mining.raw_mining_difficulty_adjustments_gx],
               "2026-01-01", "2026-02-28").success
    got = query(db, "select adjustment_date, height, round((adjustment_ratio - 1) * 100, 2) from raw.mining_difficulty_adjustments order by 2")
    assert got == [(date(2026, 1, 8), 931392, -1.2), (date(2026, 1, 22), 933408, -3.28), (date(2026, 2, 7), 935424, -11.16)]


def test_live_estimate_only_snapshots_the_day_just_closed_and_replay_only_days_it_has():
    live = SourcesResource(mode="live")
    now = datetime(2026, 2, 3, 0, 20, tzinfo=UTC)
    # the schedule's run for 2026-02-02 just after midnight snapshots the state at that day's close
    assert live.snapshot_days((date(2026, 2, 1), date(2026, 2, 4)), "mempool_estimate", now)[0] == [date(2026, 2, 2)]
    assert live.snapshot_days((date(2026, 2, 1), date(2026, 2, 2)), "mempool_estimate", now)[0] == []
    replay = SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR))
    assert len(replay.snapshot_days((date(2026, 2, 1), date(2026, 2, 4)), "mempool_estimate", now)[0]) == 3
    # the bundled snapshots end on 2026-02-12: no later day gets a row carrying that state
    days, why = replay.snapshot_days((date(2026, 2, 10), date(2026, 3, 1)), "mempool_estimate", now)
    assert days == [date(2026, 2, 10), date(2026, 2, 11), date(2026, 2, 12)] and "2026-02-12" in why


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda body: body[: len(body) // 2], "response is not valid JSON"),
        (lambda body: body.replace('"avgHashrate"', '"avg_hashrate"'), "field 'avgHashrate'"),
        (lambda body: body.replace('"timestamp":1770249600', '"timestamp":1770249600000'), "timestamp is not in seconds"),
    ],
)
def test_malformed_payload_fails_clearly_and_keeps_the_last_good_rows(tmp_path, monkeypatch, breakage, expected):
    db = tmp_path / "w.duckdb"
    selection = [mining.raw_mining_hashrate, mining.raw_mining_hashrate_gx]
    assert run(db, selection, "2026-02-05").success
    good = query(db, "select * exclude (ingested_at, run_id) from raw.mining_hashrate")
    real = transport.servers()[mempool.HOST]

    def broken(request: httpx.Request, data) -> httpx.Response:
        response = real(request, data)
        return httpx.Response(response.status_code, content=breakage(response.text).encode(),
                              headers={"Content-Type": "application/json"})

    monkeypatch.setitem(transport._SERVERS, mempool.HOST, broken)
    result = run(db, selection, "2026-02-05")
    assert not result.success
    message = failure_message(result)
    assert "[mempool] /api/v1/mining/hashrate/" in message and expected in message
    assert query(db, "select * exclude (ingested_at, run_id) from raw.mining_hashrate") == good
    archived = query(db, "select count(*) from raw.landing_payloads where endpoint like '/api/v1/mining/hashrate/%'")
    assert archived == [(2,)]  # the bad body is kept for inspection beside the good one


def test_gx_check_blocks_a_difficulty_jump_and_names_it(tmp_path):
    db = tmp_path / "w.duckdb"
    selection = [mining.raw_mining_hashrate, mining.raw_mining_hashrate_gx]
    assert run(db, selection, "2026-02-01", "2026-02-10").success
    with WarehouseResource(database=str(db)).get_connection() as con:
        con.execute("update raw.mining_hashrate set difficulty = difficulty * 1.5 where hashrate_date = '2026-02-09'")
        con.execute("update raw.mining_hashrate set hashrate_hs = -1 where hashrate_date = '2026-02-03'")
    check = mining.raw_mining_hashrate_gx(WarehouseResource(database=str(db)))
    assert not check.passed
    assert "expect_column_values_to_be_between(column=difficulty_change" in check.description
    assert "expect_column_values_to_be_between(column=hashrate_hs" in check.description
    assert "-1.0" in check.description
    assert check.metadata["expectations_failed"].value == 2


def test_live_backfill_of_past_days_keeps_their_snapshots(tmp_path, monkeypatch):
    """Live mode can only snapshot today: a run over past days must not wipe what earlier runs collected."""
    db = tmp_path / "w.duckdb"
    selection = [mining.raw_mining_difficulty_estimate]
    assert run(db, selection, "2026-02-03", "2026-02-05").success
    before = query(db, "select snapshot_date, difficulty_change_pct from raw.mining_difficulty_estimate order by 1")
    assert len(before) == 3

    monkeypatch.setattr(mining.mempool, "MempoolClient", lambda http: (_ for _ in ()).throw(AssertionError("no fetch")))
    live = materialize(
        selection,
        tags=days_tags("2026-02-03", "2026-02-05"),
        resources={"duckdb": WarehouseResource(database=str(db)), "sources": SourcesResource(mode="live")},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert live.success, failure_message(live)
    assert live.asset_materializations_for_node("raw__mining_difficulty_estimate")[0].metadata["snapshots"].value == 0
    assert query(db, "select snapshot_date, difficulty_change_pct from raw.mining_difficulty_estimate order by 1") == before
