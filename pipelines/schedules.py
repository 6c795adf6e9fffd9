"""One partitioned job and schedule per source group, timed to when each source publishes.

Each schedule loads the last *complete* day (yesterday, UTC) into its monthly partition (the day tags of
pipelines/partitions.py), so the run for day D happens after D has closed and the source has published it,
and fetches that day only. Schedules are on by default in live mode; in replay mode (the bundled dataset
ends in Feb 2026) they are defined but stopped.
"""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    AssetsDefinition,
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from pipelines.landing.tables import DEFAULT_PUBLICATION, publication_by_group  # noqa: F401  (sensors import it from here)
from pipelines.partitions import day_tags, partition_key
from pipelines.settings import load_settings


# When each source group's day D is available (UTC on D+1) and how late it may be: read from the table
# declarations (pipelines/landing/tables.py), the one source of truth.
PUBLICATION = publication_by_group()


def source_groups(raw_assets: list[AssetsDefinition]) -> dict[str, list[AssetsDefinition]]:
    groups: dict[str, list[AssetsDefinition]] = {}
    for a in raw_assets:
        for key in a.keys:
            groups.setdefault(a.group_names_by_key[key], [])
        groups[a.group_names_by_key[next(iter(a.keys))]].append(a)
    return dict(sorted(groups.items()))


def replay_stopped_note() -> str:
    """Why a schedule is off in replay mode, for its description in the UI."""
    from pipelines.partitions import replay_window

    start, end = replay_window()
    return (
        f" Stopped in replay mode: the bundled dataset covers {start} .. {end} and gains no new day, so a daily load"
        " has nothing to fetch; `make run` or a backfill loads the whole window. With BTC_SIGNALS_MODE=live it runs."
    )


def daily_schedule(job, group: str, hour: int, minute: int, description: str, status: DefaultScheduleStatus):
    """At hour:minute UTC on D+1: load day D into the partition of D's month (the day tags narrow the run)."""

    @schedule(name=f"{group}_daily", job=job, cron_schedule=f"{minute} {hour} * * *", execution_timezone="UTC",
              description=description, default_status=status)
    def _daily(context: ScheduleEvaluationContext) -> RunRequest:
        day = context.scheduled_execution_time.date() - timedelta(days=1)
        return RunRequest(run_key=day.isoformat(), partition_key=partition_key(day), tags=day_tags(day))

    return _daily


def build_source_jobs_and_schedules(raw_assets: list[AssetsDefinition]):
    live = load_settings().mode == "live"
    jobs, schedules = [], []
    for group, assets in source_groups(raw_assets).items():
        pub = PUBLICATION.get(group, DEFAULT_PUBLICATION)
        job = define_asset_job(
            f"{group}_job",
            selection=AssetSelection.assets(*assets),
            description=f"Raw {group} for the selected month(s), or the days of its day tags, with their blocking "
                        f"checks. Published: {pub.note}.",
        )
        jobs.append(job)
        schedules.append(daily_schedule(
            job, group, pub.hour_utc, pub.minute,
            f"Loads yesterday's {group} day into its month's partition at {pub.hour_utc:02d}:{pub.minute:02d} UTC "
            f"({pub.note})." + ("" if live else replay_stopped_note()),
            DefaultScheduleStatus.RUNNING if live else DefaultScheduleStatus.STOPPED,
        ))
    return jobs, schedules
