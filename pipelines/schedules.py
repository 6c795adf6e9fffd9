"""One partitioned job and schedule per source group, timed to when each source publishes.

Each schedule targets the last *complete* daily partition (yesterday, UTC), so the run for
day D happens after D has closed and the source has published it. Schedules are on by default in
live mode; in replay mode (the bundled dataset ends in Feb 2026) they are defined but stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import (
    AssetsDefinition,
    AssetSelection,
    DefaultScheduleStatus,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

from pipelines.settings import load_settings


@dataclass(frozen=True)
class Publication:
    hour_utc: int
    minute: int
    note: str
    max_lateness_hours: int  # beyond this after the day closes, the source counts as late


# When each source group's day D is available, in UTC on D+1.
PUBLICATION = {
    "btc_price": Publication(0, 5, "the daily candle closes at 00:00 UTC", 26),
    "derivatives": Publication(0, 10, "exchanges close the day at 00:00 UTC", 26),
    "options": Publication(0, 15, "chain snapshot shortly after 00:00 UTC", 26),
    "mining": Publication(0, 20, "blocks of the day are final after 00:00 UTC", 30),
    "macro": Publication(1, 0, "after the US close (21:00 UTC) of day D", 96),  # weekends + holidays
    "etf_flows": Publication(13, 0, "issuers report the next US morning", 110),  # Friday's flows on Monday
}
DEFAULT_PUBLICATION = Publication(0, 30, "shortly after 00:00 UTC", 30)


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
