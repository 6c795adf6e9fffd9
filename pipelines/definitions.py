"""The one Definitions object of the btc-signals code location."""

from __future__ import annotations

import importlib
import pkgutil

from dagster import (
    AssetSelection,
    Definitions,
    define_asset_job,
    in_process_executor,
    load_asset_checks_from_modules,
    load_assets_from_modules,
)

import pipelines.assets
from pipelines.assets import dbt as dbt_assets_module
from pipelines.assets.report import daily_report
from pipelines.resources import build_resources
from pipelines.schedules import build_source_jobs_and_schedules
from pipelines.sensors import build_sensors

# Every module in pipelines/assets/ except these holds one source's raw assets and their checks.
NOT_SOURCE_MODULES = {"dbt", "common", "report"}
SOURCE_MODULES = [
    importlib.import_module(f"pipelines.assets.{m.name}")
    for m in pkgutil.iter_modules(pipelines.assets.__path__)
    if m.name not in NOT_SOURCE_MODULES
]

raw_assets = load_assets_from_modules(SOURCE_MODULES)
raw_checks = load_asset_checks_from_modules(SOURCE_MODULES)

# Partitioned: run for one day, or for a range as a single run (one request window per source).
raw_sources_job = define_asset_job(
    "raw_sources_job",
    selection=AssetSelection.assets(*raw_assets),
    description="Every raw source for the selected partition(s), with their blocking quality checks.",
)
# Unpartitioned: dbt rebuilds staging, intermediate and marts from the whole raw landing.
transform_job = define_asset_job(
    "transform_job",
    selection=AssetSelection.assets(dbt_assets_module.btc_signals_dbt, daily_report),
    description="dbt build: seeds, models and tests, up to the signal dashboard; then the daily report.",
)

source_jobs, source_schedules = build_source_jobs_and_schedules(raw_assets)
sensors, freshness_checks = build_sensors(raw_assets, transform_job)

defs = Definitions(
    assets=[*raw_assets, dbt_assets_module.btc_signals_dbt, daily_report],
    asset_checks=[*raw_checks, *freshness_checks],
    jobs=[raw_sources_job, transform_job, *source_jobs],
    schedules=source_schedules,
    sensors=sensors,
    resources=build_resources(),
    executor=in_process_executor,
)
