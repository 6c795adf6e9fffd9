"""Build the derivatives replay payloads (CoinGlass futures, Binance USDⓈ-M) from reference data.

    python scripts/build_replay_derivatives.py [--reference ../shared/reference-data]

Writes, in each API's exact record shape (the replay servers wrap them in the real envelopes):

* pipelines/replay/data/coinglass/futures_open_interest_aggregated_history_BTC_1d.json
* pipelines/replay/data/coinglass/futures_funding_rate_oi_weight_history_BTC_1d.json
* pipelines/replay/data/coinglass/futures_liquidation_aggregated_history_BTC_Binance_1d.json
* pipelines/replay/data/binance_futures/fundingRate_BTCUSDT.json, openInterestHist_BTCUSDT_1d.json (observed:
  the hourly hl-cycles series at each 00:00 UTC, 2024-04-28 .. 2026-02-28; two zero snapshots derived)
* a provenance.csv beside each (file, day, origin real|derived, how) — every derived row is listed there.

What is real and what is derived, and how, is documented in pipelines/replay/data/{coinglass,binance_futures}/README.md.
No Bybit (or OKX) history is bundled: no public copy exists, and the replay serves no venue whose whole
history would be invented (pipelines/replay/bybit.py answers replay-no-data).
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "pipelines" / "replay" / "data"
START = date(2024, 1, 11)
END = date(2026, 2, 28)  # inclusive
DAY_MS = 86_400_000
# Public figures from DESIGN.md's reference case: aggregated OI about 61bn USD a week before 5 Feb 2026
# and about 49bn USD on 5 Feb 2026 (closes).
ANCHORS_USD = {date(2026, 1, 29): 61e9, date(2026, 2, 5): 49e9}
CG = "liquidity-report__{}__api_futures_{}.parquet"


def ms(day: date, hour: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1000)


def day_of(ms_value: int) -> date:
    return datetime.fromtimestamp(ms_value / 1000, tz=UTC).date()


def days(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def read_4h(ref: Path, kind: str) -> pl.DataFrame:
    """Both 4h snapshots of one CoinGlass series, the later snapshot winning the overlap."""
    frames = []
    for rank, snap in enumerate(("20250604", "20251114")):
        df = pl.read_parquet(ref / "derivatives" / CG.format(snap, kind))
        df = df.with_columns([pl.col(c).cast(pl.Float64) for c in df.columns if c != "time"])
        frames.append(df.with_columns(rank=pl.lit(rank)))
    df = pl.concat(frames).sort("time", "rank").unique("time", keep="last").sort("time")
    return df.with_columns(day=pl.from_epoch(pl.col("time"), time_unit="ms").dt.date())


def complete_days(df: pl.DataFrame, last_snapshot_day: date) -> pl.DataFrame:
    """Days with all six 4h bars, before the snapshot's own (unfinished) day."""
    counts = df.group_by("day").len()
    full = counts.filter((pl.col("len") == 6) & (pl.col("day") < last_snapshot_day))["day"]
    return df.filter(pl.col("day").is_in(full.implode()))


def ohlc_daily(df: pl.DataFrame) -> dict[date, tuple[float, float, float, float]]:
    g = df.sort("time").group_by("day", maintain_order=True).agg(
        pl.col("open").first(), pl.col("high").max(), pl.col("low").min(), pl.col("close").last()
    )
    return {d: (o, h, low, c) for d, o, h, low, c in g.iter_rows()}


def write(folder: str, name: str, rows: list, provenance: list[tuple[str, str, str]]) -> None:
    out = DATA / folder
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_text(json.dumps(rows, separators=(",", ":")))
    prov = out / "provenance.csv"
    existing = []
    if prov.exists():
        existing = [r for r in csv.reader(prov.open()) if r and r[0] not in ("file", name)]
    with prov.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "day", "origin", "how"])
        w.writerows(existing)
        w.writerows([name, d, o, how] for d, o, how in provenance)
    n_derived = sum(1 for _, o, _ in provenance if o == "derived")
    print(f"{folder}/{name}: {len(rows)} rows, {n_derived} derived")


def binance_oi_daily(ref: Path, binance_1d: dict[date, tuple[int, float, float]]) -> tuple[list, list, list[date]]:
    """Binance BTCUSDT ``openInterestHist`` 1d rows from the observed hourly series (hl-cycles).

    The live 1d row stamped D 00:00 UTC is the snapshot at that instant (the open interest at the close of
    day D-1): it equals the hourly row stamped D 00:00 exactly (checked on every day the raw 1d rows of
    gravestone-data share with it). So day D-1's value is the hourly row at D 00:00 UTC. Zero rows are missing
    values (SOURCES.md lists 30 zero hours): where the 00:00 row is one, the day gets its latest non-zero
    snapshot before that midnight (the 23:00 row, both times), marked derived in provenance.csv — a gap
    would stop the raw load at its blocking no-missing-day check, and no other observation exists."""
    hourly = pl.read_csv(ref / "derivatives" / "hl-cycles__binance_oi_hourly_BTCUSDT.csv",
                         schema_overrides={"oi_coins": pl.String, "oi_usd": pl.String})
    by_hour = {t: (btc, usd) for t, btc, usd in hourly.select("t_ms", "oi_coins", "oi_usd").iter_rows()}
    at_midnight = {t: v for t, v in by_hour.items() if t % DAY_MS == 0}
    checked = 0
    for day, (t, btc, usd) in binance_1d.items():
        if t in at_midnight:
            assert float(at_midnight[t][0]) == btc and abs(float(at_midnight[t][1]) - usd) <= 1e-6 * usd, (day, t)
            checked += 1
    assert checked >= 8, checked
    first = day_of(min(at_midnight)) - timedelta(days=1)
    rows, prov, missing = [], [], []
    for d in days(max(first, START), END):
        t = ms(d + timedelta(days=1))
        btc, usd = at_midnight[t]  # every hour is present in the source; a KeyError here is a gap
        origin, how = "real", "Binance BTCUSDT OI snapshot at the next 00:00 UTC (hl-cycles hourly row)"
        if float(btc) == 0 and float(usd) == 0:
            back = next(h for h in range(1, 7) if float(by_hour[t - h * 3_600_000][0]) > 0)
            btc, usd = by_hour[t - back * 3_600_000]
            missing.append(d)
            origin = "derived"
            how = (f"the next 00:00 UTC snapshot is zero in the source (missing): the day's last non-zero hourly "
                   f"snapshot, {24 - back:02d}:00 UTC, instead")
        rows.append({"symbol": "BTCUSDT", "sumOpenInterest": f"{float(btc):.8f}",
                     "sumOpenInterestValue": f"{float(usd):.8f}", "timestamp": t})
        prov.append((d.isoformat(), origin, how))
    return rows, prov, missing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference-data")
    ref = ap.parse_args().reference
    (DATA / "binance_futures" / "provenance.csv").unlink(missing_ok=True)
    prov_cg = DATA / "coinglass" / "provenance.csv"
    prov_cg.unlink(missing_ok=True)

    # ---- BTC daily prices (Yahoo BTC-USD, the same series as the price replay) ----
    px = pl.read_csv(ref / "macro" / "risk-divergence__btc.csv").with_columns(pl.col("Date").str.to_date())
    price = {d: (o, h, low, c) for d, o, h, low, c in px.select("Date", "Open", "High", "Low", "Close").iter_rows()}
    close = {d: v[3] for d, v in price.items()}

    # ---- Binance 8h funding (real): crypto-signal-pro, UTC+8 wall clock shifted back 8h ----
    f8 = pl.read_csv(ref / "derivatives" / "crypto-signal-pro__btc_funding_rate.csv")
    f8 = f8.with_columns(at=pl.col("timestamp").str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_zone="UTC") - pl.duration(hours=8))
    f8 = f8.filter((pl.col("at").dt.date() >= START) & (pl.col("at").dt.date() <= END)).sort("at")
    funding8 = [(int(a.timestamp() * 1000), r) for a, r in f8.select("at", "funding_rate").iter_rows()]
    # Cross-check with the independent raw Binance rows (gravestone-data): same instants, same values.
    gs = pl.read_csv(ref / "derivatives" / "gravestone-data__funding__BTCUSDT.csv")
    ours = dict(funding8)
    checked = 0
    for t, r in gs.select("timestamp", "funding_rate").iter_rows():
        if t in ours:
            assert abs(ours[t] - r) < 1e-12, (t, ours[t], r)
            checked += 1
    assert checked >= 100, checked
    by_day: dict[date, list[float]] = {}
    for t, r in funding8:
        by_day.setdefault(day_of(t), []).append(r)
    assert all(len(by_day.get(d, [])) == 3 for d in days(START, END)), "8h funding gaps"

    # ---- CoinGlass aggregated OI (real 4h → 1d) ----
    oi4 = complete_days(read_4h(ref, "openInterest_ohlc_aggregated_history_BTC"), date(2025, 11, 14))
    oi_real = ohlc_daily(oi4)
    first_oi, last_real_oi = min(oi_real), max(oi_real)
    assert days(first_oi, last_real_oi) == sorted(oi_real), "gap in real OI"

    # Binance BTCUSDT OI (real, 1d snapshots; row stamped D 00:00 = close of D-1).
    boi = pl.read_csv(ref / "derivatives" / "gravestone-data__oi_1d__BTCUSDT.csv")
    binance_real = {day_of(t) - timedelta(days=1): (t, btc, usd)
                    for t, btc, usd in boi.select("timestamp", "sum_open_interest", "sum_open_interest_value").iter_rows()}
    first_binance = min(binance_real)  # 2026-02-20
    # The aggregate in BTC units: real to 2025-11-13; anchors 2026-01-29 and 02-05; flat to the first real
    # Binance day; then moving with Binance's real OI.
    agg_btc: dict[date, float] = {d: v[3] / close[d] for d, v in oi_real.items()}
    knots = {last_real_oi: agg_btc[last_real_oi]} | {d: usd / close[d] for d, usd in ANCHORS_USD.items()}
    last_anchor = max(ANCHORS_USD)
    knots[first_binance] = knots[last_anchor]
    ks = sorted(knots)
    for d in days(last_real_oi + timedelta(days=1), END):
        if d <= first_binance:
            agg_btc[d] = float(np.interp((d - ks[0]).days, [(k - ks[0]).days for k in ks], [knots[k] for k in ks]))
        else:
            agg_btc[d] = knots[first_binance] * binance_real[d][1] / binance_real[first_binance][1]
    oi_rows, oi_prov = [], []
    prev = None
    for d in days(first_oi, END):
        if d in oi_real:
            o, h, low, c = oi_real[d]
            oi_rows.append({"time": ms(d), "open": int(round(o)), "high": int(round(h)), "low": int(round(low)), "close": c})
            oi_prov.append((d.isoformat(), "real", "CoinGlass 4h bars of the day aggregated to OHLC"))
        else:
            c = int(round(agg_btc[d] * close[d]))
            o = int(round(prev))
            oi_rows.append({"time": ms(d), "open": o, "high": max(o, c), "low": min(o, c), "close": c})
            how = ("interpolated in BTC terms between anchors x Yahoo close" if d <= first_binance
                   else "moves with Binance BTCUSDT real OI (BTC) x Yahoo close")
            oi_prov.append((d.isoformat(), "derived", how))
        prev = oi_rows[-1]["close"]
    write("coinglass", "futures_open_interest_aggregated_history_BTC_1d.json", oi_rows, oi_prov)

    # ---- CoinGlass OI-weighted funding (percent per 8h) ----
    fd = pl.read_parquet(ref / "derivatives" / CG.format("20250512-old-v2", "fundingRate_oi_weight_ohlc_history_BTC_BTC"))
    fd = fd.with_columns(day=pl.from_epoch(pl.col("time"), time_unit="ms").dt.date())
    daily_real = {d: (o, h, low, c) for d, o, h, low, c in fd.select("day", "open", "high", "low", "close").iter_rows()
                  if d < date(2025, 5, 12)}
    fr4 = complete_days(read_4h(ref, "fundingRate_oi_weight_ohlc_history_BTC"), date(2025, 11, 14))
    four_real = ohlc_daily(fr4)
    fr_rows, fr_prov = [], []
    for d in days(START, END):
        if d in daily_real:
            o, h, low, c = daily_real[d]  # strings, as CoinGlass sent them in that snapshot
            fr_rows.append({"time": ms(d), "open": o, "high": h, "low": low, "close": c})
            fr_prov.append((d.isoformat(), "real", "CoinGlass 1d bar as saved"))
        elif d in four_real:
            o, h, low, c = four_real[d]
            fr_rows.append({"time": ms(d), "open": round(o, 6), "high": round(h, 6), "low": round(low, 6), "close": round(c, 6)})
            fr_prov.append((d.isoformat(), "real", "CoinGlass 4h bars of the day aggregated to OHLC"))
        else:
            pct = [r * 100 for r in by_day[d]]
            fr_rows.append({"time": ms(d), "open": round(pct[0], 6), "high": round(max(pct), 6),
                            "low": round(min(pct), 6), "close": round(pct[-1], 6)})
            fr_prov.append((d.isoformat(), "derived", "Binance BTCUSDT 8h fundings of the day x 100 (Binance only)"))
    write("coinglass", "futures_funding_rate_oi_weight_history_BTC_1d.json", fr_rows, fr_prov)

    # ---- CoinGlass liquidations (Binance, USD) ----
    lq = pl.read_parquet(ref / "derivatives" / CG.format("20250512-old-v2", "liquidation_aggregated_coin_history_BTC_BTC"))
    lq = lq.with_columns(day=pl.from_epoch(pl.col("time"), time_unit="ms").dt.date())
    liq: dict[date, tuple[float, float]] = {
        d: (lg, sh) for d, lg, sh in lq.select("day", "aggregated_long_liquidation_usd", "aggregated_short_liquidation_usd").iter_rows()
        if START <= d < date(2025, 5, 12)
    }
    lq4 = complete_days(read_4h(ref, "liquidation_aggregated_coin_history_BTC"), date(2025, 11, 14))
    g = lq4.group_by("day").agg(pl.col("aggregated_long_liquidation_usd").sum(), pl.col("aggregated_short_liquidation_usd").sum())
    liq_4h = {d: (lg, sh) for d, lg, sh in g.iter_rows() if d >= date(2025, 5, 12)}
    # Model for the missing days, fitted on the real Binance days that have aggregate OI:
    # long = a + b * OI(prev close, USD) * drawdown, drawdown = max(0, 1 - low / prev close);
    # short = a + b * OI(prev close, USD) * run-up, run-up = max(0, high / prev close - 1).
    fit_days = [d for d in sorted(set(liq) | set(liq_4h)) if d - timedelta(days=1) in oi_real]
    oi_close_usd = {r_d: r["close"] for r_d, r in zip(days(first_oi, END), oi_rows, strict=True)}

    def drivers(d: date) -> tuple[float, float]:
        pc = close[d - timedelta(days=1)]
        o_prev = oi_close_usd[d - timedelta(days=1)]
        return o_prev * max(0.0, 1 - price[d][2] / pc), o_prev * max(0.0, price[d][1] / pc - 1)

    x = np.array([drivers(d) for d in fit_days])
    y = np.array([(liq.get(d) or liq_4h[d]) for d in fit_days])
    coef = []
    for j in (0, 1):
        a_mat = np.column_stack([np.ones(len(x)), x[:, j]])
        coef.append(np.linalg.lstsq(a_mat, y[:, j], rcond=None)[0])
    print(f"liquidation model: long = {coef[0][0]:.0f} + {coef[0][1]:.5f} x OI x drawdown; "
          f"short = {coef[1][0]:.0f} + {coef[1][1]:.5f} x OI x run-up (fit on {len(fit_days)} real days)")
    lq_rows, lq_prov = [], []
    for d in days(START, END):
        if d in liq:
            lg, sh = liq[d]
            lq_prov.append((d.isoformat(), "real", "CoinGlass 1d bar as saved (Binance)"))
        elif d in liq_4h:
            lg, sh = liq_4h[d]
            lq_prov.append((d.isoformat(), "real", "CoinGlass 4h bars of the day summed (Binance)"))
        else:
            dl, du = drivers(d)
            lg = max(0.0, coef[0][0] + coef[0][1] * dl)
            sh = max(0.0, coef[1][0] + coef[1][1] * du)
            lq_prov.append((d.isoformat(), "derived", "fitted model: a + b x aggregate OI x (drawdown|run-up) vs prev close"))
        lq_rows.append({"time": ms(d), "aggregated_long_liquidation_usd": round(lg, 2),
                        "aggregated_short_liquidation_usd": round(sh, 2)})
    write("coinglass", "futures_liquidation_aggregated_history_BTC_Binance_1d.json", lq_rows, lq_prov)

    # ---- Binance USDⓈ-M: funding and daily OI (both observed) ----
    bf_rows = [{"symbol": "BTCUSDT", "fundingTime": t, "fundingRate": f"{r:.8f}",
                "markPrice": f"{price[day_of(t)][0]:.8f}"} for t, r in funding8]
    write("binance_futures", "fundingRate_BTCUSDT.json", bf_rows,
          [(day_of(t).isoformat(), "real", "Binance 8h funding; markPrice = Yahoo BTC-USD day open (not Binance's)")
           for t, _ in funding8])
    bo_rows, bo_prov, missing = binance_oi_daily(ref, binance_real)
    print(f"Binance OI: {len(bo_rows)} days, {len(missing)} with a zero 00:00 snapshot filled from 23:00 (derived): "
          + ", ".join(d.isoformat() for d in missing))
    write("binance_futures", "openInterestHist_BTCUSDT_1d.json", bo_rows, bo_prov)

    for d in (date(2026, 1, 29), date(2026, 2, 4), date(2026, 2, 5), date(2026, 2, 6)):
        i = (d - START).days
        print(d, f"OI {oi_close_usd[d] / 1e9:.1f}bn", f"close {close[d]:,.0f}",
              f"long liq {lq_rows[i]['aggregated_long_liquidation_usd'] / 1e6:,.0f}M",
              f"funding close {fr_rows[i]['close']}")


if __name__ == "__main__":
    main()
