"""Resources, declared once: the DuckDB warehouse, the source transport (live/replay) and dbt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from pipelines.project import dbt_executable, dbt_project
from pipelines.settings import Settings, load_settings
from pipelines.sources.http import HOST_MIN_INTERVAL_S, HttpClient, RateLimiter
from pipelines.sources.replay import make_transport


class SourcesResource(ConfigurableResource):
    """How sources reach their APIs. ``mode`` is ``replay`` (bundled dataset) or ``live``.

    API keys are deliberately *not* config fields (config is shown in the UI and stored with
    runs): they are read from the environment when a client is made.
    """

    mode: str = "replay"
    replay_dir: str = ""
    # live mode only: send some hosts elsewhere, e.g. {"farside.co.uk": "http://127.0.0.1:8080"}
    # (a caching proxy, a recorder, or the fault-injection server of the tests).
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
        client = HttpClient(
            transport=make_transport(settings.mode, Path(settings.replay_dir), dict(self.redirects)),
            rate_limiter=limiter,
            secrets=settings.secrets,
        )
        try:
            yield client
        finally:
            client.close()


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    settings = settings or load_settings()
    return {
        "duckdb": DuckDBResource(database=str(settings.duckdb_path)),
        "sources": SourcesResource(mode=settings.mode, replay_dir=str(settings.replay_dir)),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable(), profiles_dir=str(dbt_project.project_dir)),
    }
