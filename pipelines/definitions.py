"""The one Definitions object of the btc-signals code location.

The raw assets are listed here by their declarations: each group module's ``RAW_ASSETS`` (a table declared in
pipelines/landing/tables.py with its fetch and expectations), built by one factory (pipelines/ingest/factory.py).
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from pipelines.assets import dbt as dbt_assets_module
from pipelines.assets.report import daily_report
from pipelines.ingest import btc_price, derivatives, etf_flows, macro, mining, options
from pipelines.ingest.factory import build
from pipelines.resources import build_resources
from pipelines.schedules import build_source_jobs_and_schedules
from pipelines.sensors import build_sensors

RAW_ASSET_SPECS = [
    *btc_price.RAW_ASSETS,
    *etf_flows.RAW_ASSETS,
    *derivatives.RAW_ASSETS,
    *options.RAW_ASSETS,
    *mining.RAW_ASSETS,
    *macro.RAW_ASSETS,
]
built = [build(spec) for spec in RAW_ASSET_SPECS]
raw_assets = [asset for asset, _ in built]
raw_checks = [check for _, check in built]

# Partitioned by month: run for some days, a month, or a range of months as a single run (one request window per source).
raw_sources_job = define_asset_job(
    "raw_sources_job",
    selection=AssetSelection.assets(*raw_assets),
    description="Every raw source for the selected month(s), or the days of its day tags (btc-signals/first_day, "
                "btc-signals/last_day), with their blocking quality checks.",
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
