"""One partitioned job and schedule per source group, timed to when each source publishes.

Each schedule targets the last *complete* daily partition (yesterday, UTC), so the run for
day D happens after D has closed and the source has published it. Schedules are on by default in
live mode; in replay mode (the bundled dataset ends in Feb 2026) they are defined but stopped.
"""

from __future__ import annotations

from dagster import (
    AssetsDefinition,
    AssetSelection,
    DefaultScheduleStatus,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

from pipelines.landing.tables import DEFAULT_PUBLICATION, publication_by_group  # noqa: F401  (sensors import it from here)
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


def build_source_jobs_and_schedules(raw_assets: list[AssetsDefinition]):
    live = load_settings().mode == "live"
    jobs, schedules = [], []
    for group, assets in source_groups(raw_assets).items():
        pub = PUBLICATION.get(group, DEFAULT_PUBLICATION)
        job = define_asset_job(
            f"{group}_job",
            selection=AssetSelection.assets(*assets),
            description=f"Raw {group} for the selected partition(s), with their blocking checks. Published: {pub.note}.",
        )
        jobs.append(job)
        schedules.append(
            build_schedule_from_partitioned_job(
                job,
                name=f"{group}_daily",
                hour_of_day=pub.hour_utc,
                minute_of_hour=pub.minute,
                description=f"Loads yesterday's {group} partition at {pub.hour_utc:02d}:{pub.minute:02d} UTC ({pub.note})."
                + ("" if live else replay_stopped_note()),
                default_status=DefaultScheduleStatus.RUNNING if live else DefaultScheduleStatus.STOPPED,
            )
        )
    return jobs, schedules
