"""Sensors and freshness checks.

- ``transform_after_raw_load``: dbt follows the raw data. It watches asset events, not job names, so
  the dashboard is rebuilt after a raw materialisation however it was launched (an asset page's
  Materialize button, which runs ``__ASSET_JOB``; a job; a backfill; a schedule).
- ``alert_on_status_change`` (on every dashboard materialisation) and ``alert_on_failure`` (any run of
  this code location).
- Freshness checks on every raw asset that judge the day the data describes, and the sensor that runs
  them in live mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    EventLogEntry,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    asset_check,
    asset_sensor,
    define_asset_job,
    run_failure_sensor,
    sensor,
)
from dagster_duckdb import DuckDBResource

from pipelines import alerts
from pipelines.partitions import replay_window
from pipelines.schedules import DEFAULT_PUBLICATION, PUBLICATION, source_groups
from pipelines.settings import Settings, load_settings

DASHBOARD = AssetKey(["marts", "signal_dashboard"])
# Columns every raw table carries besides its own; the data's day is its first other DATE column.
RECORD_DATE_COLUMNS = ("window_start", "window_end")
# Tables of events rather than days: the latest row may legitimately be as old as the event's cadence.
# A difficulty retarget comes every 2,016 blocks (14 days at the 10-minute target; 16 allows slow epochs).
EVENT_CADENCE_DAYS = {"mining_difficulty_adjustments": 16}
LIVE_FRESHNESS_INTERVAL_S = 3600
IN_PROGRESS = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
               DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def build_sensors(raw_assets, transform_job):
    """Returns (sensors, freshness_checks)."""
    live = load_settings().mode == "live"
    raw_keys = [key for a in raw_assets for key in a.keys]
    freshness_checks = build_freshness_checks(raw_assets)
    return [
        build_transform_sensor(raw_keys, transform_job),
        alert_on_status_change,
        alert_on_failure,
        build_freshness_sensor(freshness_checks, live),
    ], freshness_checks


# ------------------------------------------------------------------------------------------------
# dbt follows the raw data
# ------------------------------------------------------------------------------------------------
def build_transform_sensor(raw_keys: list[AssetKey], transform_job):
    @sensor(
        name="transform_after_raw_load",
        job=transform_job,
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        description="Rebuilds the dbt models (up to signal_dashboard) when a raw asset was materialised after the "
        "dashboard's last build by a run that succeeded, however that run was launched (asset page, job, backfill, "
        "schedule). Waits while any run is in progress: DuckDB has one writer.",
    )
    def transform_after_raw_load(context: SensorEvaluationContext):
        return transform_request(context.instance, raw_keys)

    return transform_after_raw_load


def transform_request(instance, raw_keys: list[AssetKey]) -> RunRequest | SkipReason:
    """The decision of ``transform_after_raw_load``, on the instance's asset events and runs."""
    built = _latest_materialisation(instance, DASHBOARD)
    after = built.storage_id if built is not None else None
    newer = [r for key in raw_keys if (r := _latest_materialisation(instance, key, after)) is not None]
    if not newer:
        return SkipReason("the dashboard is newer than every raw materialisation")
    busy = instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS), limit=1)
    if busy:
        return SkipReason(f"run {busy[0].run_id} ({busy[0].job_name}) is in progress: waiting for it (one DuckDB writer)")
    runs = instance.get_runs(filters=RunsFilter(run_ids=sorted({r.run_id for r in newer})))
    succeeded = {run.run_id for run in runs if run.status == DagsterRunStatus.SUCCESS}
    landed = [r for r in newer if r.run_id in succeeded]
    if not landed:
        return SkipReason("the raw materialisations since the last dashboard build come from runs that failed "
                          "(a blocking check failed?): the dashboard keeps its last good state")
    newest = max(landed, key=lambda r: r.storage_id)
    return RunRequest(
        run_key=f"raw-event-{newest.storage_id}",  # one rebuild per new raw state, even if dbt then fails
        tags={"btc-signals/trigger": f"{newest.asset_key.to_user_string()} materialised by run {newest.run_id}"},
    )


def _latest_materialisation(instance, key: AssetKey, after_storage_id: int | None = None):
    result = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, after_storage_id=after_storage_id), limit=1, ascending=False
    )
    return result.records[0] if result.records else None


# ------------------------------------------------------------------------------------------------
# Alerts
# ------------------------------------------------------------------------------------------------
@asset_sensor(
    name="alert_on_status_change",
    asset_key=DASHBOARD,
    default_status=DefaultSensorStatus.RUNNING,
    description=f"After each build of marts/signal_dashboard, post the indicators whose status changed on its last "
    f"day to ${alerts.WEBHOOK_ENV} (logged when no webhook is set).",
)
def alert_on_status_change(context: SensorEvaluationContext, asset_event: EventLogEntry):
    settings = load_settings()
    changes = alerts.status_changes(settings.duckdb_path)
    if not changes:
        return SkipReason("no status changed on the dashboard's last day")
    payload = {"type": "status_change", "as_of_date": changes[0]["as_of_date"], "changes": changes,
               "run_id": asset_event.run_id}
    context.log.info(alerts.format_text(payload))
    url = alerts.webhook_url()
    if url is None:
        return SkipReason(f"{len(changes)} change(s) logged; no webhook configured (${alerts.WEBHOOK_ENV})")
    if not alerts.post(url, payload):
        return SkipReason(f"webhook {alerts.describe_url(url)} did not accept the alert")
    return None


@run_failure_sensor(
    name="alert_on_failure",
    default_status=DefaultSensorStatus.RUNNING,
    description=f"When any run of this code location fails (a blocking check failed, a source is down, a dbt test "
    f"failed), post it with its failed checks to ${alerts.WEBHOOK_ENV}.",
)
def alert_on_failure(context: RunFailureSensorContext):
    failed_checks = []
    for record in context.instance.all_logs(context.dagster_run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if isinstance(evaluation, AssetCheckEvaluation) and not evaluation.passed:
            failed_checks.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    payload = {
        "type": "run_failure",
        "job": context.dagster_run.job_name,
        "run_id": context.dagster_run.run_id,
        "failed_checks": failed_checks,
        "error": (context.failure_event.message or "")[:500],
    }
    context.log.warning(alerts.format_text(payload))
    url = alerts.webhook_url()
    if url is not None:
        alerts.post(url, payload)


# ------------------------------------------------------------------------------------------------
# Freshness: the day the data describes, not when it was loaded
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Freshness:
    table: str
    latest_day: date | None
    expected_day: date       # the latest day that must be loaded by now
    now: datetime
    allowed: timedelta       # after the day closes (00:00 UTC the next day)

    @property
    def late(self) -> bool:
        return self.latest_day is None or self.latest_day < self.expected_day


def reference_now(settings: Settings) -> datetime:
    """Live: the wall clock. Replay: the instant the bundled window's last day closed."""
    if settings.mode == "replay":
        _, last = replay_window(settings)
        return datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return datetime.now(tz=UTC)


def judge_freshness(table: str, latest_day: date | None, now: datetime, allowed: timedelta) -> Freshness:
    """Day D is due once D has closed (D+1 00:00 UTC) and the allowed lateness has passed."""
    due_by = now - allowed  # a day whose close (D+1 00:00 UTC) is at or before this must be there
    expected = due_by.date() - timedelta(days=1)
    return Freshness(table, latest_day, expected, now, allowed)


def latest_data_day(con, table: str) -> date | None:
    """max() of the table's data-day column: its first DATE column that is not a request-window column."""
    columns = [
        name
        for name, in con.execute(
            """select column_name from information_schema.columns
               where table_schema = 'raw' and table_name = ? and data_type = 'DATE' order by ordinal_position""",
            [table],
        ).fetchall()
        if name not in RECORD_DATE_COLUMNS
    ]
    if not columns:
        raise LookupError(f"raw.{table} does not exist yet (never loaded)")
    return con.execute(f'select max("{columns[0]}") from raw."{table}"').fetchone()[0]


def allowed_lateness(group: str, table: str) -> timedelta:
    hours = PUBLICATION.get(group, DEFAULT_PUBLICATION).max_lateness_hours
    return timedelta(hours=hours) + timedelta(days=EVENT_CADENCE_DAYS.get(table, 0))


def build_freshness_checks(raw_assets):
    checks = []
    for group, assets in source_groups(raw_assets).items():
        pub = PUBLICATION.get(group, DEFAULT_PUBLICATION)
        for assets_def in assets:
            for key in assets_def.keys:
                checks.append(_freshness_check(key, group, pub.note))
    return checks


def _freshness_check(key: AssetKey, group: str, note: str):
    table = key.path[-1]
    allowed = allowed_lateness(group, table)
    cadence = EVENT_CADENCE_DAYS.get(table)
    why = f"{note}" + (f"; a new row comes only every {cadence} days at most" if cadence else "")

    @asset_check(
        asset=key,
        name="data_is_fresh",
        blocking=False,
        description=f"Is the latest day in raw.{table} (the day the data describes, not when it was loaded) recent? "
        f"Late when the newest day is older than its close (00:00 UTC the next day) plus "
        f"{allowed.total_seconds() / 3600:,.0f} h ({why}). Replay mode judges against the bundled window's last day.",
    )
    def data_is_fresh(duckdb: DuckDBResource) -> AssetCheckResult:
        now = reference_now(load_settings())
        try:
            with duckdb.get_connection() as con:
                latest = latest_data_day(con, table)
        except LookupError as exc:
            return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, description=str(exc),
                                    metadata={"latest_day": "none"})
        verdict = judge_freshness(table, latest, now, allowed)
        lag_days = (verdict.expected_day - latest).days if latest else None
        text = (
            f"raw.{table}: latest day {latest or 'none'}, due by now: {verdict.expected_day}"
            + (f" — late by {lag_days} day(s)" if verdict.late and lag_days is not None else " — fresh" if not verdict.late else "")
        )
        return AssetCheckResult(
            passed=not verdict.late,
            severity=AssetCheckSeverity.WARN,
            description=text,
            metadata={
                "latest_day": str(latest) if latest else "none",
                "due_day": str(verdict.expected_day),
                "judged_at": now.isoformat(timespec="minutes"),
                "allowed_lateness_hours": allowed.total_seconds() / 3600,
            },
        )

    return data_is_fresh


def build_freshness_sensor(freshness_checks, live: bool):
    job = define_asset_job(
        "freshness_checks_job",
        selection=AssetSelection.checks(*freshness_checks),
        description="The data_is_fresh check of every raw asset (reads only).",
    )

    @sensor(
        name="freshness_checks_sensor",
        job=job,
        minimum_interval_seconds=LIVE_FRESHNESS_INTERVAL_S,
        default_status=DefaultSensorStatus.RUNNING if live else DefaultSensorStatus.STOPPED,
        description="Hourly in live mode: runs every raw asset's data_is_fresh check, so a source that stopped "
        "publishing shows up late even when no load runs. Stopped in replay mode: the bundled data does not move "
        "(the checks also run with every raw load). Waits while any run is in progress (one DuckDB writer).",
    )
    def freshness_checks_sensor(context: SensorEvaluationContext):
        busy = context.instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS), limit=1)
        if busy:
            return SkipReason(f"run {busy[0].run_id} is in progress: checking after it")
        return RunRequest(run_key=None)

    return freshness_checks_sensor
