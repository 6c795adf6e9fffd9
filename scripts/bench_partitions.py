"""What partitioning costs in Dagster's bookkeeping, apart from the work: a prototype with the shape of
the raw layer (12 assets, each with one blocking check, every asset loading the whole window in one
run) whose asset bodies do nothing, run on each instance and partitioning under study.

    .venv/bin/python scripts/bench_partitions.py            # every variant, each in a fresh process
    .venv/bin/python scripts/bench_partitions.py --variant daily:sqlite

Variants are PARTITIONING:INSTANCE with
  PARTITIONING  daily (780 partitions over the bundled window), weekly, monthly, none (one unpartitioned
                asset per source that loads a date range given as run config and records the days it
                loaded in its metadata)
  INSTANCE      sqlite (the default DAGSTER_HOME storage, as `make run`, on disk), sqlite-tmpfs (the same
                with DAGSTER_HOME in /dev/shm: no fsync), postgres (deploy/dagster.postgres.yaml, cluster on
                disk, DAGSTER_EVENT_BATCH_SIZE=0), postgres-batched (=100)

Prints, per variant: the whole-window run, a one-day (one-partition) run, events stored, wall and CPU
seconds, and the CPU-loop calibration figure of scripts/bench.py.
"""


import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    BackfillPolicy,
    Config,
    DagsterEventType,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    EventRecordsFilter,
    MaterializeResult,
    MonthlyPartitionsDefinition,
    WeeklyPartitionsDefinition,
    asset,
    asset_check,
    define_asset_job,
    in_process_executor,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
START, END = "2024-01-11", "2026-02-28"
N_ASSETS = 12
PARTITIONINGS = ("daily", "weekly", "monthly", "none")
INSTANCES = ("sqlite", "sqlite-tmpfs", "postgres", "postgres-batched")


def build_defs(partitioning: str):

    parts = {
        "daily": DailyPartitionsDefinition(start_date=START, end_date="2026-03-01"),
        "weekly": WeeklyPartitionsDefinition(start_date="2024-01-08", end_date="2026-03-09"),
        "monthly": MonthlyPartitionsDefinition(start_date="2024-01-01", end_date="2026-03-01"),
    }

    class Window(Config):
        start: str = START
        end: str = END

    assets, checks = [], []
    for i in range(N_ASSETS):
        if partitioning == "none":
            @asset(name=f"raw_{i}")
            def raw(config: Window) -> MaterializeResult:
                return MaterializeResult(metadata={"loaded_from": config.start, "loaded_to": config.end})
        else:
            @asset(name=f"raw_{i}", partitions_def=parts[partitioning], backfill_policy=BackfillPolicy.single_run())
            def raw(context: AssetExecutionContext) -> MaterializeResult:
                tw = context.partition_time_window
                return MaterializeResult(metadata={"rows": 1, "window": f"{tw.start.date()}..{tw.end.date()}"})

        @asset_check(asset=raw, name=f"raw_{i}_gx", blocking=True)
        def check() -> AssetCheckResult:
            return AssetCheckResult(passed=True)

        assets.append(raw)
        checks.append(check)
    job = define_asset_job("raw_sources_job", selection=[a.key for a in assets])
    return Definitions(assets=assets, asset_checks=checks, jobs=[job], executor=in_process_executor)


def child(partitioning: str, instance_kind: str) -> dict:
    """One variant, in this (fresh) process: whole-window run, then a one-day run."""
    import warnings

    warnings.filterwarnings("ignore")

    defs = build_defs(partitioning)
    job = defs.resolve_job_def("raw_sources_job")
    last_day = {"daily": "2026-02-28", "weekly": "2026-02-23", "monthly": "2026-02-01"}

    def run(first: str | None, last: str | None) -> tuple[float, float]:
        if partitioning == "none":
            cfg = {"ops": {f"raw_{i}": {"config": {"start": first or START, "end": last or END}} for i in range(N_ASSETS)}}
            tags = {}
        else:
            cfg = {}
            tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
        t0, c0 = time.perf_counter(), time.process_time()
        with DagsterInstance.get() as instance:
            result = job.execute_in_process(instance=instance, run_config=cfg, tags=tags, raise_on_error=True)
        assert result.success
        return time.perf_counter() - t0, time.process_time() - c0

    first_key = {"daily": START, "weekly": "2024-01-08", "monthly": "2024-01-01"}.get(partitioning)
    whole = run(first_key, last_day.get(partitioning))
    one = run(last_day.get(partitioning), last_day.get(partitioning)) if partitioning != "none" else run(END, END)
    with DagsterInstance.get() as instance:
        mats = len(instance.get_event_records(EventRecordsFilter(DagsterEventType.ASSET_MATERIALIZATION), limit=100_000))
    return {"whole_wall_s": whole[0], "whole_cpu_s": whole[1], "one_wall_s": one[0], "one_cpu_s": one[1],
            "materializations": mats}


def parent(variants: list[str]) -> None:
    from bench import calibrate  # scripts/bench.py
    from local_postgres import local_cluster

    print("calibration before: loop %.3f s wall, %.3f s CPU" % calibrate(), flush=True)
    base = Path(tempfile.mkdtemp(prefix="btc_signals_partitions_"))
    os.chmod(base, 0o755)
    results, scratch_in_ram = [], []
    with local_cluster(base / "pg") as cluster:
        for n, variant in enumerate(variants):
            partitioning, instance_kind = variant.split(":")
            if instance_kind == "sqlite-tmpfs":
                scratch_in_ram.append(Path(tempfile.mkdtemp(dir="/dev/shm")))
            home = (scratch_in_ram[-1] if instance_kind == "sqlite-tmpfs" else base) / f"home{n}"
            home.mkdir()
            env = {**os.environ, "DAGSTER_HOME": str(home), "DO_NOT_TRACK": "1"}
            if instance_kind.startswith("postgres"):
                db = f"v{n}"
                import sqlalchemy as sa

                engine = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{cluster.port}/postgres",
                                          isolation_level="AUTOCOMMIT")
                with engine.connect() as conn:
                    conn.execute(sa.text(f"create database {db} owner dagster"))
                engine.dispose()
                env |= cluster.env | {"DAGSTER_PG_DB": db,
                                      "DAGSTER_EVENT_BATCH_SIZE": "100" if instance_kind == "postgres-batched" else "0"}
                (home / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
            else:
                env.pop("DAGSTER_EVENT_BATCH_SIZE", None)
                (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
            out = subprocess.run([sys.executable, __file__, "--child", variant], env=env, capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"{variant} failed:\n{out.stderr[-3000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r["variant"] = variant
            results.append(r)
            print(f"{variant:<26} whole window {r['whole_wall_s']:6.1f} s wall {r['whole_cpu_s']:6.1f} s CPU | "
                  f"one day {r['one_wall_s']:5.2f} s wall {r['one_cpu_s']:5.2f} s CPU | "
                  f"{r['materializations']} materialisations | load {os.getloadavg()[0]:.1f}", flush=True)
    print("calibration after: loop %.3f s wall, %.3f s CPU" % calibrate(), flush=True)
    for path in (base, *scratch_in_ram):
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", action="append", help="PARTITIONING:INSTANCE (repeatable; default: all)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child.split(":"))))
        return
    parent(args.variant or [f"{p}:{i}" for p in PARTITIONINGS for i in INSTANCES])


if __name__ == "__main__":
    main()
