"""Build the Deribit replay dataset from the real public series in shared/reference-data/.

    python scripts/build_replay_options.py [--reference ../shared/reference-data]

Writes pipelines/replay/data/deribit/:
* dvol_btc_1d.json — real daily BTC DVOL candles [ts_ms, open, high, low, close] for the replay
  handler of public/get_volatility_index_data;
* smile_params.json — per-day parameters from which the replay handler renders the whole BTC option
  chain (public/get_instruments, get_book_summary_by_currency, ticker) as of the replay clock.

No public history of option chains exists: the chain is DERIVED. Its ATM level follows the real DVOL,
its underlying the real BTC close, and its skew and term structure follow the documented assumptions
below plus the public reporting on 5-6 Feb 2026. See pipelines/replay/data/deribit/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pipelines" / "replay" / "data" / "deribit"
# The replay dataset emulates a deployment that began snapshotting the chain daily on this day.
SNAPSHOTS_START = date(2025, 11, 1)
SNAPSHOTS_END = date(2026, 2, 28)  # the replay window's last day
# DVOL closes of the reference week, quoted in reference-data/SOURCES.md §4 (kygura/hl-cycles data/dvol.json,
# UTC day closes); the FMarkiv file ends on 2026-01-19.
QUOTED_DVOL_CLOSES = {
    date(2026, 2, 1): 48.27, date(2026, 2, 2): 46.29, date(2026, 2, 3): 51.74, date(2026, 2, 4): 53.47,
    date(2026, 2, 5): 82.62, date(2026, 2, 6): 58.85, date(2026, 2, 7): 59.35, date(2026, 2, 8): 57.29,
    date(2026, 2, 9): 54.46,
}
# ---- assumptions of the derived chain (documented in the README) ----
BASIS_ANNUAL = 0.05            # forward premium of each expiry over spot, per year
FLY25_VOL_PTS = 1.5            # 25-delta butterfly (smile curvature), constant
TERM_SLOPE_NORMAL = 1.5        # vol points per unit of ln(T/30d) on a calm day (upward: normal)
TERM_SLOPE_PER_SHOCK = 0.45    # the slope falls by this per vol point of DVOL above its prior 30-day mean
TERM_SLOPE_BOUNDS = (-15.0, 4.0)
RR7_PER_LOG_RETURN = 43.5      # 7d 25d RR (vol points) per unit of 7-day BTC log return
RR7_BOUNDS = (-15.0, 8.0)
RR30_OVER_RR7 = 0.55           # the 30-day risk reversal is flatter than the 7-day one
# Public reporting: short-dated 25-delta skew about -13 vol points on 5-6 Feb 2026 (DESIGN.md §1).
RR7_REPORTED = {date(2026, 2, 5): -13.0, date(2026, 2, 6): -13.0}


def load_dvol(reference: Path) -> dict[date, tuple[float, float, float, float]]:
    out = {}
    with open(reference / "options" / "Bitcoin-production__dvol_history.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            day = datetime.fromisoformat(r["timestamp"]).astimezone(UTC).date()
            out[day] = (float(r["dvol_open"]), float(r["dvol_high"]), float(r["dvol_low"]), float(r["dvol"]))
    prev = None
    for day in sorted(QUOTED_DVOL_CLOSES):
        close = QUOTED_DVOL_CLOSES[day]
        # only closes are quoted: open = the previous quoted close (the index is continuous), high/low
        # = the larger/smaller of open and close (a lower bound of the true range)
        open_ = prev if prev is not None else close
        out[day] = (open_, max(open_, close), min(open_, close), close)
        prev = close
    return out


def load_btc(reference: Path) -> dict[date, float]:
    with open(reference / "macro" / "risk-divergence__btc.csv", newline="") as fh:
        return {date.fromisoformat(r["Date"]): float(r["Close"]) for r in csv.DictReader(fh)}


def atm_level(dvol: dict[date, tuple], day: date) -> tuple[float, str]:
    """30-day ATM IV for the chain: the real DVOL close; a linear bridge across a gap between two real
    closes; the last real close carried forward after the end of the real series."""
    if day in dvol:
        return dvol[day][3], "dvol_close"
    before = max((d for d in dvol if d < day), default=None)
    after = min((d for d in dvol if d > day), default=None)
    if before is None:
        raise SystemExit(f"no DVOL on or before {day}")
    if after is None:
        return dvol[before][3], f"carried_forward_from_{before}"
    w = (day - before).days / (after - before).days
    return round(dvol[before][3] + w * (dvol[after][3] - dvol[before][3]), 2), f"interpolated_{before}_{after}"


def clip(x: float, bounds: tuple[float, float]) -> float:
    return max(bounds[0], min(bounds[1], x))


def build(reference: Path) -> None:
    dvol = load_dvol(reference)
    btc = load_btc(reference)
    OUT.mkdir(parents=True, exist_ok=True)
    candles = [[int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000), *v] for d, v in sorted(dvol.items())]
    (OUT / "dvol_btc_1d.json").write_text(json.dumps(candles, separators=(",", ":")) + "\n")

    days = []
    day = SNAPSHOTS_START
    while day <= SNAPSHOTS_END:
        atm, atm_source = atm_level(dvol, day)
        prior = [atm_level(dvol, day - timedelta(days=k))[0] for k in range(1, 31)]
        shock = atm - sum(prior) / len(prior)
        slope = clip(TERM_SLOPE_NORMAL - TERM_SLOPE_PER_SHOCK * shock, TERM_SLOPE_BOUNDS)
        r7 = math.log(btc[day] / btc[day - timedelta(days=7)])
        rr7 = clip(RR7_PER_LOG_RETURN * r7, RR7_BOUNDS)
        rr7_source = "model"
        if day in RR7_REPORTED:
            rr7, rr7_source = RR7_REPORTED[day], "reported"
        days.append({
            "date": day.isoformat(),
            "spot_usd": round(btc[day], 2),
            "atm_iv_30d_pct": round(atm, 2),
            "atm_source": atm_source,
            "dvol_shock_vol_pts": round(shock, 2),
            "term_slope_vol_pts": round(slope, 3),
            "btc_log_return_7d": round(r7, 5),
            "rr25_7d_vol_pts": round(rr7, 3),
            "rr25_7d_source": rr7_source,
            "rr25_30d_vol_pts": round(RR30_OVER_RR7 * rr7, 3),
            "fly25_vol_pts": FLY25_VOL_PTS,
            "basis_annual": BASIS_ANNUAL,
        })
        day += timedelta(days=1)
    payload = {
        "description": "Per-day smile parameters of the DERIVED BTC option chain; see README.md. "
                       "Each day's parameters describe the chain at the day's close (snapshot instant D+1 00:00 UTC).",
        "snapshots_start": SNAPSHOTS_START.isoformat(),
        "snapshots_end": SNAPSHOTS_END.isoformat(),
        "days": days,
    }
    (OUT / "smile_params.json").write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {len(candles)} DVOL candles and {len(days)} days of smile parameters to {OUT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference-data")
    build(parser.parse_args().reference)


if __name__ == "__main__":
    main()
