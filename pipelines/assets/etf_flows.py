"""Spot bitcoin ETF net flows, total and per issuer: raw landing asset and its quality check."""


from datetime import date

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from dagster_duckdb import DuckDBResource
from pydantic import Field

from pipelines.assets.common import RAW_RECORD_COLUMNS, land_records, partition_window
from pipelines.calendar import trading_days
from pipelines.partitions import daily_partitions
from pipelines.quality import run_suite
from pipelines.resources import SourcesResource
from pipelines.settings import Settings
from pipelines.sources import coinglass, farside
from pipelines.sources.coinglass import TOTAL_ISSUER
from pipelines.sources.http import HttpClient, SourceError

TABLE = "etf_flows"
DDL = f"""
create schema if not exists raw;
create table if not exists raw.{TABLE} (
    flow_date     date not null,       -- US trading day the flow belongs to
    issuer        varchar not null,    -- ETF ticker, or TOTAL for the all-funds total the source reports
    net_flow_usd  double,              -- USD; null = the source has no figure (not launched, holiday)
    {RAW_RECORD_COLUMNS}
)
"""
SOURCES = ("auto", "coinglass", "farside")
MAX_ABS_DAILY_FLOW_USD = 5e9  # the largest day on record is about 1.4bn USD


class EtfFlowsConfig(Config):
    source: str = Field(
        default="auto",
        description="auto: CoinGlass when COINGLASS_API_KEY is set, else (or when CoinGlass fails) Farside; "
        "or force 'coinglass' / 'farside'.",
    )


def fetch_etf_flows(http: HttpClient, settings: Settings, choice: str, log) -> tuple[pl.DataFrame, str, str, list[str]]:
    """Return (frame, source, endpoint, notes) from the first source in the chain that works."""
    if choice not in SOURCES:
        raise ValueError(f"etf_flows source must be one of {SOURCES}, got {choice!r}")
    if choice == "auto":
        chain = ["coinglass", "farside"] if settings.coinglass_api_key else ["farside"]
    else:
        chain = [choice]
    notes: list[str] = []
    for i, name in enumerate(chain):
        try:
            if name == "coinglass":
                records = coinglass.CoinGlassClient(http, settings.coinglass_api_key).etf_flow_history()
                return coinglass.parse_etf_flow_history(records), name, coinglass.ETF_FLOW_HISTORY, notes
            html = farside.fetch_flow_table(http)
            return farside.parse_flow_table(html), name, farside.FLOW_TABLE_PATH, notes
        except SourceError as exc:
            if i == len(chain) - 1:
                if notes:
                    raise SourceError(exc.source, exc.endpoint, f"{exc.problem} (after: {'; '.join(notes)})",
                                      field=exc.field, value=exc.value) from exc
                raise
            notes.append(str(exc))
            log.warning(f"ETF flows: {exc}; falling back to {chain[i + 1]}")
    raise AssertionError("unreachable")


@asset(
    key=["raw", TABLE],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="etf_flows",
    kinds={"duckdb", "polars"},
    owners=["team:btc-signals"],
    description="US spot bitcoin ETF daily net flows in USD, per issuer and in total (issuer TOTAL). "
    "Primary: CoinGlass v4 `etf/bitcoin/flow-history`; keyless fallback: Farside's flow table. "
    "Append-only landing: each run replaces the rows of the partitions it covers, in one transaction.",
)
def raw_etf_flows(
    context: AssetExecutionContext, config: EtfFlowsConfig, duckdb: DuckDBResource, sources: SourcesResource
) -> MaterializeResult:
    window = partition_window(context)
    settings = sources.settings()
    with sources.http() as http, duckdb.get_connection() as con:
        frame, used, endpoint, notes = land_records(
            context,
            con,
            http,
            table=TABLE,
            ddl=DDL,
            date_column="flow_date",
            window=window,
            fetch=lambda: fetch_etf_flows(http, settings, config.source, context.log),
        )
    totals = frame.filter((pl.col("issuer") == TOTAL_ISSUER) & pl.col("net_flow_usd").is_not_null())
    last = totals.sort("flow_date").tail(5)
    return MaterializeResult(
        metadata={
            "source": used,
            "endpoint": endpoint,
            "mode": settings.mode,
            "window": f"{window[0]} .. {window[1]} (exclusive)",
            "rows": frame.height,
            "days_with_flows": totals.height,
            "issuers": MetadataValue.json(sorted(set(frame["issuer"].to_list()) - {TOTAL_ISSUER})),
            "first_date": str(totals["flow_date"].min()) if totals.height else "none",
            "last_date": str(totals["flow_date"].max()) if totals.height else "none",
            "fallback_reasons": MetadataValue.json(notes),
            "last_totals_musd": MetadataValue.md(
                "| date | net flow (US$m) |\n|---|---|\n"
                + "\n".join(f"| {d} | {v / 1e6:,.1f} |" for d, v in last.select("flow_date", "net_flow_usd").iter_rows())
            ),
        }
    )


@asset_check(
    asset=raw_etf_flows,
    blocking=True,
    description="Great Expectations on raw.etf_flows: not empty, one row per (day, issuer), flows within ±5bn "
    "USD, and every US trading day between the first and last day present.",
)
def raw_etf_flows_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    with duckdb.get_connection() as con:
        rows = con.sql(f"select flow_date, issuer, net_flow_usd, source, payload from raw.{TABLE}").df()
        days = con.sql(
            f"select distinct flow_date from raw.{TABLE} where issuer = '{TOTAL_ISSUER}' and net_flow_usd is not null"
        ).df()
    expected: list[date] = []
    if len(days):
        expected = trading_days(min(days["flow_date"]).date(), max(days["flow_date"]).date())
    days["flow_date"] = days["flow_date"].dt.date
    return run_suite(
        "raw_etf_flows",
        [
            (
                "records",
                rows,
                [
                    gxe.ExpectTableRowCountToBeBetween(min_value=1),
                    gxe.ExpectColumnValuesToNotBeNull(column="flow_date"),
                    gxe.ExpectColumnValuesToNotBeNull(column="issuer"),
                    gxe.ExpectColumnValuesToNotBeNull(column="payload"),
                    gxe.ExpectCompoundColumnsToBeUnique(column_list=["flow_date", "issuer"]),
                    gxe.ExpectColumnValuesToBeBetween(
                        column="net_flow_usd", min_value=-MAX_ABS_DAILY_FLOW_USD, max_value=MAX_ABS_DAILY_FLOW_USD
                    ),
                    gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["coinglass", "farside"]),
                ],
            ),
            (
                "trading_days",
                days,
                [gxe.ExpectColumnDistinctValuesToContainSet(column="flow_date", value_set=expected)],
            ),
        ],
    )
