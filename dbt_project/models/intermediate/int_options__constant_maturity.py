"""ATM IV and 25-delta risk reversal at constant maturities (7, 30, 90 days), one row per chain
snapshot and tenor. The maths lives in pipelines/options_math.py (method in its docstring and in
docs/options.md): 25-delta IVs interpolated in delta per expiry, then linear in total variance
between the bracketing expiries; expiries under 2 days excluded. A tenor that cannot be computed
gets null values and the reason in `null_reason` (never an extrapolated number).

A table, rebuilt every run: an incremental version saved ≈ 1 s but dbt-duckdb left a
`main.<model>__dbt_tmp<timestamp>` table behind after every incremental run (docs/operations.md,
"dbt: the daily increment")."""

import polars as pl

from pipelines.options_math import snapshot_readings

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
    dbt.config(materialized="table")
    chain = dbt.ref("stg_deribit__option_chain").pl().select(
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
