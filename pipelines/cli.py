"""btc-signals: the command-line entry point besides the Dagster UI.

    btc-signals run  [--start D] [--end D] [--dbt-only] [--full-refresh]   materialise every asset over the window in one run
    btc-signals show [--date D] [--indicator NAME] [--history N]   print the signal dashboard
    btc-signals report [--date D] [--out FILE]   write the day's self-contained HTML report
    btc-signals parse                         (re)build the dbt manifest

Runs go through the Dagster instance in $DAGSTER_HOME (default: .dagster_home in the project),
so they appear in the UI's run history like scheduled ones.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

from pipelines.settings import PROJECT_ROOT, dbt_target_dir, load_settings

# One writer at a time (docs/operations.md, "One writer at a time"): runs the UI, schedules and sensors
# launch wait in Dagster's run queue, one at a time; every run also takes the warehouse's writer lock.
_PREVIOUS_DAGSTER_YAML = """telemetry:
  enabled: false
# One writer at a time: the daemon starts queued runs (UI, schedules, sensors) one after another.
concurrency:
  runs:
    max_concurrent_runs: 1
# A run whose process never came up is marked failed instead of staying STARTING.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
"""
DAGSTER_YAML = _PREVIOUS_DAGSTER_YAML + """# Dagster's SQLite event log with one kept connection per file (pipelines/instance.py): same files, a
# fraction of the cost per event. Run and schedule storage are Dagster's SQLite defaults.
event_log_storage:
  module: pipelines.instance
  class: PooledSqliteEventLogStorage
"""
# What earlier versions wrote, unedited: upgraded in place (a user's own file is left alone).
OLD_DAGSTER_YAMLS = ("telemetry:\n  enabled: false\n", _PREVIOUS_DAGSTER_YAML)

# Exit status of `btc-signals run` stopped by a signal (the shell's convention: 128 + signal number).
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


def prepare_environment() -> None:
    """Telemetry off everywhere and a project-local DAGSTER_HOME with a dagster.yaml."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists() or cfg.read_text() in OLD_DAGSTER_YAMLS:
        cfg.write_text(DAGSTER_YAML)


def ensure_manifest() -> None:
    """The dbt manifest the Dagster definitions need at import: parsed if there is none yet (`btc-signals parse`
    is the one that also re-parses a changed project)."""
    from pipelines.dbt_invocation import parse

    if not (dbt_target_dir() / "manifest.json").exists():
        parse()


def replay_window() -> tuple[date, date]:
    from pipelines.partitions import replay_window as window

    return window()


def default_window() -> tuple[date, date]:
    if load_settings().mode == "replay":
        return replay_window()
    from pipelines.partitions import HISTORY_START

    return date.fromisoformat(HISTORY_START), date.today() - timedelta(days=1)


def quiet_framework_warnings() -> None:
    """Dagster's Beta/Preview/Supersession warnings are for whoever edits the definitions (they show
    under `make dev` and in the tests), not for the person running the pipeline."""
    import dagster

    for category in (dagster.BetaWarning, dagster.PreviewWarning, dagster.SupersessionWarning,
                     dagster.ConfigArgumentWarning):
        warnings.filterwarnings("ignore", category=category)


def _execute(instance, job_name: str, log_level: str, tags: dict[str, str] | None = None, *, days: int | None = None,
             t0: float | None = None, ops: dict | None = None):
    import uuid

    from pipelines.definitions import defs
    from pipelines.progress import DbtOutput, Progress, failure_lines

    job = defs.resolve_job_def(job_name)
    run_id = str(uuid.uuid4())
    progress = Progress(job_name, days=days, t0=t0, out=sys.stdout)
    instance.add_event_listener(run_id, progress)
    quiet = log_level != "INFO"
    with contextlib.redirect_stdout(DbtOutput(progress)) if quiet else contextlib.nullcontext():
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}, **({"ops": ops} if ops else {})},
            tags={**(tags or {}), **writer_tags()},
            raise_on_error=False,
        )
    checks = result.get_asset_check_evaluations()
    failed = [c for c in checks if not c.passed]
    progress.line(
        f"{job_name} run {result.run_id}: {'succeeded' if result.success else 'FAILED'}; "
        f"{len(checks)} checks evaluated, {len(failed)} failed"
    )
    if not result.success:
        for line in failure_lines(result.all_events, checks):
            print(f"  {line}", flush=True)
    elif failed:  # warnings: the run went on, and the UI shows them, but say which here too
        print(f"  not blocking (nothing was held back): {len(failed)} check(s) failed", flush=True)
        for line in failure_lines([], failed):
            print(f"  {line}", flush=True)
    return result.success


def writer_tags() -> dict[str, str]:
    """Tags of a run this process executes: whose it is, so that a later start can tell it died."""
    import socket

    from pipelines.resources import WRITER_HOST_TAG, WRITER_PID_TAG

    return {WRITER_PID_TAG: str(os.getpid()), WRITER_HOST_TAG: socket.gethostname()}


def run(start: date, end: date, log_level: str = "CRITICAL", *, raw: bool = True, dbt: bool = True,
        full_refresh: bool = False) -> bool:
    """Load every raw source for the days start..end (inclusive) as ONE run over the monthly partitions
    holding them (pipelines/partitions.py), then rebuild the dbt models in a second run (only the latter
    when ``raw`` is false, only the former when ``dbt`` is false): the daily increment, or everything from
    scratch with ``full_refresh``. Both go to the Dagster instance in $DAGSTER_HOME.

    Refused at once if another run is writing the warehouse; fails within seconds, in one line, if
    the warehouse cannot be written. The Dagster console log is off by default (``log_level``
    CRITICAL): progress and the failures' causes are printed instead (pipelines/progress.py)."""
    from pipelines.dbt_invocation import DbtParseError
    from pipelines.partitions import days_tags
    from pipelines.snapshot import remove_stale_temps
    from pipelines.warehouse import WarehouseError, WarehouseLock, open_warehouse

    prepare_environment()
    t0 = time.monotonic()
    settings = load_settings()
    days = (end - start).days + 1
    try:
        ensure_manifest()
        try:
            settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"warehouse {settings.duckdb_path}: cannot create its directory ({exc.strerror})") from None
        with WarehouseLock(settings.duckdb_path).acquire(command=f"btc-signals run {start}..{end}"):
            open_warehouse(settings.duckdb_path).close()  # locked by another tool, read-only: say so now
            for tmp in remove_stale_temps(settings.reader_path):
                print(f"btc-signals: removed {tmp.name}, left by an interrupted publish")
            print(f"btc-signals: loading {start} .. {end} ({days} day{'' if days == 1 else 's'}, {settings.mode} mode) into {settings.duckdb_path}"
                  if raw else f"btc-signals: rebuilding the dbt models in {settings.duckdb_path}", flush=True)
            quiet_framework_warnings()
            print(f"[{time.monotonic() - t0:6.1f}s] loading the pipeline definitions (Dagster, the dbt manifest)", flush=True)
            from dagster import DagsterInstance

            from pipelines.definitions import defs  # noqa: F401  (loaded here, once, for both runs)
            from pipelines.process import imports_done
            from pipelines.resources import sweep_orphaned_runs

            if raw:  # the raw run's checks import it at the first check: here, before the collector is back
                import great_expectations  # noqa: F401
            imports_done()

            with DagsterInstance.get() as instance:
                for line in sweep_orphaned_runs(instance):
                    print(f"btc-signals: {line}")
                range_tags = days_tags(start, end)  # the months holding start..end, narrowed to those days
                if raw and not _execute(instance, "raw_sources_job", log_level, range_tags, days=days, t0=t0):
                    print("raw load failed: dbt not run, the dashboard keeps its last good state")
                    return False
                if not dbt:
                    print("--raw-only: dbt not run; the next run (or `btc-signals run --dbt-only`) rebuilds the dashboard")
                    return True
                dbt_config = {"btc_signals_dbt": {"config": {"full_refresh": True}}} if full_refresh else None
                return _execute(instance, "transform_job", log_level, t0=t0, ops=dbt_config)
    except (WarehouseError, DbtParseError) as exc:
        print(f"btc-signals: {exc}", file=sys.stderr)
        return False


def show(on: date | None = None, indicator: str | None = None, history: int = 0, out=sys.stdout) -> int:
    """Print the dashboard for a day (default: the latest) and the ``history`` days before, read-only.

    A negative ``history`` is refused; one reaching before the dashboard's first day is clamped to it,
    with a note. A day or indicator with no rows says what the dashboard does have."""
    from pipelines.snapshot import path_for_reading
    from pipelines.warehouse import WarehouseError, open_warehouse

    if history < 0:
        print(f"--history must be 0 or more (days before the date), got {history}", file=sys.stderr)
        return 2
    settings = load_settings()
    if not settings.duckdb_path.exists():
        print(f"no warehouse at {settings.duckdb_path}: run `btc-signals run` first", file=sys.stderr)
        return 1
    try:
        con = open_warehouse(path_for_reading(settings.duckdb_path, settings.reader_path), read_only=True)
    except WarehouseError as exc:
        print(exc, file=sys.stderr)
        return 1
    with con:
        first, latest = con.execute("select min(as_of_date), max(as_of_date) from marts.signal_dashboard").fetchone()
        if latest is None:
            print("the dashboard is empty", file=sys.stderr)
            return 1
        day = on or latest
        if day < first or day > latest:
            print(f"no dashboard rows for {day}: the dashboard covers {first} .. {latest}", file=sys.stderr)
            return 1
        if history > (day - first).days:
            print(f"--history {history} reaches before the dashboard's first day: showing {first} .. {day}",
                  file=sys.stderr)
            history = (day - first).days
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
        known = [r[0] for r in con.execute("select distinct indicator from marts.signal_dashboard order by 1").fetchall()]
    if not rows:
        if indicator and indicator not in known:
            print(f"no dashboard rows for indicator {indicator!r}: the indicators are {', '.join(known)}", file=sys.stderr)
        else:
            print(f"no dashboard rows for {day}{f' and {indicator}' if indicator else ''} "
                  f"(the dashboard covers {first} .. {latest})", file=sys.stderr)
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


class Stopped(KeyboardInterrupt):
    """SIGTERM, raised like SIGINT so that Dagster stops the run (and dbt) the same way."""


def _on_sigterm(signum, frame) -> None:
    raise Stopped()


def entrypoint() -> None:
    """The ``btc-signals`` command (``[project.scripts]``): ``main`` with no garbage collection during the imports,
    then the exit without the interpreter's teardown (``pipelines/process.py``: ≈ 2 s and ≈ 4.5 s of a run).
    Tests call ``main``, whose caller goes on."""
    from pipelines.process import run_then_exit

    run_then_exit(main)  # run() turns the collector back on once it has loaded the definitions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="btc-signals", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="materialise every asset over a window (default: the whole replay window)")
    p_run.add_argument("--start", type=_date)
    p_run.add_argument("--end", type=_date)
    p_run.add_argument("--show", action="store_true", help="print the dashboard for the latest day afterwards")
    p_run.add_argument("--verbose", action="store_true", help="also print Dagster's own log (default: progress only)")
    only = p_run.add_mutually_exclusive_group()
    only.add_argument("--dbt-only", action="store_true",
                      help="only rebuild the dbt models from the raw data already landed (e.g. after editing a model)")
    only.add_argument("--raw-only", action="store_true",
                      help="only load the sources, without the dbt rebuild (e.g. several ranges of history, then one --dbt-only)")
    p_run.add_argument("--full-refresh", action="store_true",
                       help="rebuild every dbt model from scratch and run the dbt unit tests (default: the daily increment)")
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
        from pipelines.dbt_invocation import DbtParseError, parse

        prepare_environment()
        try:
            if not parse():
                print(f"btc-signals: the dbt manifest in {dbt_target_dir()} is current (project files, vars and "
                      "profile unchanged since its parse)")
        except DbtParseError as exc:
            print(f"btc-signals: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "report":
        from pipelines import report

        return report.main(args.date, args.out)
    if args.command == "run":
        start, end = default_window()
        start, end = args.start or start, args.end or end
        if end < start:
            parser.error(f"--end {end} is before --start {start}")
        # SIGTERM stops a run as Ctrl-C does: Dagster interrupts the step, dagster-dbt forwards the
        # interrupt to dbt and waits for it, the run is recorded as failed. (A SIGKILL cannot be
        # handled: dbt then dies with us through pipelines/dbt_child.py, and the next start marks the
        # run failed.)
        signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            ok = run(start, end, "INFO" if args.verbose else "CRITICAL", raw=not args.dbt_only, dbt=not args.raw_only,
                     full_refresh=args.full_refresh)
        except KeyboardInterrupt as exc:  # outside a run (a run records the interrupt itself and fails)
            print("btc-signals: stopped by a signal; the warehouse keeps its last committed state", file=sys.stderr)
            return EXIT_SIGTERM if isinstance(exc, Stopped) else EXIT_SIGINT
        if ok and args.show:
            return show()
        return 0 if ok else 1
    if args.history < 0:
        parser.error(f"--history must be 0 or more (days before the date), got {args.history}")
    return show(args.date, args.indicator, args.history)


if __name__ == "__main__":
    sys.exit(main())
