"""Options raw assets (landing, snapshot days, quality suite) and the dashboard rows end to end."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import materialize

from pipelines.ingest import options
from pipelines.partitions import FIRST_DAY_TAG, LAST_DAY_TAG, days_tags
from pipelines.quality import run_suite
from pipelines.resources import SourcesResource, WarehouseResource
from pipelines.settings import REPLAY_DATA_DIR


def _replay_copy(dst: Path) -> Path:
    shutil.copytree(REPLAY_DATA_DIR, dst)
    return dst


def test_snapshot_days_live_only_the_day_just_closed(tmp_path):
    now = datetime(2026, 2, 6, 0, 5, tzinfo=UTC)
    live, replay = SourcesResource(mode="live"), SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR))
    days, why = live.snapshot_days((date(2026, 1, 1), date(2026, 2, 6)), "deribit_chain", now)
    assert days == [date(2026, 2, 5)] and "only the current state" in why
    days, _ = live.snapshot_days((date(2026, 1, 1), date(2026, 2, 1)), "deribit_chain", now)
    assert days == []  # a backfill of past days gets DVOL only, no made-up chain
    days, why = replay.snapshot_days((date(2025, 10, 30), date(2025, 11, 3)), "deribit_chain", now)
    assert days == [date(2025, 11, 1), date(2025, 11, 2)] and "2025-11-01" in why


def test_chain_snapshot_lands_one_snapshot_per_day_at_the_close(tmp_path):
    db = tmp_path / "w.duckdb"
    resources = {"duckdb": WarehouseResource(database=str(db)),
                 "sources": SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR))}
    result = materialize([options.raw_deribit_option_chain], tags=days_tags("2026-02-05"), resources=resources)
    assert result.success
    meta = result.asset_materializations_for_node("raw__deribit_option_chain")[0].metadata
    assert meta["snapshots"].value == 1 and meta["days_without_snapshot"].value == 0
    with duckdb.connect(str(db), read_only=True) as con:
        snap = con.execute("select distinct snapshot_date, snapshot_at from raw.deribit_option_chain").fetchall()
        bad = con.execute("select count(*) from raw.deribit_option_chain where payload_id = '' or delta is null").fetchone()[0]
        bodies = dict(con.execute("select endpoint, count(*) from raw.landing_payloads group by 1").fetchall())
    assert snap == [(date(2026, 2, 5), datetime(2026, 2, 6, tzinfo=UTC))]
    assert bad == 0
    assert bodies == {"/public/get_instruments": 1, "/public/get_book_summary_by_currency": 1, "/public/get_index_price": 1}
    # a live backfill of that (past) day can take no snapshot: it must not delete the one taken before
    live = {**resources, "sources": SourcesResource(mode="live")}
    result = materialize([options.raw_deribit_option_chain], tags=days_tags("2026-02-05"), resources=live)
    meta = result.asset_materializations_for_node("raw__deribit_option_chain")[0].metadata
    assert meta["snapshots"].value == 0 and meta["no_snapshot_reason"].value.startswith("live:")
    with duckdb.connect(str(db), read_only=True) as con:
        kept = con.execute("select count(*) from raw.deribit_option_chain where snapshot_date = '2026-02-05'").fetchone()[0]
    assert kept > 200
    # a day before the replay dataset's first snapshot: no rows, and the metadata says why
    result = materialize([options.raw_deribit_option_chain], tags=days_tags("2024-03-01"), resources=resources)
    meta = result.asset_materializations_for_node("raw__deribit_option_chain")[0].metadata
    assert meta["snapshots"].value == 0 and "only the current state" in meta["no_snapshot_reason"].value


def test_landing_stays_intact_after_a_malformed_dvol_payload(tmp_path):
    db = tmp_path / "w.duckdb"
    good = _replay_copy(tmp_path / "good")
    bad = _replay_copy(tmp_path / "bad")
    path = bad / "deribit" / "dvol_btc_1d.json"
    candles = json.loads(path.read_text())
    ts = int(datetime(2026, 2, 5, tzinfo=UTC).timestamp() * 1000)
    for c in candles:
        if c[0] == ts:
            c[4] = "82.62"  # a string where a number belongs
    path.write_text(json.dumps(candles))

    def run(replay_dir: Path):
        return materialize(
            [options.raw_deribit_dvol], tags=days_tags("2026-02-05"), raise_on_error=False,
            resources={"duckdb": WarehouseResource(database=str(db)),
                       "sources": SourcesResource(mode="replay", replay_dir=str(replay_dir))},
        )

    assert run(good).success
    failed = run(bad)
    assert not failed.success
    errors = [str(e.event_specific_data.error) for e in failed.all_events if e.is_step_failure]
    assert any("deribit" in e and "'close'" in e and "82.62" in e for e in errors)
    # the failed run's traceback still references its connection: read through the same resource configuration
    with WarehouseResource(database=str(db)).get_connection() as con:
        rows = con.execute("select dvol_date, close from raw.deribit_dvol").fetchall()
        archived = con.execute("select count(*) from raw.landing_payloads where body like '%\"82.62\"%'").fetchone()[0]
    assert rows == [(date(2026, 2, 5), 82.62)]  # the previous good load is untouched
    assert archived == 1  # the malformed body is kept for inspection


def _chain(rows):
    frame = pd.DataFrame(rows, columns=["snapshot_date", "snapshot_at", "instrument_name", "expiry_at", "strike",
                                        "option_type", "mark_iv_pct", "delta"])
    for col in ("snapshot_at", "expiry_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def _good_chain_rows():
    rows = []
    for exp, days in (("2026-02-11", 5), ("2026-02-13", 7), ("2026-02-27", 21), ("2026-03-27", 49)):
        for strike, cd, pd_, iv in ((60000, 0.62, -0.38, 58.0), (65000, 0.45, -0.55, 55.0), (70000, 0.22, -0.78, 53.0)):
            for kind, delta in (("call", cd), ("put", pd_)):
                rows.append(["2026-02-05", "2026-02-06T00:00:00Z", f"BTC-{exp}-{strike}-{kind[0].upper()}",
                             f"{exp}T08:00:00Z", strike, kind, iv, delta])
    return rows


def test_chain_quality_suite_passes_and_fails_for_the_right_reasons():
    assert run_suite("chain", options.chain_batches(_chain(_good_chain_rows()))).passed
    rows = _good_chain_rows()
    rows[0][6] = 400.0  # IV out of range
    rows[1][7] = -1.2  # delta out of range
    rows = [r for r in rows if not (r[3].startswith("2026-03-27") or (r[3].startswith("2026-02-27") and r[5] == "put"))]
    result = run_suite("chain", options.chain_batches(_chain(rows)))
    assert not result.passed
    text = result.description
    assert "mark_iv_pct" in text and "column=delta" in text
    assert "puts" in text  # 2026-02-27 has calls only
    assert "brackets_30d" in text  # nothing at or beyond 30 days any more
    assert "brackets_7d" not in text


# ------------------------------------------------------------------------------ end to end (replay warehouse)
@pytest.fixture(scope="module")
def dashboard(replay_warehouse):
    with duckdb.connect(str(replay_warehouse), read_only=True) as con:
        yield con.sql(
            "select * from marts.signal_dashboard where indicator in ('risk_reversal_25d', 'iv_term_structure')"
        ).df()


def _row(df, day, indicator):
    got = df[(df["as_of_date"] == pd.Timestamp(day)) & (df["indicator"] == indicator)]
    assert len(got) == 1
    return got.iloc[0]


def test_reference_case_5_feb_2026_reads_bear_continuation(dashboard):
    rr = _row(dashboard, "2026-02-05", "risk_reversal_25d")
    assert rr["status"] == "bear_continuation"
    assert -14.5 < rr["reading"] < -11.5  # near the reported -13 vol points
    assert rr["category"] == "options" and rr["reading_unit"] == "vol_pts" and rr["source"] == "deribit"
    assert rr["reading_text"].startswith("7d ") and "30d" in rr["reading_text"] and "DVOL 82.6" in rr["reading_text"]
    assert "persists" in rr["rule"] and not rr["is_stale"]
    ts = _row(dashboard, "2026-02-05", "iv_term_structure")
    assert ts["status"] == "bear_continuation" and ts["reading"] > 0
    assert ts["reading_text"].startswith("inverted")
    six = _row(dashboard, "2026-02-06", "risk_reversal_25d")
    assert six["status"] == "bear_continuation" and six["reading"] < -11.5
    assert _row(dashboard, "2026-02-06", "iv_term_structure")["status"] == "bear_continuation"


def test_days_before_the_first_snapshot_read_null_with_the_reason(dashboard):
    rr = _row(dashboard, "2025-06-02", "risk_reversal_25d")
    assert pd.isna(rr["reading"]) and rr["status"] == "no_data" and rr["is_stale"]
    assert "Deribit serves only the current chain" in rr["rule"] and "snapshots begin on 2025-11-01" in rr["rule"]
    assert rr["reading_text"].startswith("no chain snapshot; DVOL ")  # DVOL history as context
    ts = _row(dashboard, "2025-06-02", "iv_term_structure")
    assert pd.isna(ts["reading"]) and ts["status"] == "no_data"


def test_calm_days_read_normal_and_skew_recovers(dashboard):
    ts = dashboard[(dashboard["indicator"] == "iv_term_structure") & dashboard["reading"].notna()]
    assert (ts["status"] == "bull_confirmation").sum() > 0 and (ts["status"] == "bear_continuation").sum() > 0
    assert ((ts["reading"] < 0) == (ts["status"] == "bull_confirmation")).all()
    rr = dashboard[(dashboard["indicator"] == "risk_reversal_25d") & (dashboard["status"] == "bull_confirmation")]
    assert len(rr) > 0 and (rr["reading"] >= -1).all()


def test_dvol_answer_missing_loaded_days_is_refused(tmp_path):
    db = tmp_path / "w.duckdb"
    good = _replay_copy(tmp_path / "good")
    short = _replay_copy(tmp_path / "short")
    path = short / "deribit" / "dvol_btc_1d.json"
    ts = int(datetime(2026, 2, 5, tzinfo=UTC).timestamp() * 1000)
    path.write_text(json.dumps([c for c in json.loads(path.read_text()) if c[0] != ts]))

    def run(replay_dir: Path):
        return materialize(
            [options.raw_deribit_dvol], tags=days_tags("2026-02-05"), raise_on_error=False,
            resources={"duckdb": WarehouseResource(database=str(db)),
                       "sources": SourcesResource(mode="replay", replay_dir=str(replay_dir))},
        )

    assert run(good).success
    assert not run(short).success
    with WarehouseResource(database=str(db)).get_connection() as con:
        assert con.execute("select dvol_date, close from raw.deribit_dvol").fetchall() == [(date(2026, 2, 5), 82.62)]


def test_options_assets_in_the_code_location():
    from dagster import AssetKey

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for table in ("deribit_option_chain", "deribit_dvol"):
        node = graph.get(AssetKey(["raw", table]))
        assert node.partitions_def is not None and node.backfill_policy.max_partitions_per_run is None
        check = next(k for k in graph.asset_check_keys if k.asset_key == AssetKey(["raw", table]) and k.name.endswith("_gx"))
        assert graph.get_check_spec(check).blocking
    stg = graph.get(AssetKey(["staging", "stg_deribit__option_chain"]))
    assert AssetKey(["raw", "deribit_option_chain"]) in stg.parent_keys
    assert defs.resolve_job_def("options_job") is not None
    # the daily schedule runs shortly after the day's close and targets that day: the one a live run can snapshot
    from dagster import DagsterInstance, build_schedule_context

    sched = defs.resolve_schedule_def("options_daily")
    tick = datetime(2026, 2, 6, 0, 15, tzinfo=UTC)
    with DagsterInstance.ephemeral() as instance:
        requests = sched.evaluate_tick(build_schedule_context(instance=instance, scheduled_execution_time=tick,
                                                        repository_def=defs.get_repository_def())).run_requests
    assert [(r.partition_key, r.tags[FIRST_DAY_TAG], r.tags[LAST_DAY_TAG]) for r in requests] == [
        ("2026-02-01", "2026-02-05", "2026-02-05")]
    days, _ = SourcesResource(mode="live").snapshot_days((date(2026, 2, 5), date(2026, 2, 6)), "deribit_chain", tick)
    assert days == [date(2026, 2, 5)]


def test_replay_dvol_rerun_archives_nothing_new(tmp_path):
    db = tmp_path / "w.duckdb"
    resources = {"duckdb": WarehouseResource(database=str(db)),
                 "sources": SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR))}
    for _ in range(2):
        assert materialize([options.raw_deribit_dvol], tags=days_tags("2026-02-05"), resources=resources).success
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw.landing_payloads").fetchone()[0] == 1
        assert con.execute("select count(*) from raw.deribit_dvol").fetchone()[0] == 1
