"""How dbt is invoked, in one place: the executable, the ``--vars`` and arguments of every parse and build,
and the parse itself (skipped when nothing it reads changed). No Dagster import here, so that
`btc-signals parse` (every `make run`, `make test`, `make dev`) costs a fraction of a second when the
manifest is current; the dbt project as Dagster sees it is pipelines/project.py."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path

from pipelines.settings import DBT_PROJECT_DIR, Settings, dbt_target_dir, load_settings


def dbt_executable() -> str:
    """The dbt installed next to this Python (works without an activated venv), else dbt on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dashboard_end_date(settings: Settings | None = None) -> date:
    """The dashboard's last day. Replay: the bundled dataset's last day. Live: today (UTC)."""
    settings = settings or load_settings()
    if settings.mode == "replay":
        # what partitions.replay_window returns, without importing Dagster (this module keeps the parse skip cheap)
        from pipelines.replay.transport import dataset_window

        return dataset_window(settings.replay_dir)[1]
    return datetime.now(tz=UTC).date()


def dbt_vars_args(settings: Settings | None = None) -> list[str]:
    """``--vars`` of every dbt parse and build (``btc-signals parse``, ``dagster dev``'s parse, the dbt
    asset, the tests). dbt keeps its partial-parse state only while the vars stay the same: a build
    with other vars than the parse before it re-parses all nodes (≈ 8 CPU-s, docs/operations.md)."""
    return ["--vars", json.dumps({"dashboard_end_date": dashboard_end_date(settings).isoformat()})]


def dbt_build_args(*, full_refresh: bool = False, settings: Settings | None = None) -> list[str]:
    """The dbt build of the dbt asset. The daily increment (the default) leaves out the unit tests, which
    test the SQL, not the day's data (they run in a full rebuild and in the test suite); a full rebuild
    (``full_refresh``) runs every node and rebuilds incremental models from scratch.
    docs/operations.md, "dbt: the daily increment", has the figures."""
    mode = ["--full-refresh"] if full_refresh else ["--exclude-resource-type", "unit_test"]
    return ["build", *dbt_vars_args(settings), *mode]


# parse(): the stamp it writes in the target directory, beside the manifest it vouches for, the lock it holds
# while dbt parses, and the folders of the dbt project that are dbt's output, not its input (left out of the
# fingerprint)
PARSE_STAMP, PARSE_LOCK = "btc_signals_parse.sha256", "btc_signals_parse.lock"
PARSE_LOCK_TIMEOUT_S = 300  # a full parse takes ≈ 15 s on the 2-core machine
_NOT_PROJECT_FILES = ("target", "logs", "dbt_packages")
_DBT_TIME = re.compile(r"^\d\d:\d\d:\d\d\s+")  # dbt's console lines start with the time
_ENV_VAR = re.compile(r"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")


def parse_fingerprint(project_dir: Path = DBT_PROJECT_DIR, settings: Settings | None = None) -> str:
    """A digest of everything a `dbt parse` of ``project_dir`` depends on: every file of the project (path and
    content; not target/, logs/, dbt_packages/), the ``--vars`` the builds use, the value of every
    environment variable the project reads with ``env_var()`` (the profile's warehouse path among them), and
    the dbt-core and dbt-duckdb versions. The same digest means dbt would write the same manifest."""
    digest = hashlib.sha256()
    env_names: set[str] = set()
    for path in sorted(p for p in project_dir.rglob("*") if p.is_file()
                       and p.relative_to(project_dir).parts[0] not in _NOT_PROJECT_FILES):
        content = path.read_bytes()
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0" + hashlib.sha256(content).digest())
        if path.suffix in (".yml", ".yaml", ".sql", ".py"):
            env_names.update(_ENV_VAR.findall(content.decode("utf-8", errors="replace")))
    facts = {
        "vars": dbt_vars_args(settings),
        "env": {name: os.environ.get(name) for name in sorted(env_names)},
        "versions": [metadata.version("dbt-core"), metadata.version("dbt-duckdb")],
    }
    digest.update(json.dumps(facts, sort_keys=True).encode())
    return digest.hexdigest()


def parse(target: Path | None = None) -> bool:
    """`dbt parse` into ``target`` (default: this environment's, ``dbt_target_dir()``) with the builds'
    ``--vars``, unless the manifest there came from a parse of the same inputs (``parse_fingerprint``):
    dbt's own partial parsing still takes ≈ 11 s for an unchanged project (its start-up and the manifest
    written again), paid by every `make run`, `make test`, `make dev` and code-location load. Returns
    whether dbt ran. One parse at a time per target directory (under `dagster dev` the code server and each
    run it launches parse at import): a process that waited for another's parse uses it. A failed parse
    leaves no stamp, so the next call parses again."""
    target = target or dbt_target_dir()
    fingerprint = parse_fingerprint()
    if _is_current(target, fingerprint):
        return False
    from filelock import FileLock, Timeout

    target.mkdir(parents=True, exist_ok=True)
    lock = FileLock(target / PARSE_LOCK)
    try:
        with lock.acquire(timeout=PARSE_LOCK_TIMEOUT_S):
            if _is_current(target, fingerprint):  # parsed by the process this one waited for
                return False
            _run_parse(target, fingerprint)
    except Timeout:
        raise DbtParseError(f"dbt parse of {DBT_PROJECT_DIR.name}: another parse has held {lock.lock_file} "
                            f"for {PARSE_LOCK_TIMEOUT_S} s") from None
    return True


def _stamp(target: Path, fingerprint: str) -> str | None:
    """What the stamp says after a parse of these inputs: the fingerprint, and the size and mtime of the two
    files the parse wrote (so that a manifest written since by anything else, e.g. a `dbt parse` by hand
    with other vars, is not vouched for). None if either file is missing."""
    files = [target / "manifest.json", target / "partial_parse.msgpack"]
    if not all(f.exists() for f in files):
        return None
    return "\n".join([fingerprint, *(f"{f.name} {f.stat().st_size} {f.stat().st_mtime_ns}" for f in files)])


def _is_current(target: Path, fingerprint: str) -> bool:
    stamp, expected = target / PARSE_STAMP, _stamp(target, fingerprint)
    return expected is not None and stamp.exists() and stamp.read_text() == expected


def _run_parse(target: Path, fingerprint: str) -> None:
    stamp = target / PARSE_STAMP
    stamp.unlink(missing_ok=True)
    cmd = [dbt_executable(), "parse", "--quiet", "--no-use-colors", "--project-dir", str(DBT_PROJECT_DIR),
           "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), *dbt_vars_args()]
    try:
        done = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    except OSError as exc:  # no dbt beside this Python nor on PATH
        raise DbtParseError(f"dbt parse of {DBT_PROJECT_DIR.name}: cannot run {cmd[0]} ({exc.strerror})") from None
    if done.returncode != 0:  # --quiet: what dbt printed is its error
        said = " ".join(_DBT_TIME.sub("", line).strip() for line in (done.stdout + done.stderr).splitlines() if line.strip())
        raise DbtParseError(f"dbt parse of {DBT_PROJECT_DIR.name} failed (exit {done.returncode}): "
                            f"{said[-1500:] or 'dbt printed nothing'}")
    written = _stamp(target, fingerprint)
    if written is None:
        raise DbtParseError(f"dbt parse of {DBT_PROJECT_DIR.name} wrote no manifest.json / partial_parse.msgpack "
                            f"in {target}")
    stamp.write_text(written)


class DbtParseError(Exception):
    """dbt could not parse the project (a broken model or YAML, a missing dbt): dbt's own words."""
