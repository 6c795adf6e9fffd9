"""Killing `btc-signals run` while dbt builds leaves nothing running, and the next start marks the run failed.

Real processes and real signals: the test starts `btc-signals run --dbt-only` (the dbt half of a run)
in a fresh warehouse and Dagster home, waits until the dbt child has been building for a moment, sends
SIGKILL / SIGTERM / SIGINT to the CLI's PID only, and then watches the dbt process. While the first run
builds, a second `btc-signals run` is refused at once, naming the first one's PID.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef

from pipelines.cli import DAGSTER_YAML
from pipelines.dbt_child import LAUNCHER
from pipelines.resources import sweep_orphaned_runs
from pipelines.settings import dbt_target_dir

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "btc-signals"
REACH_DBT_TIMEOUT_S = 180.0  # Dagster import and resource set-up on a busy 2-core machine
DBT_RUNNING_S = 2.0  # let dbt get into its build before the kill
GONE_WITHIN_S = 10.0


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def children(parent: int) -> list[int]:
    return [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and _ppid(int(e.name)) == parent]


def dbt_build_children(parent: int) -> list[int]:
    """PIDs of `dbt build` processes whose parent is ``parent`` (dbt runs in its launcher, `btc-signals-dbt`)."""
    return [p for p in children(parent)
            if "build" in (cmd := _cmdline(p)) and any(Path(c).name == LAUNCHER for c in cmd[:2])]


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return {**os.environ, "DAGSTER_HOME": str(home), "BTC_SIGNALS_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
            "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_killing_the_run_stops_dbt_and_the_next_start_marks_it_failed(tmp_path, env, sig):
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        first = subprocess.Popen([str(CLI), "run", "--dbt-only"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + REACH_DBT_TIMEOUT_S
        dbt: list[int] = []
        while not dbt and first.poll() is None and time.monotonic() < deadline:
            dbt = dbt_build_children(first.pid)
            time.sleep(0.1)
        assert dbt, f"dbt never started: {log.read_text()[-3000:]}"
        time.sleep(DBT_RUNNING_S)
        assert all(alive(p) for p in dbt), "dbt ended before the kill: the test proves nothing"

        if sig == signal.SIGKILL:  # meanwhile a second writer is refused at once, naming the first
            t = time.monotonic()
            second = subprocess.run([str(CLI), "run", "--dbt-only"], cwd=ROOT, env=env, capture_output=True,
                                    text=True, timeout=60)
            assert second.returncode == 1
            assert f"PID {first.pid}" in second.stderr and "refused" in second.stderr, second.stderr
            assert len(second.stderr.strip().splitlines()) == 1, second.stderr
            assert time.monotonic() - t < 30

        others = children(first.pid)  # dbt, and any helper (e.g. multiprocessing's resource tracker)
        os.kill(first.pid, sig)
        code = first.wait(timeout=60)
        t = time.monotonic()
        while any(alive(p) for p in [*dbt, *others]) and time.monotonic() - t < GONE_WITHIN_S:
            time.sleep(0.1)
        assert not any(alive(p) for p in dbt), f"dbt still running {GONE_WITHIN_S} s after {sig.name} of the run"
        assert not [p for p in others if alive(p)], [(_cmdline(p)) for p in others if alive(p)]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
        for p in dbt_build_children(first.pid):
            os.kill(p, signal.SIGKILL)

    text = log.read_text()
    # what a person sees: progress with elapsed seconds, no framework warnings (Beta/Supersession…)
    assert "] dbt build: started (" in text, text[-3000:]
    assert not re.search(r"(Beta|Preview|Supersession|Deprecation)Warning", text), text[-3000:]
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"]))
    runs = instance.get_runs()
    assert [r.job_name for r in runs] == ["transform_job"]
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
        # dbt writes run_results.json when a build ends: the killed one never got there
        target = dbt_target_dir()  # a pytest-xdist worker's own
        invocations = list(target.glob(f"btc_signals_dbt-{runs[0].run_id[:7]}-*"))
        assert invocations and not any((d / "run_results.json").exists() for d in invocations)
    else:
        assert code != 0, text
        assert "Traceback" not in text, text[-3000:]
        assert "stopped by" in text or "interrupted" in text, text[-3000:]

    if sig == signal.SIGKILL:
        assert runs[0].status == DagsterRunStatus.STARTED  # nobody could record the end...
        lines = sweep_orphaned_runs(instance)  # ...until the next start, which marks it failed
        assert len(lines) == 1 and runs[0].run_id in lines[0] and f"PID {first.pid}" in lines[0]
        assert instance.get_run_by_id(runs[0].run_id).status == DagsterRunStatus.FAILURE
        assert sweep_orphaned_runs(instance) == []
    else:  # an interrupt is recorded by the run itself
        assert runs[0].status in (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
