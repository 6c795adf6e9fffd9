"""BTC daily candles (Binance spot BTCUSDT, keyless): the price every indicator is read against."""

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    asset,
    asset_check,
)
from dagster_duckdb import DuckDBResource

from pipelines.assets.common import RAW_RECORD_COLUMNS, land_records, partition_window
from pipelines.partitions import daily_partitions
from pipelines.quality import run_suite
from pipelines.resources import SourcesResource
from pipelines.sources import binance_spot

TABLE = "btc_price_daily"
DDL = f"""
create schema if not exists raw;
create table if not exists raw.{TABLE} (
    price_date  date not null,     -- UTC day the candle opens
    open_usd    double not null,
    high_usd    double not null,
    low_usd     double not null,
    close_usd   double not null,   -- close at 24:00 UTC
    volume_btc  double not null,
    {RAW_RECORD_COLUMNS}
)
"""


@asset(
    key=["raw", TABLE],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="btc_price",
    kinds={"duckdb", "polars"},
    owners=["team:btc-signals"],
    description="BTC/USDT daily candles (UTC days) from Binance spot `api/v3/klines`, paginated 1,000 a page. "
    "Feeds the price conditions of the OI and price-level rules, hash price and the forward returns.",
)
def raw_btc_price_daily(
    context: AssetExecutionContext, duckdb: DuckDBResource, sources: SourcesResource
) -> MaterializeResult:
    window = partition_window(context)

    def fetch():
        candles = binance_spot.fetch_daily_klines(http, *window)
        return binance_spot.parse_klines(candles), binance_spot.SOURCE, binance_spot.KLINES, None

    with sources.http() as http, duckdb.get_connection() as con:
        frame, *_ = land_records(
            context, con, http, table=TABLE, ddl=DDL, date_column="price_date", window=window, fetch=fetch
        )
    last = frame.sort("price_date").tail(1)
    return MaterializeResult(
        metadata={
            "rows": frame.height,
            "window": f"{window[0]} .. {window[1]} (exclusive)",
            "first_date": str(frame["price_date"].min()) if frame.height else "none",
            "last_date": str(frame["price_date"].max()) if frame.height else "none",
            "last_close_usd": float(last["close_usd"][0]) if frame.height else 0.0,
        }
    )


@asset_check(
    asset=raw_btc_price_daily,
    blocking=True,
    description="Great Expectations on raw.btc_price_daily: not empty, one candle per day, positive prices, "
    "low <= open, close <= high, and no missing day (crypto trades every day).",
)
def raw_btc_price_daily_gx(duckdb: DuckDBResource) -> AssetCheckResult:
    import great_expectations.expectations as gxe

    with duckdb.get_connection() as con:
        rows = con.sql(f"select * exclude (payload) from raw.{TABLE}").df()
        gaps = con.sql(
            f"""select count(*) as missing_days from (
                    select unnest(generate_series(min(price_date), max(price_date), interval 1 day))::date as d
                    from raw.{TABLE}) as spine
                anti join raw.{TABLE} as r on r.price_date = spine.d"""
        ).df()
    return run_suite(
        "raw_btc_price_daily",
        [
            (
                "candles",
                rows,
                [
                    gxe.ExpectTableRowCountToBeBetween(min_value=1),
                    gxe.ExpectColumnValuesToBeUnique(column="price_date"),
                    gxe.ExpectColumnValuesToBeBetween(column="close_usd", min_value=0, strict_min=True),
                    gxe.ExpectColumnValuesToBeBetween(column="low_usd", min_value=0, strict_min=True),
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high_usd", column_B="close_usd", or_equal=True),
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="close_usd", column_B="low_usd", or_equal=True),
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high_usd", column_B="open_usd", or_equal=True),
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="open_usd", column_B="low_usd", or_equal=True),
                ],
            ),
            ("gaps", gaps, [gxe.ExpectColumnValuesToBeBetween(column="missing_days", min_value=0, max_value=0)]),
        ],
    )
