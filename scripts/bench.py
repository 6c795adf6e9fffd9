"""Benchmark on the bundled replay data. Prints figures; the last lines are key=value.

    make bench                                      (SQLite instance, as `make run`)
    .venv/bin/python scripts/bench.py --instance postgres   (deploy/dagster.postgres.yaml on a throw-away cluster)
    .venv/bin/python scripts/bench.py --skip-per-partition  (leave out the slowest step)

Every step starts from what a user has: the venv (byte-compiled), and for the cold build an empty
warehouse and an empty Dagster home in a scratch directory.

  cold build          `btc-signals run` over the whole window in a fresh process (raw run + dbt run,
                      split where the raw run reports)
  daily increment     `btc-signals run --start D --end D` in a fresh process: one day of every raw
                      source (into its monthly partition) + the dbt rebuild
  backfill            the raw load of the whole window as ONE run (the cold build's raw run; with
                      --rerun-backfill also again in this process) vs one run per partition (a sample
                      of months, extrapolated to the window's 26) and vs one run per day (a sample of
                      days, extrapolated to its 780: what loading history by the daily schedule's
                      runs would cost), and the ratios
  query latency       the dashboard query for one day, median of 30, read-only connection
  peak memory         max RSS of this process and of its children (the runs, dbt)
  calibration         seconds of a fixed pure-Python CPU loop, before and after, so that figures taken
                      on a loaded machine can be compared (scale a figure by 1 / calibration ratio)

For each step: wall seconds and CPU seconds (user + system, this process and its children). A wall
time much larger than its CPU time means the step waited (for the disk, or for a loaded machine).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMP = WAREHOUSE = HOME = Path()  # the scratch directory, set by scratch()

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "deploy"))


def scratch() -> None:
    """An empty warehouse and Dagster home in a new scratch directory, for this process and its runs."""
    global TMP, WAREHOUSE, HOME
    TMP = Path(tempfile.mkdtemp(prefix="btc_signals_bench_"))
    WAREHOUSE, HOME = TMP / "bench.duckdb", TMP / "dagster_home"
    os.environ["BTC_SIGNALS_DUCKDB_PATH"] = str(WAREHOUSE)
    os.environ["DAGSTER_HOME"] = str(HOME)
    os.environ.setdefault("BTC_SIGNALS_MODE", "replay")
    # dbt's partial parsing holds only for the profile it was parsed with, and the profile names the
    # warehouse: the scratch warehouse gets its own dbt target directory, parsed as `make setup` parses
    os.environ["DBT_TARGET_PATH"] = f"target/bench-{os.getpid()}"
    for var, value in (("DO_NOT_TRACK", "1"), ("DBT_SEND_ANONYMOUS_USAGE_STATS", "false"),
                       ("GX_ANALYTICS_ENABLED", "false")):
        os.environ.setdefault(var, value)

# The last day on which every bundled source has data (the mining hashrate series ends a few days
# before the window does, and a partition without records for a source fails by design).
LAST_FULL_DAY = date(2026, 2, 5)
CALIBRATION_N = 5_000_000


def calibrate() -> tuple[float, float]:
    """Wall and CPU seconds of a fixed integer loop (best of 3): ~0.35 s both on an idle core of the
    2-core machine. CPU time rising means slower cores; wall above CPU means the core was shared."""
    best = (float("inf"), float("inf"))
    for _ in range(3):
        w0, c0 = time.perf_counter(), time.process_time()
        acc = 0
        for i in range(CALIBRATION_N):
            acc += i * i % 7
        best = min(best, (time.perf_counter() - w0, time.process_time() - c0))
    return best


def cpu_now() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Steps:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, float]] = []

    @contextlib.contextmanager
    def step(self, name: str):
        wall0, cpu0, load0 = time.perf_counter(), cpu_now(), os.getloadavg()[0]
        yield
        wall, cpu = time.perf_counter() - wall0, cpu_now() - cpu0
        self.rows.append((name, wall, cpu, max(load0, os.getloadavg()[0])))
        print(f"  {name}: {wall:.1f} s wall, {cpu:.1f} s CPU (load avg {self.rows[-1][3]:.1f})", flush=True)

    def wall(self, name: str) -> float:
        return next(r[1] for r in self.rows if r[0] == name)


def cli_run(*args: str) -> float:
    """`btc-signals run ARGS` in a fresh process; returns the seconds until its raw run reported (the
    rest is the dbt run)."""
    cmd = [str(Path(sys.executable).parent / "btc-signals"), "run", *args]
    t0, raw_done, out = time.perf_counter(), None, []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT) as proc:
        for line in proc.stdout:
            out.append(line)
            if raw_done is None and "] raw_sources_job run " in line:
                raw_done = time.perf_counter() - t0
    if proc.returncode != 0 or raw_done is None:
        raise SystemExit(f"benchmark step {' '.join(cmd[1:])} failed:\n{''.join(out)[-3000:]}")
    return raw_done


def prepare_home(instance: str) -> None:
    HOME.mkdir()
    if instance == "postgres":
        (HOME / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "100")
    else:
        from pipelines.cli import DAGSTER_YAML

        (HOME / "dagster.yaml").write_text(DAGSTER_YAML)  # the instance `make run` uses


def bench(args: argparse.Namespace, steps: Steps) -> dict[str, str]:
    from pipelines import cli
    from pipelines.dbt_invocation import parse

    with steps.step("setup_dbt_parse"):  # what `make setup` does once, before any run: not part of the builds
        parse()
    start, end = cli.replay_window()
    days = (end - start).days + 1
    print(f"machine: {os.cpu_count()} cores; instance {args.instance}; window {start} .. {end} ({days} days); "
          f"scratch {TMP}", flush=True)

    figures: dict[str, str] = {}
    with steps.step("cold_build"):
        cold_raw = cli_run()
    # the cold build's raw run is the single-run backfill of the whole window, on an empty warehouse
    single = cold_raw
    figures |= {"cold_build_raw_s": f"{cold_raw:.1f}", "cold_build_dbt_s": f"{steps.wall('cold_build') - cold_raw:.1f}"}
    with steps.step("daily_increment"):
        inc_raw = cli_run("--start", LAST_FULL_DAY.isoformat(), "--end", LAST_FULL_DAY.isoformat())
    figures |= {"daily_increment_raw_s": f"{inc_raw:.1f}",
                "daily_increment_dbt_s": f"{steps.wall('daily_increment') - inc_raw:.1f}"}

    import duckdb
    from dagster import DagsterInstance

    cli.quiet_framework_warnings()  # as `btc-signals run`: no Beta/Supersession warnings in the bench's output
    from pipelines.definitions import defs  # noqa: F401  (import cost is not part of the in-process figures)
    from pipelines.partitions import days_tags, next_month, raw_partitions

    with DagsterInstance.get() as instance:
        def raw(first: date, last: date) -> None:
            ok = cli._execute(instance, "raw_sources_job", "ERROR", days_tags(first, last))  # noqa: SLF001
            if not ok:
                raise SystemExit(f"raw run {first}..{last} failed")

        if args.rerun_backfill:
            with steps.step("backfill_single_run"):
                raw(start, end)
            single = steps.wall("backfill_single_run")
        if not args.skip_per_partition:
            months = raw_partitions.get_partition_keys()
            sample = [date.fromisoformat(k) for k in months[-1 - args.sample_partitions:-1]]  # whole months
            with steps.step("per_partition_sample"):
                for m in sample:
                    raw(m, next_month(m) - timedelta(days=1))
            per_month = steps.wall("per_partition_sample") / len(sample)
            by_month = per_month * len(months)
            sample_days = [LAST_FULL_DAY - timedelta(days=i * (60 // args.sample_partitions))
                           for i in range(args.sample_partitions)]
            with steps.step("per_day_sample"):
                for d in sample_days:
                    raw(d, d)
            per_day = steps.wall("per_day_sample") / len(sample_days)
            by_day = per_day * days
            print(f"  per-partition runs: {per_month:.2f} s each (sample of {len(sample)} months) -> {by_month:.0f} s "
                  f"for {len(months)}; single run {single:.1f} s: {by_month / single:.1f}x", flush=True)
            print(f"  per-day runs: {per_day:.2f} s each (sample of {len(sample_days)}) -> {by_day:.0f} s "
                  f"for {days}; single run {single:.1f} s: {by_day / single:.1f}x", flush=True)
            figures |= {"per_partition_run_s": f"{per_month:.2f}", "backfill_per_partition_s": f"{by_month:.0f}",
                        "speedup": f"{by_month / single:.1f}", "per_day_run_s": f"{per_day:.2f}",
                        "backfill_per_day_s": f"{by_day:.0f}", "speedup_vs_daily_runs": f"{by_day / single:.1f}"}

    with duckdb.connect(str(WAREHOUSE), read_only=True) as con:
        day = con.execute("select max(as_of_date) from marts.signal_dashboard").fetchone()[0]
        lat = []
        for _ in range(30):
            t0 = time.perf_counter()
            con.execute("select * from marts.signal_dashboard where as_of_date = ?", [day]).fetchall()
            lat.append((time.perf_counter() - t0) * 1000)
    figures |= {"backfill_days": str(days), "backfill_single_run_s": f"{single:.1f}",
                "query_ms": f"{statistics.median(lat):.2f}"}
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instance", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--sample-partitions", type=int, default=3, help="months and days sampled for the per-run figures")
    ap.add_argument("--skip-per-partition", action="store_true")
    ap.add_argument("--rerun-backfill", action="store_true",
                    help="also time a second single-run backfill of the window (on the loaded warehouse)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch warehouse and Dagster home")
    args = ap.parse_args()

    scratch()
    calib_before = calibrate()
    print(f"calibration before: loop {calib_before[0]:.3f} s wall, {calib_before[1]:.3f} s CPU", flush=True)
    prepare_home(args.instance)
    steps = Steps()
    with contextlib.ExitStack() as stack:
        if args.instance == "postgres":
            from local_postgres import local_cluster

            os.chmod(TMP, 0o755)
            cluster = stack.enter_context(local_cluster(TMP / "postgres"))
            os.environ.update(cluster.env)
        figures = bench(args, steps)
    calib_after = calibrate()
    print(f"calibration after: loop {calib_after[0]:.3f} s wall, {calib_after[1]:.3f} s CPU", flush=True)

    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"instance={args.instance}")
    print(f"calibration_loop_wall_s={calib_before[0]:.3f},{calib_after[0]:.3f}")
    print(f"calibration_loop_cpu_s={calib_before[1]:.3f},{calib_after[1]:.3f}")
    for name, wall, cpu, load in steps.rows:
        print(f"{name}_s={wall:.1f}")
        print(f"{name}_cpu_s={cpu:.1f}")
        print(f"{name}_loadavg={load:.1f}")
    for key, value in figures.items():
        print(f"{key}={value}")
    print(f"peak_rss_mb={max(self_kb, child_kb) / 1024:.0f}")
    if not args.keep:
        shutil.rmtree(TMP, ignore_errors=True)
        shutil.rmtree(ROOT / "dbt_project" / os.environ["DBT_TARGET_PATH"], ignore_errors=True)


if __name__ == "__main__":
    main()
