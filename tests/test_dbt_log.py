"""`make dev`'s terminal shows dbt's summary and its problems, not every line of its log."""

import io

from pipelines.assets.dbt import DbtLogSummary

# dbt's own lines (as dagster-dbt echoes them, colour codes included) for a build with one failing test
LINES = [
    "Running with dbt=1.11.16",
    "Found 48 models, 2 seeds, 177 data tests, 4 unit tests, 20 sources, 654 macros",
    "1 of 228 START seed file seeds.signal_rules ..................................... [RUN]",
    "1 of 228 OK loaded seed file seeds.signal_rules ................................. [\x1b[32mINSERT 33\x1b[0m in 0.21s]",
    "27 of 228 START test not_null_stg_binance__btc_klines_price_date ............... [RUN]",
    "27 of 228 FAIL 1 not_null_stg_binance__btc_klines_price_date ................... [\x1b[31mFAIL 1\x1b[0m in 0.06s]",
    "28 of 228 WARN 2 accepted_range_stg_deribit__dvol_close__0 ..................... [\x1b[33mWARN 2\x1b[0m in 0.05s]",
    "Finished running 2 seeds, 27 table models, 177 data tests, 4 unit tests, 18 view models in 0 hours 0 minutes and 32.94 seconds (32.94s).",
    "",
    "\x1b[31mCompleted with 1 error, 0 partial successes, and 1 warning:\x1b[0m",
    "Failure in test not_null_stg_binance__btc_klines_price_date (models/staging/_staging.yml)",
    "  Got 1 result, configured to fail if != 0",
    "Done. PASS=226 WARN=1 ERROR=1 SKIP=0 NO-OP=0 TOTAL=228",
]


def test_only_problems_and_the_closing_summary_reach_the_terminal():
    out = io.StringIO()
    summary = DbtLogSummary(out)
    for line in LINES:
        summary.write(line + "\n")
    shown = out.getvalue().splitlines()
    assert shown == [
        "dbt: 27 of 228 FAIL 1 not_null_stg_binance__btc_klines_price_date ................... [FAIL 1 in 0.06s]",
        "dbt: 28 of 228 WARN 2 accepted_range_stg_deribit__dvol_close__0 ..................... [WARN 2 in 0.05s]",
        "dbt: 5 progress lines not shown (the whole log: dbt_project/target/<invocation>/dbt.log)",
        "dbt: Finished running 2 seeds, 27 table models, 177 data tests, 4 unit tests, 18 view models in 0 hours 0 minutes and 32.94 seconds (32.94s).",
        "",
        "dbt: Completed with 1 error, 0 partial successes, and 1 warning:",
        "dbt: Failure in test not_null_stg_binance__btc_klines_price_date (models/staging/_staging.yml)",
        "dbt:   Got 1 result, configured to fail if != 0",
        "dbt: Done. PASS=226 WARN=1 ERROR=1 SKIP=0 NO-OP=0 TOTAL=228",
    ]
