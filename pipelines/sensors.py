"""Sensors: dbt follows the raw data; alerts on status changes and failed checks; freshness checks."""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    AssetCheckEvaluation,
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunStatusSensorContext,
    SkipReason,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
    run_failure_sensor,
    run_status_sensor,
)

from pipelines import alerts
from pipelines.schedules import DEFAULT_PUBLICATION, PUBLICATION, source_groups
from pipelines.settings import load_settings


def build_sensors(raw_assets, raw_jobs, transform_job):
    live = load_settings().mode == "live"

    @run_status_sensor(
        name="transform_after_raw_load",
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=raw_jobs,
        request_job=transform_job,
        default_status=DefaultSensorStatus.RUNNING,
        description="After any raw source run succeeds, rebuild the dbt models so the dashboard reflects the new data.",
    )
    def transform_after_raw_load(context: RunStatusSensorContext):
        return RunRequest(run_key=f"after-{context.dagster_run.run_id}", tags={"btc-signals/trigger": context.dagster_run.job_name})

    @run_status_sensor(
        name="alert_on_status_change",
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[transform_job],
        default_status=DefaultSensorStatus.RUNNING,
        description=f"After the dashboard is rebuilt, post the indicators whose status changed to ${alerts.WEBHOOK_ENV}.",
    )
    def alert_on_status_change(context: RunStatusSensorContext):
        settings = load_settings()
        changes = alerts.status_changes(settings.duckdb_path)
        if not changes:
            return SkipReason("no status changed on the dashboard's last day")
        payload = {"type": "status_change", "as_of_date": changes[0]["as_of_date"], "changes": changes,
                   "run_id": context.dagster_run.run_id}
        context.log.info(alerts.format_text(payload))
        url = alerts.webhook_url()
        if url is None:
            return SkipReason(f"{len(changes)} change(s) logged; no webhook configured (${alerts.WEBHOOK_ENV})")
        if not alerts.post(url, payload):
            return SkipReason(f"webhook {alerts.describe_url(url)} did not accept the alert")
        return None

    @run_failure_sensor(
        name="alert_on_failure",
        monitored_jobs=[*raw_jobs, transform_job],
        default_status=DefaultSensorStatus.RUNNING,
        description=f"When a run fails (a blocking check failed, a source is down, a dbt test failed), post to ${alerts.WEBHOOK_ENV}.",
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

    freshness_checks = []
    for group, assets in source_groups(raw_assets).items():
        pub = PUBLICATION.get(group, DEFAULT_PUBLICATION)
        freshness_checks.extend(
            build_last_update_freshness_checks(assets=assets, lower_bound_delta=timedelta(hours=pub.max_lateness_hours))
        )
    freshness_sensor = build_sensor_for_freshness_checks(
        freshness_checks=freshness_checks,
        default_status=DefaultSensorStatus.RUNNING if live else DefaultSensorStatus.STOPPED,
    )
    return [transform_after_raw_load, alert_on_status_change, alert_on_failure, freshness_sensor], freshness_checks
