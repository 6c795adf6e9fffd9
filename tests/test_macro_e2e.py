"""End to end on the replay warehouse: the macro, price and regime rows of the Feb-2026 reference case, the
2026-02-06 index moves, the carry-forward and the signal outcomes
(the dbt unit tests run in the full rebuild of tests/test_dbt_incremental.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest


@pytest.fixture()
def con(replay_warehouse: Path):
    # per test, so that no connection holds the file's lock while a later test of the group writes to it
    connection = duckdb.connect(str(replay_warehouse), read_only=True)
    yield connection
    connection.close()


def row(con, day: str, indicator: str) -> dict:
    cur = con.execute("select * from marts.signal_dashboard where as_of_date = ? and indicator = ?", [day, indicator])
    names = [d[0] for d in cur.description]
    found = cur.fetchall()
    assert len(found) == 1, f"{len(found)} rows for {indicator} on {day}"
    return dict(zip(names, found[0], strict=True))


def test_macro_row_on_2026_02_05_is_bear(con):
    r = row(con, "2026-02-05", "macro_risk_appetite")
    assert r["status"] == "bear_continuation"
    assert r["reading"] == 0 and r["source"] == "fred+stooq" and r["source_as_of"] == date(2026, 2, 5)
    assert not r["is_stale"]
    assert "4 of 4 equity indices below their 20d MA" in r["rule"]


def test_price_row_on_2026_02_05_is_below_the_band(con):
    r = row(con, "2026-02-05", "price_vs_key_levels")
    assert r["status"] == "bear_continuation"
    assert round(r["reading"]) == 62702
    assert "below the support band 66,900-70,600" in r["rule"]


def test_regime_on_2026_02_05_is_not_a_trend_reversal_and_names_missing_inputs(con):
    r = row(con, "2026-02-05", "regime")
    state = r["reading_text"].split(":")[0]
    assert state in ("washout_risk", "relief_rally") and state != "trend_reversal"
    assert r["status"] == "bear_continuation" and r["category"] == "composite"
    assert "1 macro risk appetite: fails (bear_continuation)" in r["rule"]
    assert "2 ETF outflows slowing or reversing: fails (bear_continuation)" in r["rule"]
    present = {i for (i,) in con.execute(
        "select indicator from marts.signal_dashboard where as_of_date = '2026-02-05'").fetchall()}
    for name in ("funding_rate", "risk_reversal_25d"):
        if name not in present:  # derivatives come from another branch: the regime must say so, not guess
            assert f"{name} missing" in r["rule"]
            assert "3 derivatives normalising (funding and 25d skew bull): unknown" in r["rule"]


def test_every_dashboard_day_has_one_regime_row_after_the_indicators(con):
    days, regimes = con.execute(
        "select count(distinct as_of_date), count(*) filter (where indicator = 'regime') from marts.signal_dashboard"
    ).fetchone()
    assert days == regimes == (date(2026, 2, 28) - date(2024, 1, 11)).days + 1


def test_macro_moves_on_2026_02_06(con):
    moves = dict(con.execute(
        "select series, round(change_1d_pct, 2) from intermediate.int_macro__daily where as_of_date = '2026-02-06'"
    ).fetchall())
    assert moves["sp500"] == 1.97
    assert moves["nasdaq_composite"] == 2.18
    assert moves["dow_jones"] == 2.47
    assert moves["sox"] == 5.70
    assert moves["dollar_index"] == -0.19
    # futures closes (COMEX front month), not the spot moves quoted in the press (+3.9 % / +8.6 %): see docs
    assert moves["gold"] == 3.97 and moves["silver"] == 9.98  # spot XAU/XAG, as reported on 6 Feb 2026
    text = row(con, "2026-02-06", "macro_risk_appetite")["reading_text"]
    assert "S&P +1.97%, Nasdaq +2.18%, Dow +2.47%, SOX +5.70%" in text and "dollar -0.19%" in text


def test_closes_are_carried_forward_over_weekend_and_holiday(con):
    sat = con.execute(
        "select series, obs_date, is_carried_forward from intermediate.int_macro__daily where as_of_date = '2026-02-07'"
    ).fetchall()
    assert len(sat) == 8 and all(r[1] == date(2026, 2, 6) and r[2] for r in sat)
    # Presidents' Day 2026 (Mon 16 Feb): equities carry Friday's close
    sp = con.execute(
        "select obs_date, is_carried_forward from intermediate.int_macro__daily "
        "where as_of_date = '2026-02-16' and series = 'sp500'").fetchone()
    assert sp == (date(2026, 2, 13), True)
    fresh = con.execute(
        "select count(*) from intermediate.int_macro__daily where as_of_date = '2026-02-06' and is_carried_forward"
    ).fetchone()[0]
    assert fresh == 0
    stale = con.execute("select count(*) from marts.signal_dashboard where indicator = 'macro_risk_appetite' and is_stale").fetchone()[0]
    assert stale == 0


def test_signal_outcomes_use_forward_btc_closes(con):
    o = con.execute(
        "select btc_close_usd, btc_close_7d_usd, fwd_return_7d, fwd_return_30d, is_rise_7d, signal_state "
        "from marts.fct_signal_outcomes where as_of_date = '2026-02-05' and indicator = 'price_vs_key_levels'"
    ).fetchone()
    close_0, close_7 = (c for (c,) in con.execute(
        "select close_usd from intermediate.int_btc_price__daily where price_date in ('2026-02-05', '2026-02-12') "
        "order by price_date").fetchall())
    assert o[0] == close_0 and o[1] == close_7
    assert o[2] == pytest.approx(close_7 / close_0 - 1)
    assert o[3] is None  # 2026-03-07 is past the replay window
    assert o[4] == (close_7 > close_0) and o[5] == "bear_continuation"
    regime_state = con.execute(
        "select signal_state from marts.fct_signal_outcomes where as_of_date = '2026-02-05' and indicator = 'regime'"
    ).fetchone()[0]
    assert regime_state in ("washout_risk", "relief_rally")


def test_outcome_summary_adds_up(con):
    summary = con.execute(
        "select indicator, sum(signal_days), sum(rises_7d + falls_7d), sum(days_with_7d_outcome) "
        "from marts.fct_signal_outcome_summary group by indicator order by indicator").fetchall()
    expected = con.execute(
        "select indicator, count(*), count(is_rise_7d), count(fwd_return_7d) from marts.fct_signal_outcomes "
        "where not is_stale and btc_close_usd is not null group by indicator order by indicator").fetchall()
    assert summary == expected
    assert {s[0] for s in summary} >= {"macro_risk_appetite", "price_vs_key_levels", "regime", "etf_net_flow"}
    bear = con.execute(
        "select falls_7d, days_with_7d_outcome, hit_rate_7d from marts.fct_signal_outcome_summary "
        "where indicator = 'price_vs_key_levels' and status = 'bear_continuation'").fetchone()
    assert bear[2] == pytest.approx(bear[0] / bear[1])
