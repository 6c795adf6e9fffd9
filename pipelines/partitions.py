"""One monthly partitioning shared by every raw source, and the days a run loads inside it.

Why months, not days (measured in docs/operations.md, "Partition design"): Dagster's bookkeeping costs
≈ 24 ms of CPU per (asset, partition) event; 12 raw assets × 780 daily partitions made a cold build of
≈ 220 CPU-s before any data moved. Monthly partitions: 26 per asset, ≈ 12 CPU-s.

What a run loads is the partition window (a month, or a range of months as ONE run:
``BackfillPolicy.single_run``), optionally narrowed to days by two run tags, :data:`FIRST_DAY_TAG` and
:data:`LAST_DAY_TAG` (inclusive). The daily schedules use them to load only the day that just closed into
its month's partition; ``btc-signals run --start D --end D`` does the same; in the UI, a user may add them
to a launch of a partition. Without them a run loads its whole months. The materialisation's metadata
says which days of the month the table holds (``days_loaded_by_month``).

Live mode: the partitions run to the current (partial) month. Replay mode: they end with the bundled
dataset's last month, so after `make run` the UI shows every partition loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from dagster import MonthlyPartitionsDefinition

from pipelines.settings import Settings, load_settings

HISTORY_START = "2024-01-11"  # the spot ETFs' first trading day: no raw table holds an earlier day
PARTITIONS_START = "2024-01-01"  # the first month
FIRST_DAY_TAG = "btc-signals/first_day"
LAST_DAY_TAG = "btc-signals/last_day"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


class RunDaysError(ValueError):
    """The run's day tags are malformed or outside the partitions it runs. One line."""


def replay_window(settings: Settings | None = None) -> tuple[date, date]:
    """First and last day (inclusive) the bundled replay dataset covers (its manifest, read by the replay
    transport, which names the file and the problem when it is malformed)."""
    from pipelines.replay.transport import dataset_window

    return dataset_window((settings or load_settings()).replay_dir)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def partition_key(day: date) -> str:
    """The key of the monthly partition holding ``day`` (the month's first day, ISO)."""
    return month_of(day).isoformat()


def build_raw_partitions(settings: Settings | None = None) -> MonthlyPartitionsDefinition:
    settings = settings or load_settings()
    if settings.mode == "replay":
        _, last_day = replay_window(settings)
        # end_date is exclusive: the first day of the month after the window's last month. end_offset=1 as
        # live: a month is a partition while it is under way (a tick on 6 Feb 2026 targets February).
        return MonthlyPartitionsDefinition(start_date=PARTITIONS_START, end_date=next_month(last_day).isoformat(),
                                           end_offset=1)
    return MonthlyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1)  # the current month too


raw_partitions = build_raw_partitions()


def _day_range(first: date | str, last: date | str | None) -> tuple[date, date]:
    first = date.fromisoformat(first) if isinstance(first, str) else first
    last = first if last is None else date.fromisoformat(last) if isinstance(last, str) else last
    if last < first:
        raise RunDaysError(f"last day {last} is before first day {first}")
    return first, last


def day_tags(first: date | str, last: date | str | None = None) -> dict[str, str]:
    """The run tags narrowing a run to the days ``first``..``last`` (inclusive; default: ``first`` alone), for a
    run that already names its partition (a schedule's run request, a launch of one partition in the UI)."""
    first, last = _day_range(first, last)
    return {FIRST_DAY_TAG: first.isoformat(), LAST_DAY_TAG: last.isoformat()}


def days_tags(first: date | str, last: date | str | None = None) -> dict[str, str]:
    """Run tags loading the days ``first``..``last`` as one run over the months holding them: Dagster's partition
    range tags and :func:`day_tags`."""
    first, last = _day_range(first, last)
    return {RANGE_START_TAG: partition_key(first), RANGE_END_TAG: partition_key(last), **day_tags(first, last)}


def _tag_day(tags: Mapping[str, str], name: str) -> date | None:
    value = tags.get(name)
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RunDaysError(f"run tag {name}={value!r} is not a date (YYYY-MM-DD)") from None


def run_days(partition_window: tuple[date, date], tags: Mapping[str, str]) -> tuple[date, date]:
    """The window [start, end) a run loads: its partitions' window, narrowed by the day tags if present.
    A day tag outside the partitions run is refused (it would silently load nothing, or the wrong month)."""
    start, end = partition_window
    first, last = _tag_day(tags, FIRST_DAY_TAG), _tag_day(tags, LAST_DAY_TAG)
    for name, day in ((FIRST_DAY_TAG, first), (LAST_DAY_TAG, last)):
        if day is not None and not start <= day < end:
            raise RunDaysError(f"run tag {name}={day} is outside the partitions of this run "
                               f"({start} .. {end - timedelta(days=1)})")
    lo = first or start
    hi = last + timedelta(days=1) if last else end
    if hi <= lo:
        raise RunDaysError(f"run tags {FIRST_DAY_TAG}={lo} and {LAST_DAY_TAG}={hi - timedelta(days=1)}: an empty window")
    return lo, hi
