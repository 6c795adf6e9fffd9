"""Build the BTC daily-candle replay payload (Binance /api/v3/klines shape) from real Yahoo BTC-USD history.

    python scripts/build_replay_btc_price.py [--reference ../shared/reference-data]

Writes pipelines/replay/data/binance/BTCUSDT-1d.json; see pipelines/replay/data/binance/README.md.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pipelines" / "replay" / "data" / "binance"
START = date(2024, 1, 11)
END = date(2026, 2, 28)
DAY_MS = 86_400_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference-data")
    args = ap.parse_args()
    df = pl.read_csv(args.reference / "macro" / "risk-divergence__btc.csv", infer_schema_length=None)
    df = df.with_columns(pl.col("Date").str.to_date()).filter(pl.col("Date").is_between(START, END)).sort("Date")
    candles = []
    for d, o, h, low, c, v in df.select("Date", "Open", "High", "Low", "Close", "Volume").iter_rows():
        open_ms = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)
        quote = float(v)  # Yahoo's BTC-USD volume is in USD
        candles.append([
            open_ms, f"{o:.2f}", f"{h:.2f}", f"{low:.2f}", f"{c:.2f}", f"{quote / c:.5f}",
            open_ms + DAY_MS - 1, f"{quote:.2f}", 0, "0", "0", "0",
        ])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "BTCUSDT-1d.json").write_text(json.dumps(candles, separators=(",", ":")))
    print(f"{len(candles)} candles {df['Date'].min()} .. {df['Date'].max()}")


if __name__ == "__main__":
    main()
