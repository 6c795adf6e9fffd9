"""Build the macro replay payloads (FRED and Stooq) from the real public series in shared/reference-data/macro.

    python scripts/build_replay_macro.py [--reference ../shared/reference-data]

Writes
* pipelines/replay/data/fred/<SERIES_ID>.csv — FRED's fredgraph.csv layout (``observation_date,<ID>``, one row
  per weekday, ``.`` where FRED has no observation), for SP500, NASDAQCOM, DJIA and DGS10. The replay handler
  serves the same file both as the keyless CSV download and as the keyed JSON API's observations;
* pipelines/replay/data/stooq/<symbol>.csv — Stooq's daily CSV layout (``Date,Open,High,Low,Close,Volume``),
  for ^sox and dx.f; ``Date,Open,High,Low,Close`` (Stooq gives currency quotes no volume) for the gold and
  silver **spot** quotes xauusd and xagusd, observed bars of the simom1/XAUUSD-history MT5 feed.
See pipelines/replay/data/fred/README.md and pipelines/replay/data/stooq/README.md for what every number is.
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pipelines" / "replay" / "data"
WINDOW_START = date(2024, 1, 11)
WINDOW_END = date(2026, 2, 28)  # inclusive
# First day of the flippe2/blank-app Yahoo files: exact index/futures closes from here on.
SPLICE_DAY = date(2025, 9, 8)

Row = tuple[float | None, float | None, float | None, float]  # open, high, low, close


def read_yahoo_multi(path: Path) -> dict[date, tuple[Row, float]]:
    """yfinance multi-index CSV: 3 header lines, then date,Close,High,Low,Open,Volume."""
    out: dict[date, tuple[Row, float]] = {}
    with open(path, newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0][:6] == ["Price", "Close", "High", "Low", "Open", "Volume"], (path, lines[0])
    for rec in lines[3:]:
        d = date.fromisoformat(rec[0])
        close, high, low, open_, vol = (float(x) for x in rec[1:6])
        out[d] = ((open_, high, low, close), vol)
    return out


def read_close_csv(path: Path, header: bool) -> dict[date, float]:
    out: dict[date, float] = {}
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    for rec in rows[1:] if header else rows:
        if rec and rec[1] not in ("", "."):
            out[date.fromisoformat(rec[0])] = float(rec[1])
    return out


def read_ohlcv(path: Path) -> dict[date, tuple[Row, float]]:
    out: dict[date, tuple[Row, float]] = {}
    with open(path, newline="") as fh:
        for rec in csv.DictReader(fh):
            out[date.fromisoformat(rec["Date"])] = (
                (float(rec["Open"]), float(rec["High"]), float(rec["Low"]), float(rec["Close"])),
                float(rec["Volume"]),
            )
    return out


def in_window(d: date) -> bool:
    return WINDOW_START <= d <= WINDOW_END


def weekdays() -> list[date]:
    out, d = [], WINDOW_START
    while d <= WINDOW_END:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def chain_link(proxy: dict[date, float], anchor_value: float) -> dict[date, float]:
    """Scale a proxy so that it equals the exact series on SPLICE_DAY: keeps the proxy's daily returns."""
    factor = anchor_value / proxy[SPLICE_DAY]
    return {d: v * factor for d, v in proxy.items() if d < SPLICE_DAY}


def write_fred(series_id: str, closes: dict[date, float], decimals: int) -> dict:
    path = OUT / "fred" / f"{series_id}.csv"
    n = 0
    with open(path, "w", newline="") as fh:
        fh.write(f"observation_date,{series_id}\n")
        for d in weekdays():
            v = closes.get(d)
            if v is not None:
                n += 1
            fh.write(f"{d.isoformat()},{'.' if v is None else f'{v:.{decimals}f}'}\n")
    return {"file": str(path.relative_to(ROOT)), "observations": n}


def write_stooq(name: str, rows: dict[date, tuple[Row, float]], decimals: int) -> dict:
    path = OUT / "stooq" / f"{name}.csv"
    with open(path, "w", newline="") as fh:
        fh.write("Date,Open,High,Low,Close,Volume\n")
        for d in sorted(x for x in rows if in_window(x)):
            (o, h, lo, c), vol = rows[d]
            cells = [f"{x:.{decimals}f}" for x in (o, h, lo, c)]
            fh.write(f"{d.isoformat()},{','.join(cells)},{int(vol)}\n")
    return {"file": str(path.relative_to(ROOT)), "rows": sum(1 for x in rows if in_window(x))}


def read_mt5_daily(path: Path) -> dict[date, tuple[Row, float]]:
    """simom1/XAUUSD-history D1 bars: ``time,open,high,low,close,tick_volume`` (the broker's server day)."""
    out: dict[date, tuple[Row, float]] = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["time", "open", "high", "low", "close", "tick_volume"], (path, reader.fieldnames)
        for rec in reader:
            d = date.fromisoformat(rec["time"])
            assert d not in out, (path, d)
            out[d] = ((float(rec["open"]), float(rec["high"]), float(rec["low"]), float(rec["close"])), 0.0)
    return out


def write_stooq_spot(name: str, rows: dict[date, tuple[Row, float]], decimals: int) -> dict:
    """A currency quote as Stooq serves it: no Volume column (the MT5 tick volume is not Stooq's, dropped)."""
    path = OUT / "stooq" / f"{name}.csv"
    kept = sorted(x for x in rows if in_window(x))
    assert all(d.weekday() < 5 for d in kept), "weekend bar in the spot file"
    with open(path, "w", newline="") as fh:
        fh.write("Date,Open,High,Low,Close\n")
        for d in kept:
            cells = [f"{x:.{decimals}f}" for x in rows[d][0]]
            fh.write(f"{d.isoformat()},{','.join(cells)}\n")
    return {"file": str(path.relative_to(ROOT)), "rows": len(kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference-data")
    args = parser.parse_args()
    macro = args.reference / "macro"
    y = {k: read_yahoo_multi(macro / f"blank-app__{k}.csv") for k in ("GSPC", "IXIC", "DJI", "SOX", "DX-Y.NYB")}
    exact = {k: {d: r[0][3] for d, r in v.items() if d >= SPLICE_DAY} for k, v in y.items()}
    report: dict[str, dict] = {}

    # --- FRED ---------------------------------------------------------------------------------------
    spx_early = {d: v for d, v in read_close_csv(macro / "edge-data__spx.csv", header=False).items() if d < SPLICE_DAY}
    ndx = read_close_csv(macro / "edge-data__ndx.csv", header=False)
    dia = {d: r[0][3] for d, r in read_ohlcv(macro / "risk-divergence__dia.csv").items()}
    dgs10 = read_close_csv(macro / "market-indicators-dashboard__us-10-year-treasury-yield.csv", header=True)
    report["SP500"] = write_fred("SP500", {**spx_early, **exact["GSPC"]}, 2)
    report["NASDAQCOM"] = write_fred("NASDAQCOM", {**chain_link(ndx, exact["IXIC"][SPLICE_DAY]), **exact["IXIC"]}, 2)
    report["DJIA"] = write_fred("DJIA", {**chain_link(dia, exact["DJI"][SPLICE_DAY]), **exact["DJI"]}, 2)
    report["DGS10"] = write_fred("DGS10", dgs10, 2)

    # --- Stooq --------------------------------------------------------------------------------------
    def closes_only(closes: dict[date, float]) -> dict[date, tuple[Row, float]]:
        # the reference has closes only: open/high/low are written equal to the close (stand-ins)
        return {d: ((c, c, c, c), 0.0) for d, c in closes.items()}

    sox_early = {d: v for d, v in read_close_csv(macro / "market-indicators-dashboard__sox.csv", header=True).items() if d < SPLICE_DAY}
    dxy_early = {d: v for d, v in read_close_csv(macro / "edge-data__dxy.csv", header=False).items() if d < SPLICE_DAY}
    late = {k: {d: r for d, r in v.items() if d >= SPLICE_DAY} for k, v in y.items()}
    report["^sox"] = write_stooq("sox", {**closes_only(sox_early), **late["SOX"]}, 2)
    # Gold and silver: spot quotes, observed over the whole window (no splice, no proxy). The futures
    # closes used before (GC=F, SI=F, with an SLV proxy for silver) are no longer written.
    for name, pair, decimals in (("xauusd", "XAUUSD", 2), ("xagusd", "XAGUSD", 3)):
        spot = read_mt5_daily(macro / f"simom1-XAUUSD-history__{pair}_D1.csv")
        report[name] = write_stooq_spot(name, spot, decimals)
    report["dx.f"] = write_stooq("dx.f", {**closes_only(dxy_early), **late["DX-Y.NYB"]}, 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
