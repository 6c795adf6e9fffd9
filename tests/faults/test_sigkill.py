"""A run killed with SIGKILL in the middle of the landing transaction leaves the warehouse at its last
good state: DuckDB opens cleanly (replaying its WAL), the records are exactly the previous load's, and
the next run loads normally."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .harness import FAKE_KEY, count, failure_message, range_tags, run_etf, snapshot
from .server import json_edit

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(__file__).with_name("kill_target.py")
DAY = "2026-02-05"
REACH_KILL_POINT_TIMEOUT_S = 120.0  # subprocess start (Dagster import) on a busy 2-core machine


def revised(body):
    """A revision of every figure (doubled): if any of it lands, the comparison shows it."""
    for rec in body["data"]:
        rec["flow_usd"] = None if rec["flow_usd"] is None else rec["flow_usd"] * 2
        for item in rec["etf_flows"]:
            item["flow_usd"] = None if item["flow_usd"] is None else item["flow_usd"] * 2
    return body


@pytest.mark.parametrize("point", ["after_delete", "before_commit"])
def test_sigkill_mid_write_leaves_the_last_good_state(tmp_path, server, sleeps, monkeypatch, point):
    monkeypatch.setenv("COINGLASS_API_KEY", FAKE_KEY)
    db = tmp_path / "w.duckdb"
    good = run_etf(db, server, source="coinglass", tags=range_tags("2026-02-02", DAY))
    assert good.success, failure_message(good)
    before = snapshot(db)
    day_total = count(db, "select net_flow_usd from raw.etf_flows where flow_date = ? and issuer = 'TOTAL'", [DAY])

    server.reset_script()
    server.always("coinglass", json_edit(revised))
    marker = tmp_path / "at_kill_point"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(tmp_path / "child.log", "wb") as log:
        child = subprocess.Popen(
            [sys.executable, str(TARGET), str(db), server.base_url, DAY, point, str(marker)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + REACH_KILL_POINT_TIMEOUT_S
            while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            reached = marker.exists()
            if reached:
                os.kill(child.pid, signal.SIGKILL)
            returncode = child.wait(timeout=15)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=15)
    assert reached, f"the run never reached {point}: {(tmp_path / 'child.log').read_text()[-2000:]}"
    assert returncode == -signal.SIGKILL
    assert len(server.seen("coinglass")) == 1  # the revised payload was served before the kill

    # DuckDB opens the file without error in a fresh process (lock released, WAL replayed)
    probe = subprocess.run(
        [sys.executable, "-c", "import duckdb,sys; c=duckdb.connect(sys.argv[1]); "
         "print(c.execute('select count(*) from raw.etf_flows').fetchone()[0]); c.execute('checkpoint')", str(db)],
        capture_output=True, text=True, timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert int(probe.stdout.strip()) == len(before["etf_flows"])

    after = snapshot(db)
    assert after["etf_flows"] == before["etf_flows"]  # every column, ingested_at and run_id included
    # the archive row of the revised body was committed on its own before the landing transaction began
    assert set(before["landing_payloads"]) < set(after["landing_payloads"])
    assert len(after["landing_payloads"]) == len(before["landing_payloads"]) + 1

    # and the warehouse is usable: the next run loads the revision whole
    again = run_etf(db, server, source="coinglass", partition=DAY)
    assert again.success, failure_message(again)
    assert count(db, "select net_flow_usd from raw.etf_flows where flow_date = ? and issuer = 'TOTAL'", [DAY]) == 2 * day_total
    assert count(db, "select count(*) from raw.etf_flows") == len(before["etf_flows"])

