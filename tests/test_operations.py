"""Schedules, the failure alert, and alerts posted to a webhook server on 127.0.0.1."""

import json
import shutil
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    build_run_status_sensor_context,
    build_schedule_context,
    materialize,
)

from pipelines.ingest.etf_flows import raw_etf_flows, raw_etf_flows_gx
from pipelines.definitions import defs
from pipelines.partitions import FIRST_DAY_TAG, LAST_DAY_TAG, days_tags
from pipelines.resources import SourcesResource, WarehouseResource
from pipelines.settings import REPLAY_DATA_DIR


class Webhook:
    """A real HTTP server on 127.0.0.1 that records the JSON bodies posted to it."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0KEN"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("schedule", "tick", "partition"),
    [
        ("etf_flows_daily", datetime(2026, 2, 6, 13, 0, tzinfo=timezone.utc), "2026-02-05"),
        ("btc_price_daily", datetime(2026, 2, 6, 0, 5, tzinfo=timezone.utc), "2026-02-05"),
    ],
)
def test_schedules_target_the_day_that_just_closed(schedule, tick, partition):
    sched = defs.resolve_schedule_def(schedule)
    with DagsterInstance.ephemeral() as instance:
        requests = sched.evaluate_tick(build_schedule_context(instance=instance, scheduled_execution_time=tick,
                                                        repository_def=defs.get_repository_def())).run_requests
    # the day's month is the partition; the day tags narrow the run to that day alone
    assert [(r.partition_key, r.tags[FIRST_DAY_TAG], r.tags[LAST_DAY_TAG]) for r in requests] == [
        (partition[:8] + "01", partition, partition)]


def last_run(instance, job_name, status=None):
    runs = [r for r in instance.get_runs() if r.job_name == job_name and (status is None or r.status == status)]
    return runs[0]


def status_context(instance, run, event_type):
    record = next(iter(instance.all_logs(run.run_id, of_type=event_type)))
    return build_run_status_sensor_context(
        sensor_name="test", dagster_event=record.dagster_event, dagster_instance=instance, dagster_run=run
    )


def test_failed_blocking_check_alert_names_the_check(tmp_path, monkeypatch):
    replay = tmp_path / "replay"
    shutil.copytree(REPLAY_DATA_DIR, replay)
    db = tmp_path / "w.duckdb"
    resources = {"duckdb": WarehouseResource(database=str(db)), "sources": SourcesResource(mode="replay", replay_dir=str(replay))}
    with DagsterInstance.ephemeral() as instance:
        assert materialize([raw_etf_flows, raw_etf_flows_gx], tags=days_tags("2026-02-05"), resources=resources, instance=instance).success
        # the next day's load lands a duplicate (day, issuer) row: the blocking GX check fails the run
        from pipelines.sources import farside as mod

        real = mod.parse_flow_table

        def with_duplicate(*args, **kwargs):
            frame = real(*args, **kwargs)
            extra = frame.filter((frame["flow_date"].cast(str) == "2026-02-06") & (frame["issuer"] == "IBIT"))
            return frame.vstack(extra)

        monkeypatch.setattr(mod, "parse_flow_table", with_duplicate)
        result = materialize([raw_etf_flows, raw_etf_flows_gx], tags=days_tags("2026-02-06"), resources=resources,
                             instance=instance, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        ctx = status_context(instance, run, DagsterEventType.RUN_FAILURE).for_run_failure()
        with Webhook() as hook:
            monkeypatch.setenv("BTC_SIGNALS_ALERT_WEBHOOK_URL", hook.url)
            defs.resolve_sensor_def("alert_on_failure")._run_status_sensor_fn(ctx)
    assert len(hook.received) == 1
    assert hook.received[0]["type"] == "run_failure"
    assert hook.received[0]["failed_checks"] == ["raw/etf_flows:raw_etf_flows_gx"]


def test_webhook_url_is_never_logged_in_full(caplog):
    from pipelines import alerts

    with Webhook() as hook, caplog.at_level("INFO"):
        assert alerts.post(hook.url, {"type": "run_failure", "job": "j", "run_id": "r", "failed_checks": []})
    assert "T0KEN" not in caplog.text and "127.0.0.1" in caplog.text
