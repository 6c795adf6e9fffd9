"""Test set-up: an isolated warehouse and Dagster home, telemetry off, and the dbt manifest built
before any test module imports pipelines.definitions.

Scratch files (the session's warehouse and Dagster home, pytest's tmp_path, the test PostgreSQL
cluster) live in RAM (/dev/shm) when the machine has it: Dagster's SQLite event log commits every
event on its own, and on this machine's disk a commit waits ~10 ms for fsync against ~0.4 ms on tmpfs
(docs/operations.md, Performance). The storage code under test is the same; only the medium differs.
BTC_SIGNALS_TEST_TMP=<dir> puts them elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _scratch_root() -> str | None:
    chosen = os.environ.get("BTC_SIGNALS_TEST_TMP")
    if chosen:
        return chosen
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 2 * 1024**3:
        return str(shm)
    return None


_ROOT_TMP = _scratch_root()
if _ROOT_TMP:
    # before pytest creates its basetemp, and inherited by subprocesses the tests start
    os.environ["TMPDIR"] = tempfile.tempdir = _ROOT_TMP


def _session_dir() -> Path:
    """This session's scratch directory (its warehouses and Dagster home): the same path for every session of
    this checkout and pytest-xdist worker, emptied at the start. The dbt profile names the warehouse file, so a
    fixed path lets the next session find the worker's dbt parses current (their stamps, kept in
    dbt_project/target/pytest-<worker>[-scratch]) instead of parsing twice per worker (≈ 13 s each). Two
    sessions of the same checkout at once would share it (as they share those target directories)."""
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    path = Path(tempfile.gettempdir()) / f"btc_signals_tests-{checkout}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


_TMP = _session_dir()


def _read_alembic_scripts_once() -> None:
    """Dagster reads its ≈ 90 alembic migration scripts from disk each time a SQLite storage is created or
    checked (``ScriptDirectory.from_config``: the run, event-log and schedule storage of every instance, and
    every run's event-log file): ≈ 40 ms each, and the tests create hundreds of throw-away instances. The
    scripts are installed files that do not change during a session: read them once per script location and
    configuration file. The storages, their schema and the revisions they are stamped with are Dagster's own."""
    from alembic.script import ScriptDirectory

    read = ScriptDirectory.from_config.__func__
    scripts: dict[tuple, ScriptDirectory] = {}

    def from_config(cls, config, *args, **kwargs):
        key = (cls, config.config_file_name, config.get_main_option("script_location"), args, tuple(kwargs.items()))
        if key not in scripts:
            scripts[key] = read(cls, config, *args, **kwargs)
        return scripts[key]

    ScriptDirectory.from_config = classmethod(from_config)


_read_alembic_scripts_once()


_WORKER_TARGET: Path | None = None  # a pytest-xdist worker's own dbt target directory


def pytest_configure(config: pytest.Config) -> None:
    global _WORKER_TARGET
    worker = getattr(config, "workerinput", {}).get("workerid")
    _WORKER_TARGET = ROOT / "dbt_project" / "target" / f"pytest-{worker}" if worker else None
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    os.environ["BTC_SIGNALS_MODE"] = "replay"
    os.environ.pop("COINGLASS_API_KEY", None)
    os.environ.pop("FRED_API_KEY", None)
    os.environ["BTC_SIGNALS_DUCKDB_PATH"] = str(_TMP / "session.duckdb")
    home = _TMP / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    from pipelines.cli import DAGSTER_YAML, ensure_manifest
    from pipelines.dbt_invocation import parse

    (home / "dagster.yaml").write_text(DAGSTER_YAML)  # the instance `make run` and `make dev` use
    os.environ["DAGSTER_HOME"] = str(home)
    if not worker and config.getoption("dist", "no") != "no":
        # the pytest-xdist controller runs no test: its workers parse their own warehouses below; the
        # definitions they import need dbt_project/target's manifest (which `make setup` writes)
        ensure_manifest()
        return
    if _WORKER_TARGET:
        # a pytest-xdist worker (make test): its warehouse path differs from the other workers', and dbt
        # re-parses when the profile changes, so each worker parses into its own target directory, which
        # its dbt builds (dagster-dbt reads DBT_TARGET_PATH) and their partial parsing then use
        os.environ["DBT_TARGET_PATH"] = str(_WORKER_TARGET.relative_to(ROOT / "dbt_project"))
    # The same --vars (one function, pipelines/dbt_invocation.py) and profile (this session's warehouse) as
    # the dbt builds: every dbt build in the tests then reuses this parse (partial parsing).
    parse()


def pytest_unconfigure(config: pytest.Config) -> None:
    # in RAM: do not leave the session's warehouses behind; the worker's dbt target directories stay, parsed
    # for the same paths next session (the builds' invocation directories in them are pruned to the last few)
    shutil.rmtree(_TMP, ignore_errors=True)


# The test files that run a whole pipeline (a Dagster run with a dbt build, 15–90 s each), heaviest first
# (those using `replay_warehouse` are in its group, below). Each worker takes a group at a time in order:
# these go first, so the many short files fill in at the end and the two workers finish together
# (docs/operations.md, Test suite).
PIPELINE_FILES = (
    "test_postgres_instance.py", "faults/test_security.py", "test_pipeline_e2e.py", "test_dbt_incremental.py",
    "browser/test_ui.py", "test_definitions.py", "test_derivatives_e2e.py", "faults/test_kill_run.py",
    "test_dbt_tests.py", "faults/test_warehouse.py", "test_dbt_resource.py", "test_macro_e2e.py",
)


# `make test` runs `pytest --dist loadgroup --no-loadscope-reorder`: every test file is a group of its own,
# except that all files using `replay_warehouse` form one group, so one worker builds it (a cold build of the
# whole window, ≈ 50 s) instead of each. That group goes first, then PIPELINE_FILES, then the rest, in this
# order (xdist's default reorders groups by their number of tests).
REPLAY_GROUP = "replay_warehouse"


# xdist's own hook turns these markers into the groups it schedules by (a `@group` suffix of each test's id): this one
# must run first (tryfirst), and pytest 9.2's structured node ids ignore the suffix (pytest-xdist#1386, so pytest is
# pinned to 9.1). Either way the groups silently vanish and every worker builds the replay warehouse and the
# PostgreSQL run: pytest_xdist_node_collection_finished below refuses to go on then.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    replay_files = {item.path for item in items if "replay_warehouse" in getattr(item, "fixturenames", ())}

    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(ROOT / "tests").as_posix()
        if item.path in replay_files:
            return -1
        return PIPELINE_FILES.index(path) if path in PIPELINE_FILES else len(PIPELINE_FILES)

    items.sort(key=rank)  # stable: within a file, and for every other file, the collection order
    for item in items:
        group = REPLAY_GROUP if item.path in replay_files else item.path.relative_to(ROOT / "tests").as_posix()
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    if node.config.getvalue("dist") == "loadgroup" and (ungrouped := [i for i in ids if "@" not in i]):
        raise pytest.UsageError(f"--dist loadgroup: {len(ungrouped)} test(s) lost their xdist group, e.g. {ungrouped[0]}")


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


@dataclass(frozen=True)
class ScratchWarehouse:
    """A warehouse file of its own for a test that runs dbt, at a path that stays the same for the worker's
    session, with a dbt target directory parsed once for that path. dbt's partial parsing holds only for the
    profile it was parsed with, and the profile names the warehouse file: a dbt build into a new path re-parses
    every node (≈ 10–13 CPU-s, docs/operations.md), which each such test paid."""

    path: Path  # the warehouse file (absent at the start of the test)
    target: Path  # absolute: dbt's --target-path / DBT_TARGET_PATH, holding the partial parse for `path`

    @property
    def env(self) -> dict[str, str]:
        """What a dbt or btc-signals process (or Dagster's dbt resource) needs to build into it."""
        return {"BTC_SIGNALS_DUCKDB_PATH": str(self.path), "DBT_TARGET_PATH": str(self.target)}

    def emptied(self) -> ScratchWarehouse:
        """No warehouse file (nor its reader copy, WAL or lock files) left from an earlier test."""
        shutil.rmtree(self.path.parent, ignore_errors=True)
        self.path.parent.mkdir(parents=True)
        return self


def _scratch_target() -> Path:
    return ROOT / "dbt_project" / "target" / (f"{_WORKER_TARGET.name}-scratch" if _WORKER_TARGET else "pytest-scratch")


@pytest.fixture(scope="session")
def scratch_session() -> ScratchWarehouse:
    """The worker's scratch warehouse and its dbt parse, made on first use (not emptied: see below)."""
    from pipelines.dbt_invocation import parse

    scratch = ScratchWarehouse(path=_TMP / "scratch" / "scratch.duckdb", target=_scratch_target())
    with pytest.MonkeyPatch.context() as env:
        for key, value in scratch.env.items():
            env.setenv(key, value)
        parse()
    return scratch


@pytest.fixture
def scratch_warehouse(scratch_session: ScratchWarehouse) -> ScratchWarehouse:
    """The worker's scratch warehouse, emptied for this test (a module-scoped fixture may use
    ``scratch_session.emptied()``: the worker runs a test file's tests one after another)."""
    return scratch_session.emptied()
