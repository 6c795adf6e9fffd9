"""ATM IV and 25-delta risk reversal at constant maturities (7, 30, 90 days), one row per chain
snapshot and tenor. The maths lives in pipelines/options_math.py (method in its docstring and in
docs/options.md): 25-delta IVs interpolated in delta per expiry, then linear in total variance
between the bracketing expiries; expiries under 2 days excluded. A tenor that cannot be computed
gets null values and the reason in `null_reason` (never an extrapolated number).

Incremental: a snapshot's readings depend on that snapshot's chain alone, so the daily run computes only
the snapshots of the last LOOKBACK_DAYS days before the newest one already built, and the days after it
(delete+insert on snapshot_date, tenor_days); a chain re-landed further back needs a full refresh
(`btc-signals run --dbt-only --full-refresh`). docs/operations.md, "dbt: the daily increment"."""

from datetime import timedelta

import polars as pl

from pipelines.options_math import snapshot_readings

LOOKBACK_DAYS = 3

SCHEMA = {
    "snapshot_date": pl.Date,
    "snapshot_at": pl.Datetime("us", "UTC"),
    "tenor_days": pl.Int32,
    "atm_iv_pct": pl.Float64,
    "call_25d_iv_pct": pl.Float64,
    "put_25d_iv_pct": pl.Float64,
    "rr_25d_vol_pts": pl.Float64,
    "lower_expiry_days": pl.Float64,
    "upper_expiry_days": pl.Float64,
    "expiries_used": pl.Int32,
    "null_reason": pl.String,
}


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="delete+insert",
               unique_key=["snapshot_date", "tenor_days"])
    chain = dbt.ref("stg_deribit__option_chain")
    if dbt.is_incremental:
        ((newest,),) = session.sql(f"select max(snapshot_date) from {dbt.this}").fetchall()
        if newest is not None:
            chain = chain.filter(f"snapshot_date > date '{newest - timedelta(days=LOOKBACK_DAYS)}'")
    chain = chain.pl().select(
        "snapshot_date", "snapshot_at", "expiry_at", pl.col("strike_usd").alias("strike"), "option_type",
        "mark_iv_pct", "delta", pl.col("forward_usd").alias("underlying_price"),
    )
    rows = []
    for (snapshot_date,), snap in chain.sort("snapshot_date").group_by("snapshot_date", maintain_order=True):
        snapshot_at = snap["snapshot_at"].max()
        for r in snapshot_readings(snapshot_at, snap.to_dicts()):
            rows.append({
                "snapshot_date": snapshot_date,
                "snapshot_at": snapshot_at,
                "tenor_days": r.tenor_days,
                "atm_iv_pct": r.atm_iv_pct,
                "call_25d_iv_pct": r.call_25d_iv_pct,
                "put_25d_iv_pct": r.put_25d_iv_pct,
                "rr_25d_vol_pts": r.rr_25d_vol_pts,
                "lower_expiry_days": r.lower_expiry_days,
                "upper_expiry_days": r.upper_expiry_days,
                "expiries_used": r.expiries_used,
                "null_reason": r.null_reason,
            })
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")
