"""Benchmark on the bundled replay data. Prints figures; the last lines are key=value.

    make bench        (or: .venv/bin/python scripts/bench.py [--sample-partitions 5])

Measures, on an empty temporary warehouse and Dagster home:
  cold build          every raw source over the whole window (one run) + dbt build (one run)
  daily increment     one partition of every raw source + dbt build
  backfill            the raw load of the whole window as ONE run, vs per-partition runs
                      (a sample of partitions, extrapolated to the window), and their ratio
  query latency       the dashboard query for one day, median of 30, read-only connection
  peak memory         max RSS of this process and of its children (dbt)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="btc_signals_bench_"))
os.environ["BTC_SIGNALS_DUCKDB_PATH"] = str(TMP / "bench.duckdb")
os.environ["DAGSTER_HOME"] = str(TMP / "dagster_home")
os.environ.setdefault("BTC_SIGNALS_MODE", "replay")
(TMP / "dagster_home").mkdir()
(TMP / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipelines import cli  # noqa: E402


def timed(fn, *args):
    t0 = time.perf_counter()
    ok = fn(*args)
    elapsed = time.perf_counter() - t0
    if ok is False:
        raise SystemExit(f"benchmark step {fn.__name__}{args} failed")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sample-partitions", type=int, default=5)
    args = ap.parse_args()

    cli.prepare_environment()
    cli.ensure_manifest()
    import duckdb
    from dagster import DagsterInstance

    from pipelines.definitions import defs  # noqa: F401  (import cost is not part of the figures)

    start, end = cli.replay_window()
    days = (end - start).days + 1
    print(f"machine: {os.cpu_count()} cores; window {start} .. {end} ({days} days); scratch {TMP}")

    cold = timed(cli.run, start, end)
    print(f"cold build (raw window run + dbt run): {cold:.1f} s")

    with DagsterInstance.get() as instance:
        def raw(first, last):
            return cli._execute(instance, "raw_sources_job", "ERROR", {
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat()})

        def transform():
            return cli._execute(instance, "transform_job", "ERROR")

        t_raw_day = timed(raw, end, end)
        t_dbt = timed(transform)
        increment = t_raw_day + t_dbt
        print(f"daily increment: raw {t_raw_day:.1f} s + dbt {t_dbt:.1f} s = {increment:.1f} s")

        single = timed(raw, start, end)
        print(f"backfill as one run: {single:.1f} s for {days} partitions")

        # sample from the last 90 days, where every source has data (aggregated OI starts 2024-12-07
        # in the bundled data, and a partition with no records for a source fails by design)
        sample = [end - timedelta(days=1 + i * (90 // args.sample_partitions)) for i in range(args.sample_partitions)]
        per = [timed(raw, d, d) for d in sample]
        per_partition = statistics.mean(per) * days
        print(f"per-partition runs: {statistics.mean(per):.2f} s each (sample of {len(per)}) -> {per_partition:.0f} s for {days}")

    with duckdb.connect(os.environ["BTC_SIGNALS_DUCKDB_PATH"], read_only=True) as con:
        day = con.execute("select max(as_of_date) from marts.signal_dashboard").fetchone()[0]
        lat = []
        for _ in range(30):
            t0 = time.perf_counter()
            con.execute("select * from marts.signal_dashboard where as_of_date = ?", [day]).fetchall()
            lat.append((time.perf_counter() - t0) * 1000)
    query_ms = statistics.median(lat)

    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_mb = max(self_kb, child_kb) / 1024

    print(f"cold_build_s={cold:.1f}")
    print(f"daily_increment_s={increment:.1f}")
    print(f"backfill_days={days}")
    print(f"backfill_single_run_s={single:.1f}")
    print(f"backfill_per_partition_s={per_partition:.0f}")
    print(f"speedup={per_partition / single:.1f}")
    print(f"query_ms={query_ms:.2f}")
    print(f"peak_rss_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
