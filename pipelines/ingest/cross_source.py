"""Cross-source comparisons (warn only, non-blocking): the keyless fallback against CoinGlass, for funding and for
the 7-day OI change, on days with both."""

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check
from dagster_duckdb import DuckDBResource

from pipelines.ingest.derivatives import raw_futures_funding, raw_futures_open_interest
from pipelines.landing.tables import FUTURES_FUNDING, FUTURES_OPEN_INTEREST

OI_TABLE = FUTURES_OPEN_INTEREST.name
FUNDING_TABLE = FUTURES_FUNDING.name
# Tolerances (docs/derivatives.md): funding in percentage points per 8h; OI as the difference between the two
# 7-day changes in percentage points (levels differ by design: the fallback covers two venues, CoinGlass all).
FUNDING_TOLERANCE_PCT_PTS = 0.01
OI_7D_CHANGE_TOLERANCE_PCT_PTS = 5.0
CROSS_SOURCE_MAX_SHARE_OUTSIDE = 0.10


def _latest(table: str, keys: str) -> str:
    return f"select * exclude (payload) from raw.{table} qualify row_number() over (partition by {keys} order by ingested_at desc) = 1"


def _table_exists(con, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?",
                            [table]).fetchall()[0][0])


FALLBACK_FUNDING_SQL = f"""
-- The keyless aggregate: each venue's daily mean funding, weighted by the venue's OI in USD that day
-- (Bybit's BTC OI valued at Binance's USD/BTC ratio); equal weights where a venue's OI is missing.
with funding as ({_latest(FUNDING_TABLE, 'funding_time, source, venue')}),
oi as ({_latest(OI_TABLE, 'oi_date, source, venue')}),
venue_day as (
    select funding_date as d, venue, avg(funding_rate_pct) as funding_pct
    from funding where source in ('binance', 'bybit') group by all
),
px as (select oi_date as d, oi_close_usd / oi_close_btc as usd_per_btc from oi where source = 'binance'),
venue_oi as (
    select o.oi_date as d, o.venue, coalesce(o.oi_close_usd, o.oi_close_btc * px.usd_per_btc) as oi_usd
    from oi as o left join px on px.d = o.oi_date where o.source in ('binance', 'bybit')
),
weighted as (
    select v.d, count(*) as venues,
           case when count(w.oi_usd) = count(*) then sum(v.funding_pct * w.oi_usd) / sum(w.oi_usd)
                else avg(v.funding_pct) end as fallback_pct,
           sum(w.oi_usd) as fallback_oi_usd
    from venue_day as v left join venue_oi as w on w.d = v.d and w.venue = v.venue
    group by v.d
)
select * from weighted where venues = 2
"""


def _cross_source(con, kind: str) -> tuple[pl.DataFrame, float, str]:
    if kind == "funding":
        sql = f"""
            with fb as ({FALLBACK_FUNDING_SQL}),
            cg as (select funding_date as d, funding_rate_pct as coinglass_pct
                   from ({_latest(FUNDING_TABLE, 'funding_time, source, venue')}) where source = 'coinglass')
            select fb.d as day, cg.coinglass_pct as coinglass, fb.fallback_pct as fallback,
                   abs(cg.coinglass_pct - fb.fallback_pct) as abs_diff
            from fb join cg on cg.d = fb.d order by day"""
        return con.sql(sql).pl(), FUNDING_TOLERANCE_PCT_PTS, "pct pts per 8h"
    sql = f"""
        with oi as ({_latest(OI_TABLE, 'oi_date, source, venue')}),
        px as (select oi_date as d, oi_close_usd / oi_close_btc as usd_per_btc from oi where source = 'binance'),
        fb as (select o.oi_date as d, sum(coalesce(o.oi_close_usd, o.oi_close_btc * px.usd_per_btc)) as oi_usd,
                      count(*) as venues
               from oi as o left join px on px.d = o.oi_date where o.source in ('binance', 'bybit') group by all
               having count(*) = 2),
        cg as (select oi_date as d, oi_close_usd as oi_usd from oi where source = 'coinglass'),
        both_ as (select fb.d, cg.oi_usd as cg_usd, fb.oi_usd as fb_usd from fb join cg on cg.d = fb.d),
        changes as (
            select b.d as day, 100 * (b.cg_usd / p.cg_usd - 1) as coinglass, 100 * (b.fb_usd / p.fb_usd - 1) as fallback
            from both_ as b join both_ as p on p.d = b.d - interval 7 day)
        select *, abs(coinglass - fallback) as abs_diff from changes order by day"""
    return con.sql(sql).pl(), OI_7D_CHANGE_TOLERANCE_PCT_PTS, "pct pts of 7-day OI change"


def cross_source_result(con, kind: str) -> AssetCheckResult:
    for t in (OI_TABLE, FUNDING_TABLE):
        if not _table_exists(con, t):
            return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN,
                                    description=f"raw.{t} not loaded yet: nothing to compare")
    diffs, tol, unit = _cross_source(con, kind)
    if diffs.height == 0:
        return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN,
                                description="no day with both CoinGlass and the full keyless fallback: nothing to compare")
    outside = diffs.filter(pl.col("abs_diff") > tol)
    share = outside.height / diffs.height
    latest = diffs.tail(1).row(0, named=True)
    passed = share <= CROSS_SOURCE_MAX_SHARE_OUTSIDE and latest["abs_diff"] <= tol
    worst = diffs.sort("abs_diff", descending=True).head(5)
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.WARN,
        description=(f"{kind}: {outside.height} of {diffs.height} common days differ by more than {tol} {unit} "
                     f"({share:.0%}; allowed {CROSS_SOURCE_MAX_SHARE_OUTSIDE:.0%}); latest {latest['day']}: "
                     f"CoinGlass {latest['coinglass']:.4f} vs fallback {latest['fallback']:.4f}"),
        metadata={
            "common_days": diffs.height,
            "days_outside_tolerance": outside.height,
            "tolerance": f"{tol} {unit}",
            "worst_days": MetadataValue.md("| day | CoinGlass | fallback | abs diff |\n|---|---|---|---|\n" + "\n".join(
                f"| {d} | {c:.4f} | {f:.4f} | {a:.4f} |" for d, c, f, a in worst.iter_rows())),
        },
    )


@asset_check(asset=raw_futures_funding, blocking=False, additional_deps=[raw_futures_open_interest],
             description="Cross-source (warn only): the keyless fallback's OI-weighted funding vs CoinGlass's, on days "
             f"with both; warns when more than {CROSS_SOURCE_MAX_SHARE_OUTSIDE:.0%} of days, or the latest, differ by "
             f"more than {FUNDING_TOLERANCE_PCT_PTS} pct pts per 8h.")
def raw_futures_funding_cross_source(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        return cross_source_result(con, "funding")


@asset_check(asset=raw_futures_open_interest, blocking=False,
             description="Cross-source (warn only): 7-day OI change of the keyless fallback (Binance + Bybit) vs "
             f"CoinGlass's all-exchange aggregate; warns when more than {CROSS_SOURCE_MAX_SHARE_OUTSIDE:.0%} of days, "
             f"or the latest, differ by more than {OI_7D_CHANGE_TOLERANCE_PCT_PTS} pct pts.")
def raw_futures_open_interest_cross_source(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        return cross_source_result(con, "open_interest")
