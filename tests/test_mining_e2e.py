"""Hash price + difficulty end to end on the replay warehouse (the session's one pipeline run)."""

from datetime import date
from pathlib import Path

import duckdb
import pytest

# The worked check of shared/reference-data/SOURCES.md §3 for 2026-02-05, from the reference files:
# hashrate 894,379,696 TH/s, 144 blocks × 3.125 BTC + 6.15 BTC of fees, BTC close 62,702.10 USD.
REF_HASHRATE_PHS = 894_379_696.84106 / 1000
REF_REVENUE_BTC = 144 * 3.125 + 6.15
REF_CLOSE_USD = 62_702.10
REF_HASH_PRICE = REF_REVENUE_BTC * REF_CLOSE_USD / REF_HASHRATE_PHS  # ≈ 31.98 USD per PH/s per day
# The dashboard's reading divides by the hashrate the difficulty in force implies (difficulty × 2^32 / 600 s),
# not by the day's noisy estimate: 141,668,107,417,558 × 2^32 / 600 / 1e15 = 1,014,099.8 PH/s (docs/mining.md).
REF_DIFFICULTY = 141_668_107_417_558
REF_DIFFICULTY_HASHRATE_PHS = REF_DIFFICULTY * 2**32 / 600 / 1e15
REF_HASH_PRICE_DIFFICULTY = REF_REVENUE_BTC * REF_CLOSE_USD / REF_DIFFICULTY_HASHRATE_PHS  # ≈ 28.20


def one(path: Path, sql: str, params=None) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    assert len(rows) == 1, rows
    return dict(zip(names, rows[0], strict=True))


def test_worked_example_formula():
    assert REF_HASH_PRICE == pytest.approx(32.0, abs=0.05)


def test_hash_price_on_the_reference_day_reproduces_the_worked_check(replay_warehouse):
    row = one(replay_warehouse, "select * from intermediate.int_mining__daily where hashrate_date = '2026-02-05'")
    assert row["hashrate_phs"] == pytest.approx(REF_HASHRATE_PHS, rel=1e-9)
    assert row["subsidy_btc_per_day"] == 450.0
    # fees travel as mempool's integer satoshis per block (× 144 / 1e8): within a few satoshis of 6.15 BTC
    assert row["fees_btc_per_day"] == pytest.approx(6.15, abs=0.01)
    assert row["btc_close_usd"] == pytest.approx(REF_CLOSE_USD, abs=0.01)
    # tolerance: 0.05 USD/PH/s/day (the fee rounding above moves it by < 0.002)
    assert row["hash_price_on_estimate_usd_per_phs_day"] == pytest.approx(REF_HASH_PRICE, abs=0.05)
    assert row["hash_price_on_estimate_usd_per_phs_day"] == pytest.approx(32.0, abs=0.05)
    assert row["difficulty"] == REF_DIFFICULTY
    assert row["hash_price_usd_per_phs_day"] == pytest.approx(REF_HASH_PRICE_DIFFICULTY, abs=0.05)
    assert row["hash_price_btc_per_phs_day"] == pytest.approx(REF_REVENUE_BTC / REF_DIFFICULTY_HASHRATE_PHS, rel=1e-4)
    assert row["has_fee_data"] is True
    assert row["last_difficulty_change_pct"] == pytest.approx(-3.28, abs=0.01)
    assert row["next_difficulty_change_pct"] == pytest.approx(-13.4, abs=0.5)  # reported: about -13.37 %


def test_dashboard_row_on_the_reference_day_reads_bear_continuation(replay_warehouse):
    row = one(replay_warehouse,
              "select * from marts.signal_dashboard where as_of_date = '2026-02-05' and indicator = 'hash_price'")
    assert row["status"] == "bear_continuation"
    assert row["category"] == "mining"
    assert row["reading"] == pytest.approx(REF_HASH_PRICE_DIFFICULTY, abs=0.05)
    assert "is a new 90-day low" in row["rule"]
    assert "31.98 USD/PH/s/day" in row["reading_text"]
    assert "next est. -13.45 %" in row["reading_text"] and "last -3.28 % on 2026-01-22" in row["reading_text"]
    assert row["source"] == "mempool" and row["source_as_of"] == date(2026, 2, 5) and row["is_stale"] is False


def test_after_the_retarget_the_rows_name_it(replay_warehouse):
    row = one(replay_warehouse,
              "select * from marts.signal_dashboard where as_of_date = '2026-02-09' and indicator = 'hash_price'")
    assert "last -11.16 % on 2026-02-07" in row["reading_text"]


def test_mining_series_end_is_stale_not_silently_repeated(replay_warehouse):
    fresh = one(replay_warehouse,
                "select * from marts.signal_dashboard where as_of_date = '2026-02-15' and indicator = 'hash_price'")
    stale = one(replay_warehouse,
                "select * from marts.signal_dashboard where as_of_date = '2026-02-28' and indicator = 'hash_price'")
    assert fresh["source_as_of"] == stale["source_as_of"] == date(2026, 2, 12)
    assert fresh["is_stale"] is False  # 3 days late is within the seed's window
    assert stale["is_stale"] is True


def test_days_without_fee_data_are_flagged_subsidy_only(replay_warehouse):
    row = one(replay_warehouse, "select * from intermediate.int_mining__daily where hashrate_date = '2025-06-02'")
    assert row["has_fee_data"] is False and row["fees_btc_per_day"] == 0
    dash = one(replay_warehouse,
               "select * from marts.signal_dashboard where as_of_date = '2025-06-02' and indicator = 'hash_price'")
    assert "[subsidy only: no fee data that day]" in dash["reading_text"]
    # before the April 2024 halving the subsidy was 6.25 BTC a block
    early = one(replay_warehouse, "select * from intermediate.int_mining__daily where hashrate_date = '2024-04-10'")
    assert early["subsidy_btc_per_day"] == 900.0


def test_raw_mining_tables_and_wide_mart(replay_warehouse):
    counts = one(replay_warehouse, """
        select (select count(*) from raw.mining_hashrate) as hashrate,
               (select count(*) from raw.mining_difficulty_adjustments) as retargets,
               (select count(*) from raw.mining_block_rewards) as fee_days,
               (select count(*) from raw.mining_difficulty_estimate) as estimates""")
    # 2024-01-11 .. 2026-02-12 less 3 days the source misses (2025-11-13..15)
    assert counts == {"hashrate": 761, "retargets": 55, "fee_days": 100, "estimates": 764}  # estimates only where the replay file has a state (to 2026-02-12)
    mart = one(replay_warehouse, "select * from marts.fct_daily_market where as_of_date = '2026-02-05'")
    assert mart["hash_price_usd_per_phs_day"] == pytest.approx(REF_HASH_PRICE_DIFFICULTY, abs=0.05)
    assert mart["next_difficulty_change_pct"] == pytest.approx(-13.45, abs=0.01)


def test_bull_rule_fires_when_an_adjustment_lands_and_hashrate_is_steady(replay_warehouse):
    with duckdb.connect(str(replay_warehouse), read_only=True) as con:
        bad = con.execute("""
            select count(*) from intermediate.int_signal__hash_price s
            join intermediate.int_mining__daily d on d.hashrate_date = s.source_as_of
            where s.status = 'bull_confirmation'
              and not (d.days_since_last_adjustment <= 7 and abs(d.hashrate_7d_change_pct) <= 3
                       and not d.is_new_low and d.hashrate_7d_change_pct >= -5)""").fetchone()[0]
        bulls = con.execute(
            "select count(*) from intermediate.int_signal__hash_price where status = 'bull_confirmation'").fetchone()[0]
    assert bulls > 0 and bad == 0
