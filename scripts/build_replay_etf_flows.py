"""Build the ETF-flow replay payloads from the real public series in shared/reference-data/.

    python scripts/build_replay_etf_flows.py [--reference ../shared/reference-data]

Writes
* pipelines/replay/data/farside/bitcoin-etf-flow-all-data.html — Farside's table layout;
* pipelines/replay/data/coinglass/etf_bitcoin_flow_history.json — CoinGlass v4 envelope.
See pipelines/replay/data/README.md for what each number is and where it comes from.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pipelines" / "replay" / "data"
WINDOW_START = date(2024, 1, 11)
WINDOW_END = date(2026, 2, 28)  # inclusive
# Columns Farside showed during the window (MSBT, a late-2026 listing, is all zero before it and left out).
FARSIDE_TICKERS = ["IBIT", "FBTC", "BITB", "ARKB", "BTCO", "EZBC", "BRRR", "HODL", "BTCW", "GBTC", "BTC"]
ISSUERS = {
    "IBIT": ("Blackrock", "0.25%"), "FBTC": ("Fidelity", "0.25%"), "BITB": ("Bitwise", "0.20%"),
    "ARKB": ("Ark", "0.21%"), "BTCO": ("Invesco", "0.25%"), "EZBC": ("Franklin", "0.19%"),
    "BRRR": ("Valkyrie", "0.25%"), "HODL": ("VanEck", "0.20%"), "BTCW": ("WTree", "0.25%"),
    "GBTC": ("Grayscale", "1.50%"), "BTC": ("Grayscale", "0.15%"),
}
# CoinGlass's own payloads (liquidity-report parquet) run to 2025-11-14, whose row is an unfinished day.
COINGLASS_REAL_END = date(2025, 11, 13)


def load_farside_csv(reference: Path) -> list[dict[str, str]]:
    with open(reference / "etf_flows" / "alpine-data__btc_flows.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # the first row (2024-01-01) is a bogus copy of 2024-01-11: the funds began trading on 11 Jan 2024
    rows = [r for r in rows if WINDOW_START <= date.fromisoformat(r["date"]) <= WINDOW_END]
    for r in rows:
        assert float(r["MSBT"]) == 0.0, r
    return rows


def fmt_millions(value: float) -> str:
    text = f"{abs(value):,.1f}"
    return f"({text})" if value < 0 else text


def cell(value: str) -> str:
    if value in ("-", ""):
        return '<td><span class="tabletext">-</span></td>'
    css = "redFont" if value.startswith("(") else "tabletext"
    return f'<td><span class="{css}">{html.escape(value)}</span></td>'


def build_farside(rows: list[dict[str, str]]) -> str:
    """Farside's layout: holidays (all-zero rows in the CSV) and days before a fund's first flow are '-'."""
    first_flow = {}
    for t in FARSIDE_TICKERS:
        first_flow[t] = min((date.fromisoformat(r["date"]) for r in rows if float(r[t]) != 0.0), default=None)
    body, sums, cells_by_col = [], {t: 0.0 for t in [*FARSIDE_TICKERS, "Total"]}, {t: [] for t in [*FARSIDE_TICKERS, "Total"]}
    for r in rows:
        day = date.fromisoformat(r["date"])
        holiday = all(float(r[t]) == 0.0 for t in [*FARSIDE_TICKERS, "Total"])
        tds = [f'<td><span class="tabletext">{day.strftime("%d %b %Y")}</span></td>']
        for t in [*FARSIDE_TICKERS, "Total"]:
            v = float(r[t])
            if holiday or (t != "Total" and (first_flow[t] is None or day < first_flow[t])):
                tds.append(cell("-"))
                continue
            sums[t] += v
            cells_by_col[t].append(v)
            tds.append(cell(fmt_millions(v)))
        body.append("<tr>" + "".join(tds) + "</tr>")
    foot = []
    for label, fn in (("Total", lambda c: sums[c]), ("Average", lambda c: sums[c] / max(1, len(cells_by_col[c]))),
                      ("Maximum", lambda c: max(cells_by_col[c], default=0.0)), ("Minimum", lambda c: min(cells_by_col[c], default=0.0))):
        tds = [f'<td><span class="tabletext">{label}</span></td>'] + [cell(fmt_millions(fn(c))) for c in [*FARSIDE_TICKERS, "Total"]]
        foot.append('<tr class="summary">' + "".join(tds) + "</tr>")
    head = (
        "<tr><th></th>" + "".join(f"<th>{ISSUERS[t][0]}</th>" for t in FARSIDE_TICKERS) + "<th></th></tr>\n"
        "<tr><th></th>" + "".join(f"<th>{t}</th>" for t in FARSIDE_TICKERS) + "<th>Total</th></tr>\n"
        "<tr><th>Fee</th>" + "".join(f"<th>{ISSUERS[t][1]}</th>" for t in FARSIDE_TICKERS) + "<th></th></tr>"
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"UTF-8\"><title>Bitcoin ETF Flow – All Data – Farside Investors</title></head>\n"
        "<body><div class=\"entry-content\"><h1>Bitcoin ETF Flow (US$m)</h1>\n"
        "<p>Replay copy for btc-signals: values from Farside's table, see pipelines/replay/data/README.md.</p>\n"
        "<table class=\"etf\">\n<thead>\n" + head + "\n</thead>\n<tbody>\n" + "\n".join(body) + "\n"
        + "\n".join(foot) + "\n</tbody>\n</table></div></body></html>\n"
    )


def yahoo_btc_closes(reference: Path) -> dict[date, float]:
    df = pl.read_csv(reference / "macro" / "risk-divergence__btc.csv", infer_schema_length=None)
    return {date.fromisoformat(d): round(c, 1) for d, c in zip(df["Date"], df["Close"], strict=True)}


def build_coinglass(reference: Path, farside_rows: list[dict[str, str]]) -> dict:
    df = pl.read_parquet(reference / "etf_flows" / "liquidity-report__20251114__api_etf_bitcoin_flow_history.parquet")
    records = []
    for rec in df.iter_rows(named=True):
        day = datetime.fromtimestamp(rec["timestamp"] / 1000, tz=UTC).date()
        if WINDOW_START <= day <= COINGLASS_REAL_END:
            records.append({"timestamp": rec["timestamp"], "flow_usd": rec["flow_usd"], "price_usd": rec["price_usd"],
                            "etf_flows": [{"etf_ticker": f["etf_ticker"], "flow_usd": f["flow_usd"]} for f in rec["etf_flows"]]})
    closes = yahoo_btc_closes(reference)
    for r in farside_rows:
        day = date.fromisoformat(r["date"])
        if day <= COINGLASS_REAL_END:
            continue
        holiday = all(float(r[t]) == 0.0 for t in [*FARSIDE_TICKERS, "Total"])
        ts = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        records.append({
            "timestamp": ts,
            "flow_usd": round(float(r["Total"]) * 1e6, 2),
            "price_usd": closes.get(day),
            "etf_flows": [{"etf_ticker": t, "flow_usd": None if holiday else round(float(r[t]) * 1e6, 2)} for t in FARSIDE_TICKERS],
        })
    return {"code": "0", "msg": "success", "data": records}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference-data")
    args = ap.parse_args()
    rows = load_farside_csv(args.reference)
    (OUT / "farside").mkdir(parents=True, exist_ok=True)
    (OUT / "coinglass").mkdir(parents=True, exist_ok=True)
    (OUT / "farside" / "bitcoin-etf-flow-all-data.html").write_text(build_farside(rows))
    payload = build_coinglass(args.reference, rows)
    (OUT / "coinglass" / "etf_bitcoin_flow_history.json").write_text(json.dumps(payload, separators=(",", ":")))
    print(f"farside rows: {len(rows)}; coinglass records: {len(payload['data'])}")


if __name__ == "__main__":
    main()
