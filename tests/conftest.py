"""Test set-up: an isolated warehouse and Dagster home, telemetry off, and the dbt manifest built
before any test module imports pipelines.definitions."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_TMP = Path(tempfile.mkdtemp(prefix="btc_signals_tests_"))


def pytest_configure(config: pytest.Config) -> None:
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    os.environ["BTC_SIGNALS_MODE"] = "replay"
    os.environ.pop("COINGLASS_API_KEY", None)
    os.environ.pop("FRED_API_KEY", None)
    os.environ["BTC_SIGNALS_DUCKDB_PATH"] = str(_TMP / "session.duckdb")
    home = _TMP / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    dbt = Path(sys.executable).parent / "dbt"
    project = ROOT / "dbt_project"
    subprocess.run(
        [str(dbt), "parse", "--quiet", "--project-dir", str(project), "--profiles-dir", str(project)],
        check=True,
        cwd=project,
    )


@pytest.fixture(scope="session")
def tmp_root() -> Path:
    return _TMP


@pytest.fixture(scope="session")
def replay_warehouse(tmp_root: Path) -> Path:
    """The whole bundled replay window loaded once, exactly as `make run` does (raw run + dbt run)."""
    from pipelines import cli

    path = Path(os.environ["BTC_SIGNALS_DUCKDB_PATH"])
    start, end = cli.replay_window()
    assert cli.run(start, end), "the replay pipeline run failed"
    return path
