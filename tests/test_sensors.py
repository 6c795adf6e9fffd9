"""The dbt-follows-raw sensor decides on asset events, not job names; the status-change alert follows the
dashboard's materialisations; freshness checks judge the day the data describes."""

import shutil
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    asset,
    asset_check,
    build_sensor_context,
    materialize,
)

from pipelines import sensors
from pipelines.definitions import defs
from pipelines.settings import load_settings
from test_operations import Webhook

RAW = AssetKey(["raw", "btc_price_daily"])


@asset(key=RAW)
def raw_stand_in():
    return None


@asset(key=sensors.DASHBOARD)
def dashboard_stand_in():
    return None


@asset_check(asset=raw_stand_in, blocking=True)
def failing_blocking_check():
    return AssetCheckResult(passed=False)


def decide(instance):
    return sensors.transform_request(instance, [RAW])


def test_transform_follows_any_successful_raw_materialisation():
    """`materialize` runs an ad-hoc job (like the asset page's __ASSET_JOB): no job name is involved."""
    with DagsterInstance.ephemeral() as instance:
        assert isinstance(decide(instance), SkipReason)  # nothing materialised yet
        raw_run = materialize([raw_stand_in], instance=instance)
        request = decide(instance)
        assert isinstance(request, RunRequest)
        record = instance.fetch_materializations(RAW, limit=1).records[0]
        assert request.run_key == f"raw-event-{record.storage_id}"
        assert raw_run.run_id in request.tags["btc-signals/trigger"]
        # once the dashboard is rebuilt, nothing more to do
        materialize([dashboard_stand_in], instance=instance)
        skip = decide(instance)
        assert isinstance(skip, SkipReason) and "newer than every raw" in skip.skip_message
        # a second raw load asks for a second rebuild, with a new run key
        materialize([raw_stand_in], instance=instance)
        again = decide(instance)
        assert isinstance(again, RunRequest) and again.run_key != request.run_key


def test_transform_waits_while_a_run_is_in_progress():
    with DagsterInstance.ephemeral() as instance:
        materialize([raw_stand_in], instance=instance)
        instance.add_run(DagsterRun(job_name="raw_sources_job", run_id="a" * 36, status=DagsterRunStatus.STARTED))
        skip = decide(instance)
        assert isinstance(skip, SkipReason) and "in progress" in skip.skip_message and "raw_sources_job" in skip.skip_message


def test_transform_ignores_a_raw_run_that_failed_its_blocking_check():
    with DagsterInstance.ephemeral() as instance:
        result = materialize([raw_stand_in, failing_blocking_check], instance=instance, raise_on_error=False)
        assert not result.success
        assert instance.fetch_materializations(RAW, limit=1).records  # the asset did materialise...
        skip = decide(instance)
        assert isinstance(skip, SkipReason) and "failed" in skip.skip_message  # ...but the dashboard keeps its state


def test_the_code_locations_sensor_requests_transform_job():
    sensor = defs.resolve_sensor_def("transform_after_raw_load")
    assert [t.job_name for t in sensor.targets] == ["transform_job"]
    with DagsterInstance.ephemeral() as instance:
        assert sensor.evaluate_tick(build_sensor_context(instance=instance)).run_requests == []
        materialize([raw_stand_in], instance=instance)  # raw/btc_price_daily, one of the location's raw assets
        result = sensor.evaluate_tick(build_sensor_context(instance=instance))
    assert len(result.run_requests) == 1 and result.run_requests[0].run_key.startswith("raw-event-")


def test_status_change_alert_follows_dashboard_materialisations(replay_warehouse, tmp_path, monkeypatch):
    # a copy of the warehouse that ends on the reference day, when the ETF row flipped to bear_continuation
    db = tmp_path / "copy.duckdb"
    shutil.copy(replay_warehouse, db)
    with duckdb.connect(str(db)) as con:
        con.execute("delete from marts.signal_dashboard where as_of_date > '2026-02-05'")
    monkeypatch.setenv("BTC_SIGNALS_DUCKDB_PATH", str(db))
    sensor = defs.resolve_sensor_def("alert_on_status_change")
    with Webhook() as hook:
        monkeypatch.setenv("BTC_SIGNALS_ALERT_WEBHOOK_URL", hook.url)
        # the session instance holds the dashboard's materialisation of `make run`'s dbt run
        sensor.evaluate_tick(build_sensor_context(instance=DagsterInstance.get()))
    assert len(hook.received) == 1
    body = hook.received[0]
    assert body["type"] == "status_change" and body["as_of_date"] == "2026-02-05"
    change = next(c for c in body["changes"] if c["indicator"] == "etf_net_flow")
    assert (change["previous_status"], change["status"]) == ("neutral", "bear_continuation")


# ------------------------------------------------------------------------------------------------
# Freshness
# ------------------------------------------------------------------------------------------------
MAR_1 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("latest", "now", "hours", "late", "due"),
    [
        # ETF flows: Friday's flows, judged at the close of Saturday 28 Feb, 110 h allowed (weekend + report lag)
        (date(2026, 2, 27), MAR_1, 110, False, date(2026, 2, 23)),
        # BTC candles, 26 h allowed: 27 Feb is due by 1 Mar 02:00, so the 26th is the latest due at 00:00
        (date(2026, 2, 26), MAR_1, 26, False, date(2026, 2, 26)),
        (date(2026, 2, 26), MAR_1 + timedelta(hours=2), 26, True, date(2026, 2, 27)),
        # a source that stopped publishing in November
        (date(2025, 11, 30), MAR_1, 30, True, date(2026, 2, 26)),
        (None, MAR_1, 30, True, date(2026, 2, 26)),
    ],
)
def test_judge_freshness_by_the_day_the_data_describes(latest, now, hours, late, due):
    verdict = sensors.judge_freshness("t", latest, now, timedelta(hours=hours))
    assert (verdict.late, verdict.expected_day) == (late, due)


def test_replay_freshness_is_judged_at_the_close_of_the_windows_last_day():
    assert sensors.reference_now(load_settings()) == MAR_1  # the bundled window ends 2026-02-28


def test_latest_data_day_reads_the_tables_own_day_column():
    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute("""create table raw.t (obs_date date, value double, window_start date, window_end date)""")
        con.execute("insert into raw.t values ('2026-02-26', 1, '2026-03-01', '2026-03-02'), ('2026-02-27', 2, '2026-03-01', '2026-03-02')")
        assert sensors.latest_data_day(con, "t") == date(2026, 2, 27)
        with pytest.raises(LookupError, match="raw.missing does not exist"):
            sensors.latest_data_day(con, "missing")


def test_every_raw_asset_has_a_freshness_check_and_a_check_only_job():
    graph = defs.resolve_asset_graph()
    raw = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"}
    fresh = {k.asset_key for k in graph.asset_check_keys if k.name == "data_is_fresh"}
    assert raw and fresh == raw
    job = defs.resolve_job_def("freshness_checks_job")
    assert job.partitions_def is None  # reads only; runs without a partition
    sensor = defs.resolve_sensor_def("freshness_checks_sensor")
    assert [t.job_name for t in sensor.targets] == ["freshness_checks_job"]


def test_freshness_checks_pass_on_the_replay_warehouse_and_flag_a_source_that_stopped(replay_warehouse):
    with DagsterInstance.get() as instance:
        runs = [r for r in instance.get_runs() if r.job_name == "raw_sources_job"]
        evaluations = {
            (e.asset_key.path[-1], e.passed)
            for record in instance.all_logs(runs[0].run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
            if isinstance(e := record.dagster_event.event_specific_data, AssetCheckEvaluation) and e.check_name == "data_is_fresh"
        }
    assert ("btc_price_daily", True) in evaluations
    assert ("etf_flows", True) in evaluations
    # no CoinGlass key in the tests: the liquidation table has no rows, so its data is not fresh
    assert ("futures_liquidations", False) in evaluations
