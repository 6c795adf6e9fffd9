"""One daily partitioning shared by every raw source, from the ETFs' first trading day.

Live mode: the partitions run to yesterday (UTC), the last day that has closed. Replay mode: they end
at the bundled dataset's last day, so after `make run` the UI shows every partition loaded instead
of months that no replay data can ever fill.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from dagster import DailyPartitionsDefinition

from pipelines.settings import Settings, load_settings

HISTORY_START = "2024-01-11"


def replay_window(settings: Settings | None = None) -> tuple[date, date]:
    """First and last day (inclusive) the bundled replay dataset covers."""
    settings = settings or load_settings()
    manifest = json.loads((settings.replay_dir / "manifest.json").read_text())
    return date.fromisoformat(manifest["window_start"]), date.fromisoformat(manifest["window_end"])


def build_daily_partitions(settings: Settings | None = None) -> DailyPartitionsDefinition:
    settings = settings or load_settings()
    if settings.mode == "replay":
        _, last_day = replay_window(settings)
        # end_date is exclusive: the day after the window's last day.
        return DailyPartitionsDefinition(start_date=HISTORY_START, end_date=(last_day + timedelta(days=1)).isoformat())
    return DailyPartitionsDefinition(start_date=HISTORY_START, end_offset=0)


daily_partitions = build_daily_partitions()
