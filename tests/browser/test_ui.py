"""The UI a user lives in, in a real browser: `dagster dev` on a free loopback port over a warehouse built from
the bundled data (the session's `make run`), opened in Debian's headless Chromium through playwright-core
(tests/browser/ui.mjs). Screenshots go to the test's tmp dir; every process started here is stopped
(`dagster dev` in the background while the worker's next tests run: its shutdown takes ≈ 9 s; the session
waits for it at the end and fails if anything of it survived).

`dagster dev` runs as after an edit of the dbt project: its code location parses the dbt manifest at load
(the session's parse state without its stamp, so dbt runs with partial parsing, from a shell with no
virtualenv and so no dbt on PATH) and must stamp that parse for the next load to skip.

Needs /usr/bin/chromium (Debian's `chromium`) and `npm ci` in tests/browser: `.ci/run` installs both."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from pipelines import cli
from pipelines.dbt_invocation import PARSE_STAMP
from pipelines.settings import dbt_target_dir

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
RAW_ASSET = "raw/btc_price_daily"
LOCATION_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], **kwargs) -> subprocess.Popen:
    """In its own process group, with SIGINT at its default (a shell's background job inherits it ignored,
    and dagster dev shuts down on SIGINT, as on Ctrl-C)."""
    return subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_group(proc: subprocess.Popen, grace_s: float = 60) -> None:
    """Ctrl-C the leader (dagster dev stops its webserver, daemon and code servers), then SIGTERM and
    finally SIGKILL whatever is left of its process group; returns once the group is empty."""
    for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        if not group_alive(proc.pid):
            break
        with contextlib.suppress(ProcessLookupError):
            if sig == signal.SIGINT:
                proc.send_signal(sig)
            else:
                os.killpg(proc.pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and group_alive(proc.pid):
            proc.poll()
            time.sleep(0.5)
    proc.wait(timeout=10)
    assert not group_alive(proc.pid), f"process group {proc.pid} survived SIGKILL"


def location_status(url: str) -> tuple[str | None, str | None]:
    """(loadStatus, load error message) of the btc_signals location."""
    body = httpx.post(f"{url}/graphql", json={"query": LOCATION_QUERY}, timeout=10).json()
    for entry in body["data"]["workspaceOrError"].get("locationEntries", []):
        if entry["name"] == "btc_signals":
            error = entry["locationOrLoadError"] or {}
            return entry["loadStatus"], error.get("message")
    return None, None


@pytest.fixture(scope="session")
def background_stops():
    """Process groups being stopped in the background; at the end of the session each must be gone."""
    stops: list[tuple[threading.Thread, list[BaseException]]] = []
    yield stops
    for thread, errors in stops:
        thread.join()
        assert not errors, errors


def stop_in_background(proc: subprocess.Popen, stops: list) -> None:
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            stop_group(proc)
        except BaseException as exc:  # noqa: BLE001  (reported at the end of the session)
            errors.append(exc)

    thread = threading.Thread(target=stop, name=f"stop dagster dev {proc.pid}", daemon=True)
    thread.start()
    stops.append((thread, errors))


@pytest.fixture()
def dagster_dev(replay_warehouse, tmp_path, background_stops):
    """`make dev` as a user runs it (no virtualenv on PATH), on a free port, against the session's warehouse
    and Dagster instance (which hold `make run`'s runs), with a dbt target directory holding this session's
    parse (for this warehouse) but no stamp, as after an edit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    target = tmp_path / "target"
    target.mkdir()
    for name in ("manifest.json", "partial_parse.msgpack"):
        shutil.copy(dbt_target_dir() / name, target / name)
    env = {
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "DAGSTER_HOME": os.environ["DAGSTER_HOME"],
        "BTC_SIGNALS_MODE": "replay",
        "BTC_SIGNALS_DUCKDB_PATH": str(replay_warehouse),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "GX_ANALYTICS_ENABLED": "false",
        "DBT_TARGET_PATH": str(target),
    }
    log_path = tmp_path / "dagster_dev.log"
    with open(log_path, "w") as log:
        proc = start(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 420
        status, error = None, None
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"dagster dev exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
            try:
                status, error = location_status(url)
            except (httpx.HTTPError, KeyError, ValueError):
                status = None
            if status == "LOADED":
                break
            time.sleep(2)
        assert status == "LOADED" and error is None, f"code location: {status}, {error}\n{log_path.read_text()[-3000:]}"
        assert (target / PARSE_STAMP).exists(), f"the parse at load left no stamp\n{log_path.read_text()[-3000:]}"
        yield url, log_path
    finally:
        stop_in_background(proc, background_stops)


def run_browser(url: str, tmp_path: Path, report: Path) -> dict:
    assert CHROMIUM.exists(), "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; see .ci/run)"
    assert (HERE / "node_modules" / "playwright-core").is_dir(), "needs `npm ci` in tests/browser (see .ci/run)"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    env = {
        **os.environ,
        "DAGSTER_URL": url,
        "SCREENSHOT_DIR": str(shots),
        "PROFILE_DIR": str(tmp_path / "chromium-profile"),  # a fresh profile every run
        "REPORT_PATH": str(report),
        "RAW_ASSET": RAW_ASSET,
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }
    proc = start([shutil.which("node") or "node", str(HERE / "ui.mjs")], cwd=HERE, env=env,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=900)
    finally:
        stop_group(proc, grace_s=5)
    assert out.strip(), f"ui.mjs printed nothing (exit {proc.returncode}): {err[-2000:]}"
    result = json.loads(out.strip().splitlines()[-1])
    print("screenshots:", *result["screenshots"].values(), sep="\n  ")
    assert "error" not in result, f"{result['error']}; screenshots: {result['screenshots']}"
    return result


def test_the_ui_and_the_report_in_a_browser(dagster_dev, tmp_path):
    url, _log = dagster_dev
    report = tmp_path / "report_2026-02-05.html"
    assert cli.main(["report", "--date", "2026-02-05", "--out", str(report)]) == 0
    result = run_browser(url, tmp_path, report)

    # the code location loaded
    assert "btc_signals" in result["location"] and "Loaded" in result["location"]

    # signal_dashboard: the latest day's readings (every indicator, the regime) and the two charts
    dashboard = result["dashboard"]
    assert dashboard["heading"] == "Signal dashboard for 2026-02-28"
    assert dashboard["readings"][0].startswith("indicator status reading rule source freshness")
    readings = {r.split(" ")[0]: r for r in dashboard["readings"][1:]}
    assert {"etf_net_flow", "funding_rate", "price_vs_key_levels", "hash_price", "regime"} <= set(readings)
    assert all(any(s in r for s in ("bull_confirmation", "neutral", "bear_continuation", "no_data")) for r in readings.values())
    assert "66,996" in readings["price_vs_key_levels"]  # the close of 2026-02-28, then the rule and the source
    assert "yahoo_btc_usd_aggregate" in readings["price_vs_key_levels"] and "(data of 2026-02-28)" in readings["price_vs_key_levels"]
    assert [c["key"] for c in dashboard["charts"]] == ["chart_last_90_days", "chart_whole_window"]
    assert dashboard["charts"][0]["alt"].endswith("2025-12-01 .. 2026-02-28")
    assert dashboard["charts"][1]["alt"].endswith("2024-01-11 .. 2026-02-28")
    assert all(c["width"] >= 1000 and c["height"] >= 600 for c in dashboard["charts"])

    # a raw asset: all 26 monthly partitions of the replay window (Jan 2024 .. Feb 2026), every one materialised
    assert result["partitions"] == {
        "selected": "26 Partitions Selected",
        "states": ["Failed (0)", "Materialized (26)", "Materializing (0)", "Missing (0)"],
    }

    # the report of 5 Feb 2026, opened from disk
    rep = result["report"]
    assert rep["title"] == "btc-signals report 2026-02-05"
    assert rep["headings"][:2] == ["BTC market regime — 2026-02-05", "Regime"]
    etf = next(r for r in rep["rows"] if r.startswith("etf_net_flow"))
    assert "bear_continuation" in etf and "-434.1M" in etf  # Farside's total for the day
    assert [c.split(" ")[0] for c in rep["conditions"][:3]] == ["1", "2", "3"]
    assert len(rep["images"]) == 1 and rep["images"][0]["width"] >= 1000

    for name, path in result["screenshots"].items():
        assert Path(path).stat().st_size > 10_000, name
