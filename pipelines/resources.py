"""Resources, declared once: the DuckDB warehouse, the source transport (live/replay) and dbt.

:class:`SourcesResource` is the one place that knows the mode: it makes the HTTP client over the right transport,
and answers the questions whose answer depends on it (which days a window may cover, which days a source has
published by now, which days a current-state endpoint can be snapshotted for), so no asset tests the mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from pipelines.landing.tables import Publication, RawTable
from pipelines.landing.window import check_window
from pipelines.project import dbt_executable, dbt_project
from pipelines.replay import deribit as deribit_replay
from pipelines.replay import mempool as mempool_replay
from pipelines.replay.transport import dataset_window, make_transport
from pipelines.settings import Settings, load_settings
from pipelines.sources.http import HOST_MIN_INTERVAL_S, HttpClient, RateLimiter

# Current-state endpoints: the days the replay dataset can answer for (live: only the day that just closed).
SNAPSHOT_RANGES = {"deribit_chain": deribit_replay.snapshot_range, "mempool_estimate": mempool_replay.estimate_range}


class SourcesResource(ConfigurableResource):
    """How sources reach their APIs. ``mode`` is ``replay`` (bundled dataset) or ``live``.

    API keys are deliberately *not* config fields (config is shown in the UI and stored with
    runs): they are read from the environment when a client is made.
    """

    mode: str = "replay"
    replay_dir: str = ""
    # live mode only: send some hosts elsewhere, e.g. {"farside.co.uk": "http://127.0.0.1:8080"}
    # (a caching proxy, a recorder, the fault-injection server of the tests); added to BTC_SIGNALS_LIVE_REDIRECTS.
    redirects: dict[str, str] = {}

    def settings(self) -> Settings:
        env = dict(os.environ)
        env["BTC_SIGNALS_MODE"] = self.mode
        if self.replay_dir:
            env["BTC_SIGNALS_REPLAY_DIR"] = self.replay_dir
        return load_settings(env)

    @contextmanager
    def http(self) -> Iterator[HttpClient]:
        settings = self.settings()
        limiter = RateLimiter(HOST_MIN_INTERVAL_S if settings.mode == "live" else {})
        redirects = {**settings.redirects, **dict(self.redirects)}
        client = HttpClient(
            transport=make_transport(settings.mode, Path(settings.replay_dir), redirects),
            rate_limiter=limiter,
            secrets=settings.secrets,
        )
        try:
            yield client
        finally:
            client.close()

    def now(self) -> datetime:
        """The run's clock: the wall clock live; the close of the dataset's last day in replay."""
        if self.mode == "live":
            return datetime.now(tz=UTC)
        last = dataset_window(Path(self.settings().replay_dir))[1]
        return datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)

    def last_day(self) -> tuple[date, str]:
        """The last day a window may hold, and why."""
        if self.mode == "live":
            return datetime.now(tz=UTC).date(), "live: today, UTC"
        return dataset_window(Path(self.settings().replay_dir))[1], "replay: the bundled dataset ends there"

    def check_window(self, table: RawTable, window: tuple[date, date]) -> tuple[date, date]:
        """The window clipped to the days the source can have; a window wholly outside them is refused."""
        last, why = self.last_day()
        return check_window(table, window, last, why)

    def published_until(self, publication: Publication) -> date:
        """The last day D a source has published by now (D + 1 at its publication time)."""
        now = self.now()
        ready = now - timedelta(hours=publication.hour_utc, minutes=publication.minute)
        return ready.date() - timedelta(days=1)

    def snapshot_days(self, window: tuple[date, date], endpoint: str,
                      now: datetime | None = None) -> tuple[list[date], str]:
        """The days of ``window`` a current-state ``endpoint`` can be snapshotted for, and why not the others."""
        start, end = window
        days = [start + timedelta(days=i) for i in range((end - start).days)]
        if self.mode == "live":
            just_closed = (now or datetime.now(tz=UTC)).date() - timedelta(days=1)
            return [d for d in days if d == just_closed], (
                f"live: the server serves only the current state, so only {just_closed} (closed at 00:00 UTC "
                "today) can be snapshotted by this run")
        first, last = SNAPSHOT_RANGES[endpoint](Path(self.settings().replay_dir))
        return [d for d in days if first <= d <= last], (
            f"replay dataset holds daily snapshots from {first} to {last}; the server serves only the current state")


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    settings = settings or load_settings()
    return {
        "duckdb": DuckDBResource(database=str(settings.duckdb_path)),
        "sources": SourcesResource(mode=settings.mode, replay_dir=str(settings.replay_dir)),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable(), profiles_dir=str(dbt_project.project_dir)),
    }
