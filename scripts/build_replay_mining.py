"""Build the mempool.space replay payloads from the real public series in shared/reference-data/mining.

    python scripts/build_replay_mining.py [--reference ../shared/reference-data]

Writes, under pipelines/replay/data/mempool/ (shapes of mempool.space's mining API):
* hashrates.json              — ``[{"timestamp": s, "avgHashrate": H/s}, ...]`` one per day (real daily estimates);
* difficulty_adjustments.json — ``[[time_s, height, difficulty, adjustment_ratio], ...]`` ascending by height,
                                derived from the step changes of the real daily difficulty;
* block_fees.json             — ``[{"avgHeight", "timestamp", "avgFees", "USD"}, ...]`` one bucket per day
                                (real fees per day / 144, heights interpolated, USD = Yahoo BTC-USD close);
* difficulty_estimates.json   — ``{"YYYY-MM-DD": {<GET /api/v1/difficulty-adjustment answer as of that day's end>}}``
                                derived from the real daily hashrate and difficulty.
See pipelines/replay/data/mempool/README.md for exactly what is real and what is derived.
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pipelines" / "replay" / "data" / "mempool"
SERIES_START = date(2023, 1, 1)  # a year before the replay window, so 1y/2y/3y lookbacks have data
WINDOW_START = date(2024, 1, 11)
WINDOW_END = date(2026, 2, 28)  # inclusive (the mining series itself ends 2026-02-12)
EPOCH_BLOCKS = 2016
TARGET_BLOCK_SECONDS = 600
BLOCKS_PER_DAY = 144
# Anchor for numbering the retargets: the first retarget after the April 2024 halving was block 840,672
# (= 417 × 2016); it set the difficulty to about 88.10 T, the value the daily series shows in full from 2024-04-25.
ANCHOR_HEIGHT = 840_672
ANCHOR_DIFFICULTY = 88_104_191_118_792
# A relative change smaller than this between two days is float noise of the daily averaging, not a retarget.
NOISE = 1e-9


def read_series(path: Path, column: str) -> dict[date, float]:
    with open(path, newline="") as fh:
        return {
            date.fromisoformat(r["date"]): float(r[column])
            for r in csv.DictReader(fh)
            if date.fromisoformat(r["date"]) >= SERIES_START
        }


def midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def detect_retargets(difficulty: dict[date, float]) -> list[dict]:
    """Group the days whose daily-average difficulty changed; one group = one retarget.

    A retarget inside a day shows as a partial value that day (a mix of old and new difficulty) and the
    full new value the next day, so the group is at most two days long. The fraction of the first day
    mined at the old difficulty, f = (new - partial) / (new - old), places the retarget at day + f × 24h.
    """
    days = sorted(difficulty)
    # "next day" = the next day the series has (it misses 2025-11-13..15; a retarget across that gap still
    # shows its partial value on 2025-11-12 and its full value on 2025-11-16)
    following = dict(zip(days, days[1:], strict=False))
    preceding = {b: a for a, b in following.items()}
    changed = [d for a, d in zip(days, days[1:], strict=False) if abs(difficulty[d] / difficulty[a] - 1) > NOISE]
    groups: list[list[date]] = []
    for d in changed:
        if groups and following.get(groups[-1][-1]) == d:
            groups[-1].append(d)
        else:
            groups.append([d])
    out = []
    for g in groups:
        assert len(g) <= 2, f"a difficulty change spread over {len(g)} days: {g}"
        old = difficulty[preceding[g[0]]]
        new = difficulty[g[-1]]
        frac = (new - difficulty[g[0]]) / (new - old) if len(g) == 2 else 0.0
        assert -1e-6 <= frac <= 1 + 1e-6, (g, frac)
        out.append(
            {
                "time": midnight(g[0]) + round(min(max(frac, 0.0), 1.0) * 86400),
                "difficulty": new,
                "adjustment": round(new / old, 6),
                "full_from": g[-1] if len(g) == 2 else g[0],
            }
        )
    anchor = [i for i, r in enumerate(out) if abs(r["difficulty"] / ANCHOR_DIFFICULTY - 1) < 1e-6]
    assert len(anchor) == 1, f"anchor retarget not found exactly once: {anchor}"
    for i, r in enumerate(out):
        r["height"] = ANCHOR_HEIGHT + (i - anchor[0]) * EPOCH_BLOCKS
    return out


def height_at(ts: float, retargets: list[dict]) -> float:
    """Block height at a time, interpolated linearly between retargets (extrapolated at 144/day after the last)."""
    prev = [r for r in retargets if r["time"] <= ts]
    nxt = [r for r in retargets if r["time"] > ts]
    if not prev:
        raise ValueError(f"no retarget before {ts}")
    p = prev[-1]
    if not nxt:
        return p["height"] + (ts - p["time"]) / TARGET_BLOCK_SECONDS
    n = nxt[0]
    return p["height"] + (ts - p["time"]) / (n["time"] - p["time"]) * EPOCH_BLOCKS


def read_btc_close(reference: Path) -> dict[date, float]:
    with open(reference / "macro" / "risk-divergence__btc.csv", newline="") as fh:
        return {date.fromisoformat(r["Date"]): float(r["Close"]) for r in csv.DictReader(fh)}


def estimate_as_of(now: int, retargets: list[dict], hashrate: dict[date, float], difficulty: dict[date, float]) -> dict:
    """GET /api/v1/difficulty-adjustment as mempool.space computes it, at instant ``now`` (seconds).

    Blocks mined since the last retarget are not in the reference data; they are estimated from the real
    daily hashrate and difficulty: blocks = hashrate × seconds / (difficulty × 2^32), the inverse of how a
    daily hashrate is estimated from the blocks found. The rest follows mempool's calcDifficultyAdjustment.
    """
    last = [r for r in retargets if r["time"] <= now][-1]
    prev_ratio = last["adjustment"]
    blocks = 0.0
    t = last["time"]
    while t < now:
        day = datetime.fromtimestamp(t, tz=UTC).date()
        end = min(now, midnight(day + timedelta(days=1)))
        known = max(d for d in hashrate if d <= day)  # the series misses 2025-11-13..15: last known day
        blocks += hashrate[known] * 1e12 * (end - t) / (difficulty[known] * 2**32)
        t = end
    blocks_in_epoch = min(int(blocks), EPOCH_BLOCKS - 1)
    height = last["height"] + blocks_in_epoch
    diff_seconds = max(0, now - last["time"])
    time_avg_s = diff_seconds / blocks_in_epoch if blocks_in_epoch else TARGET_BLOCK_SECONDS
    change = (TARGET_BLOCK_SECONDS / (diff_seconds / (blocks_in_epoch + 1)) - 1) * 100
    change = max(-75.0, min(300.0, change))
    remaining = EPOCH_BLOCKS - blocks_in_epoch
    time_avg_ms = int(time_avg_s * 1000)
    return {
        "progressPercent": blocks_in_epoch / EPOCH_BLOCKS * 100,
        "difficultyChange": change,
        "estimatedRetargetDate": remaining * time_avg_ms + now * 1000,
        "remainingBlocks": remaining,
        "remainingTime": remaining * time_avg_ms,
        "previousRetarget": (prev_ratio - 1) * 100,
        "previousTime": last["time"],
        "nextRetargetHeight": height + remaining,
        "timeAvg": time_avg_ms,
        "adjustedTimeAvg": time_avg_ms,
        "timeOffset": 0,
        "expectedBlocks": diff_seconds / TARGET_BLOCK_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference-data")
    args = parser.parse_args()
    mining = args.reference / "mining"
    difficulty = read_series(mining / "gamlss-btc-VaR__difficulty.csv", "difficulty")
    hashrate = read_series(mining / "gamlss-btc-VaR__hashrate.csv", "hashrate")
    assert sorted(difficulty) == sorted(hashrate), "difficulty and hashrate files cover different days"
    retargets = detect_retargets(difficulty)
    last_day = max(difficulty)

    hashrates = [{"timestamp": midnight(d), "avgHashrate": hashrate[d] * 1e12} for d in sorted(hashrate)]
    adjustments = [[r["time"], r["height"], r["difficulty"], r["adjustment"]] for r in retargets]

    closes = read_btc_close(args.reference)
    with open(mining / "gamlss-btc-VaR__coinmetrics.csv", newline="") as fh:
        fee_rows = [(date.fromisoformat(r["date"]), float(r["fees_btc"])) for r in csv.DictReader(fh)]
    fees = []
    for day, fees_btc in sorted(fee_rows):
        noon = midnight(day) + 43200
        fees.append(
            {
                "avgHeight": int(height_at(noon, retargets)),
                "timestamp": noon,
                "avgFees": int(round(fees_btc * 1e8 / BLOCKS_PER_DAY)),
                "USD": closes[day],
            }
        )

    estimates = {}
    day = WINDOW_START
    while day <= last_day:
        end_of_day = midnight(day + timedelta(days=1)) - 1
        estimates[day.isoformat()] = estimate_as_of(end_of_day, retargets, hashrate, difficulty)
        day += timedelta(days=1)

    OUT.mkdir(parents=True, exist_ok=True)
    for name, payload in [
        ("hashrates.json", hashrates),
        ("difficulty_adjustments.json", adjustments),
        ("block_fees.json", fees),
        ("difficulty_estimates.json", estimates),
    ]:
        (OUT / name).write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    print(
        f"hashrates {len(hashrates)} days {min(hashrate)}..{last_day}; retargets {len(retargets)} "
        f"(heights {retargets[0]['height']}..{retargets[-1]['height']}); fee days {len(fees)}; "
        f"estimates {len(estimates)}"
    )
    for r in retargets[-4:]:
        print(f"  retarget {datetime.fromtimestamp(r['time'], tz=UTC):%Y-%m-%d %H:%M} height {r['height']} "
              f"difficulty {r['difficulty']:,.0f} ({(r['adjustment'] - 1) * 100:+.2f} %)")
    print(f"  estimate as of 2026-02-05: {estimates['2026-02-05']['difficultyChange']:+.2f} %")


if __name__ == "__main__":
    main()
