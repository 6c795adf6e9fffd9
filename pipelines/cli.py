"""btc-signals: the command-line entry point besides the Dagster UI.

    btc-signals run  [--start D] [--end D]   materialise every asset over the window in one run
    btc-signals show [--date D] [--indicator NAME] [--history N]   print the signal dashboard
    btc-signals report [--date D] [--out FILE]   write the day's self-contained HTML report
    btc-signals parse                         (re)build the dbt manifest

Runs go through the Dagster instance in $DAGSTER_HOME (default: .dagster_home in the project),
so they appear in the UI's run history like scheduled ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, load_settings

DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def prepare_environment() -> None:
    """Telemetry off everywhere and a project-local DAGSTER_HOME with a dagster.yaml."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML)


def dbt_parse() -> None:
    """Write dbt_project/target/manifest.json, which the Dagster definitions need at import."""
    dbt = Path(sys.executable).parent / "dbt"
    cmd = [str(dbt) if dbt.exists() else "dbt", "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
           "--profiles-dir", str(DBT_PROJECT_DIR)]
    subprocess.run(cmd, check=True, cwd=DBT_PROJECT_DIR)


def ensure_manifest() -> None:
    if not (DBT_PROJECT_DIR / "target" / "manifest.json").exists():
        dbt_parse()


def replay_window() -> tuple[date, date]:
    settings = load_settings()
    manifest = json.loads((settings.replay_dir / "manifest.json").read_text())
    return date.fromisoformat(manifest["window_start"]), date.fromisoformat(manifest["window_end"])


def default_window() -> tuple[date, date]:
    if load_settings().mode == "replay":
        return replay_window()
    from pipelines.partitions import HISTORY_START

    return date.fromisoformat(HISTORY_START), date.today() - timedelta(days=1)


def _execute(instance, job_name: str, log_level: str, tags: dict[str, str] | None = None):
    from pipelines.definitions import defs

    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        instance=instance,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        tags=tags or {},
        raise_on_error=False,
    )
    checks = result.get_asset_check_evaluations()
    failed = [f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks if not c.passed]
    print(
        f"{job_name} run {result.run_id}: {'succeeded' if result.success else 'FAILED'}; "
        f"{len(checks)} checks evaluated, {len(failed)} failed"
    )
    for name in failed:
        print(f"  failed check: {name}")
    if not result.success:
        for event in result.all_events:
            if event.is_failure and event.event_specific_data is not None:
                error = getattr(event.event_specific_data, "error", None)
                if error is not None:
                    print(f"  {event.step_key}: {error.message.strip().splitlines()[0]}")
    return result.success


def run(start: date, end: date, log_level: str = "WARNING") -> bool:
    """Load every raw source for partitions start..end (inclusive) as ONE run, then rebuild the
    dbt models in a second run. Both go to the Dagster instance in $DAGSTER_HOME."""
    prepare_environment()
    ensure_manifest()
    from dagster import DagsterInstance

    settings = load_settings()
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"btc-signals: loading {start} .. {end} ({settings.mode} mode) into {settings.duckdb_path}")
    with DagsterInstance.get() as instance:
        range_tags = {
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        }
        if not _execute(instance, "raw_sources_job", log_level, range_tags):
            print("raw load failed: dbt not run, the dashboard keeps its last good state")
            return False
        return _execute(instance, "transform_job", log_level)


def show(on: date | None = None, indicator: str | None = None, history: int = 0, out=sys.stdout) -> int:
    """Print the dashboard for a day (default: the latest), read-only."""
    import duckdb

    from pipelines.snapshot import path_for_reading

    settings = load_settings()
    if not settings.duckdb_path.exists():
        print(f"no warehouse at {settings.duckdb_path}: run `btc-signals run` first", file=sys.stderr)
        return 1
    with duckdb.connect(str(path_for_reading(settings.duckdb_path, settings.reader_path)), read_only=True) as con:
        latest = con.execute("select max(as_of_date) from marts.signal_dashboard").fetchone()[0]
        if latest is None:
            print("the dashboard is empty", file=sys.stderr)
            return 1
        day = on or latest
        params: list[object] = [day - timedelta(days=history), day]
        where = "as_of_date between ? and ?"
        if indicator:
            where += " and indicator = ?"
            params.append(indicator)
        rows = con.execute(
            f"""select as_of_date, indicator, status, reading_text, rule, source, source_as_of, is_stale
                from marts.signal_dashboard where {where}
                order by as_of_date, indicator = 'regime', category, indicator""",
            params,
        ).fetchall()
    if not rows:
        print(f"no dashboard rows for {day} (the dashboard covers up to {latest})", file=sys.stderr)
        return 1
    current = None
    for as_of, ind, status, text, rule, source, source_as_of, stale in rows:
        if as_of != current:
            current = as_of
            print(f"\nSignal dashboard for {as_of}", file=out)
            print("=" * 28, file=out)
        flag = "  [STALE]" if stale else ""
        print(f"{ind:<20} {status:<18} {text}", file=out)
        print(f"{'':<20} rule: {rule}", file=out)
        print(f"{'':<20} source: {source or 'n/a'} as of {source_as_of or 'n/a'}{flag}", file=out)
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="btc-signals", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="materialise every asset over a window (default: the whole replay window)")
    p_run.add_argument("--start", type=_date)
    p_run.add_argument("--end", type=_date)
    p_run.add_argument("--show", action="store_true", help="print the dashboard for the latest day afterwards")
    p_run.add_argument("--verbose", action="store_true", help="log every step (default: warnings only)")
    p_show = sub.add_parser("show", help="print the signal dashboard")
    p_show.add_argument("--date", type=_date)
    p_show.add_argument("--indicator")
    p_show.add_argument("--history", type=int, default=0, help="also show the N days before")
    p_report = sub.add_parser("report", help="write one day's self-contained HTML report (default: the latest day)")
    p_report.add_argument("--date", type=_date)
    p_report.add_argument("--out", type=Path, help="file to write (default: warehouse/reports/btc_signals_report_<date>.html)")
    sub.add_parser("parse", help="build the dbt manifest")
    args = parser.parse_args(argv)

    if args.command == "parse":
        prepare_environment()
        dbt_parse()
        return 0
    if args.command == "report":
        from pipelines import report

        return report.main(args.date, args.out)
    if args.command == "run":
        start, end = default_window()
        start, end = args.start or start, args.end or end
        if end < start:
            parser.error(f"--end {end} is before --start {start}")
        ok = run(start, end, "INFO" if args.verbose else "WARNING")
        if ok and args.show:
            return show()
        return 0 if ok else 1
    return show(args.date, args.indicator, args.history)


if __name__ == "__main__":
    sys.exit(main())
