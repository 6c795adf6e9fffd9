"""One factory: a raw asset and its blocking Great Expectations check, built from a table declaration.

A group module (pipelines/ingest/<group>.py) gives, per table, a :class:`RawAsset`: the declaration
(pipelines/landing/tables.py), its fetch (a generator of :class:`~pipelines.landing.load.Part` s: the client calls
and parsers of pipelines/sources/), its expectations and any extra metadata. Everything else is here, once: the
partition window and its check, the landing (archive → parse → refuse partial answers → replace the window in
one transaction), the standard metadata, and the check's standard expectations (not empty, one row per key,
``is_derived`` set).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from dagster_duckdb import DuckDBResource

from pipelines.landing.load import Landed, Part, ensure_table, land
from pipelines.landing.tables import RawTable
from pipelines.partitions import next_month, raw_partitions, run_days
from pipelines.quality import run_suite
from pipelines.resources import SourcesResource
from pipelines.settings import Settings, load_settings


class NoConfig(Config):
    """This raw asset takes no configuration."""


@dataclass
class Fetch:
    """What a group's fetch is given: the client, the keys, the checked window, its config, the run's log."""

    http: Any
    settings: Settings
    window: tuple[date, date]
    config: Config
    log: Any
    sources: SourcesResource
    days: list[date] = field(default_factory=list)  # snapshot tables: the days to snapshot
    notes: list[str] = field(default_factory=list)  # fallback reasons, shown as run metadata

    @property
    def last_inclusive(self) -> date:
        return date.fromordinal(self.window[1].toordinal() - 1)


Batch = tuple[str, Any, list[Any]]


@dataclass(frozen=True)
class RawAsset:
    table: RawTable
    fetch: Callable[[Fetch], Iterable[Part]]
    check_description: str
    expectations: Callable[[], list[Any]] = list  # group-specific, on the "records" batch
    records_sql: str = "select * exclude (payload) from raw.{table}"
    extra_batches: Callable[[Any], list[Batch]] | None = None  # (con) -> more batches
    metadata: Callable[[Landed, Fetch], dict[str, Any]] | None = None
    config: type[Config] = NoConfig
    snapshot: str | None = None  # a current-state endpoint: only the days it can be snapshotted for are landed
    not_empty: bool = True  # False: an empty table passes with a note (e.g. liquidations without a key)
    empty_note: str = "nothing to validate"


def _window(context: AssetExecutionContext) -> tuple[date, date]:
    """The run's partitions (a month or a range of months), narrowed to days by the run's day tags."""
    tw = context.partition_time_window
    return run_days((tw.start.date(), tw.end.date()), context.run.tags)


def days_loaded_by_month(con, table: RawTable, window: tuple[date, date]) -> MetadataValue:
    """Per month the run touched: how many days raw.<table> now holds, and its first and last day (the
    UI's partition view shows months; this says which days inside them are loaded)."""
    dc = table.date_column
    rows = con.execute(
        f"""select strftime(date_trunc('month', {dc}), '%Y-%m') as month, count(distinct {dc}::date),
                   min({dc})::date, max({dc})::date
            from raw.{table.name} where {dc} >= date_trunc('month', ?::date) and {dc} < ? group by 1 order by 1""",
        [window[0], next_month(window[1] - timedelta(days=1))]).fetchall()
    return MetadataValue.md("| month | days loaded | first | last |\n|---|---|---|---|\n"
                            + "\n".join(f"| {m} | {n} | {a} | {b} |" for m, n, a, b in rows))


def standard_metadata(landed: Landed, fetch: Fetch, mode: str) -> dict[str, Any]:
    frame, dc = landed.frame, landed.table.date_column
    return {
        "mode": mode,
        "window": f"{landed.window[0]} .. {landed.window[1]} (exclusive)",
        "rows": frame.height,
        "sources": MetadataValue.json(landed.sources),
        "first_date": str(frame[dc].min()) if frame.height else "none",
        "last_date": str(frame[dc].max()) if frame.height else "none",
        "derived_rows": int(frame["is_derived"].sum()) if frame.height else 0,
        "fallback_reasons": MetadataValue.json(fetch.notes),
    }


def _materialize(spec: RawAsset, context: AssetExecutionContext, config: Config, duckdb: DuckDBResource,
                 sources: SourcesResource) -> MaterializeResult:
    table = spec.table
    window = sources.check_window(table, _window(context))  # before anything is fetched
    days: list[date] = []
    reason, skipped = None, 0
    if spec.snapshot:
        days, why = sources.snapshot_days(window, spec.snapshot)
        context.log.info(f"raw.{table.name}: {len(days)} day(s) to snapshot ({why})")
        if not days:
            with duckdb.get_connection() as con:
                ensure_table(con, table)
            return MaterializeResult(metadata={"mode": sources.mode, "rows": 0, "snapshots": 0, "no_snapshot_reason": why,
                                               "days_without_snapshot": (window[1] - window[0]).days})
        reason = why
        skipped = (window[1] - window[0]).days - len(days)
        window = (days[0], date.fromordinal(days[-1].toordinal() + 1))  # replace only the days snapshotted
    with sources.http() as http, duckdb.get_connection() as con:
        fetch = Fetch(http, sources.settings(), window, config, context.log, sources, days)
        landed = land(con, http, table, window, lambda: spec.fetch(fetch), run_id=context.run.run_id,
                      published_until=sources.published_until(table.publication), log=context.log)
        by_month = days_loaded_by_month(con, table, window)
    metadata = {**standard_metadata(landed, fetch, sources.mode), "days_loaded_by_month": by_month}
    if reason is not None:
        metadata.update(snapshots=len(days), days_without_snapshot=skipped, no_snapshot_reason=reason)
    if spec.metadata is not None:
        metadata.update(spec.metadata(landed, fetch))
    return MaterializeResult(metadata=metadata)


def _standard_expectations(table: RawTable, not_empty: bool) -> list[Any]:
    import great_expectations.expectations as gxe

    keys = list(table.key_columns)
    unique = (gxe.ExpectColumnValuesToBeUnique(column=keys[0]) if len(keys) == 1
              else gxe.ExpectCompoundColumnsToBeUnique(column_list=keys))
    return [
        *([gxe.ExpectTableRowCountToBeBetween(min_value=1)] if not_empty else []),
        unique,
        gxe.ExpectColumnValuesToNotBeNull(column="is_derived"),
    ]


def _check(spec: RawAsset, duckdb: DuckDBResource) -> AssetCheckResult:
    table = spec.table
    with duckdb.get_connection() as con:
        ensure_table(con, table)
        rows = con.sql(spec.records_sql.format(table=table.name)).df()
        extra = spec.extra_batches(con) if spec.extra_batches else []
    if not spec.not_empty and rows.empty:
        return AssetCheckResult(passed=True, description=f"raw.{table.name} is empty: {spec.empty_note}",
                                metadata={"rows_validated": 0})
    records = ("records", rows, [*_standard_expectations(table, spec.not_empty), *spec.expectations()])
    return run_suite(f"raw_{table.name}", [records, *extra])


def freshness_policy(table: RawTable) -> FreshnessPolicy | None:
    """Dagster's freshness policy for a raw asset, live mode only. The daily schedule loads every raw asset once
    a day, so it warns when the last materialisation is over 25 h old (a day's run missed or late) and fails
    beyond the declaration's allowed lag (``max_lag_days``, plus the hour). The UI's asset health shows it.
    Replay: none, because the bundled dataset gains no day and a `make run` a week ago is not late. The
    data_is_fresh checks (pipelines/sensors.py) judge the day the data describes, in both modes."""
    if load_settings().mode != "live":
        return None
    warn, fail = timedelta(hours=25), timedelta(hours=24 * table.publication.max_lag_days + 1)
    return FreshnessPolicy.time_window(fail_window=fail, warn_window=warn if warn < fail else None)


_BUILT: dict[str, tuple[AssetsDefinition, AssetChecksDefinition]] = {}


def build(spec: RawAsset) -> tuple[AssetsDefinition, AssetChecksDefinition]:
    """The raw asset ``raw/<table>`` and its blocking check ``raw_<table>_gx`` (built once per table)."""
    table = spec.table
    if table.name in _BUILT:
        return _BUILT[table.name]
    config_class = spec.config

    def raw_asset(context: AssetExecutionContext, config: config_class, duckdb: DuckDBResource,
                  sources: SourcesResource) -> MaterializeResult:
        return _materialize(spec, context, config, duckdb, sources)

    raw_asset.__name__ = f"raw_{table.name}"  # the op (step) name, as when written by hand
    raw_asset = asset(key=["raw", table.name], partitions_def=raw_partitions,
                      backfill_policy=BackfillPolicy.single_run(), group_name=table.group, kinds={"duckdb", "polars"},
                      owners=["team:btc-signals"], description=table.description,
                      freshness_policy=freshness_policy(table))(raw_asset)

    @asset_check(asset=raw_asset, name=f"raw_{table.name}_gx", blocking=True, description=spec.check_description)
    def raw_check(duckdb: DuckDBResource) -> AssetCheckResult:
        return _check(spec, duckdb)

    _BUILT[table.name] = raw_asset, raw_check
    return raw_asset, raw_check


def frame_or_empty(frames: list[pl.DataFrame], table: RawTable) -> pl.DataFrame:
    return pl.concat(frames) if frames else table.frame([])


def daily_gaps(con, table: RawTable, by: tuple[str, ...] = ()) -> Batch:
    """A batch failing when a day between the first and last one present has no row (per ``by`` columns)."""
    import great_expectations.expectations as gxe

    dc, name = table.date_column, table.name
    sel = "".join(f"{k}, " for k in by)
    join = " and ".join([*(f"r.{k} = s.{k}" for k in by), f"r.{dc} = s.d"])
    frame = con.sql(
        f"""with spans as (select {sel}min({dc}) as lo, max({dc}) as hi from raw.{name}{' group by all' if by else ''}),
            spine as (select {sel}unnest(generate_series(lo, hi, interval 1 day))::date as d from spans)
            select count(*) as missing_days from spine as s anti join raw.{name} as r on {join}"""
    ).df()
    return "gaps", frame, [gxe.ExpectColumnValuesToBeBetween(column="missing_days", min_value=0, max_value=0)]
