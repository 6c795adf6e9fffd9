"""`btc-signals parse` (every `make run`, `make test`, `make dev`) and the code location's parse under `dagster dev`
skip dbt when nothing a parse reads changed (pipelines/dbt_invocation.py::parse): dbt itself takes ≈ 11 s to
find that out. The digest must change with every input of a parse, and only with those."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from pipelines.dbt_invocation import PARSE_STAMP, parse, parse_fingerprint
from pipelines.settings import DBT_PROJECT_DIR, dbt_target_dir, load_settings


def parsed_target(tmp_path: Path, stamp: str | None = None) -> Path:
    """A target directory holding this worker's parse (its files with their mtimes) and either its stamp or,
    given ``stamp``, that text as the stamp (a parse of other inputs)."""
    target = tmp_path / "target"
    target.mkdir()
    for name in ("manifest.json", "partial_parse.msgpack", *(() if stamp else (PARSE_STAMP,))):
        shutil.copy2(dbt_target_dir() / name, target / name)
    if stamp:
        (target / PARSE_STAMP).write_text(stamp)
    return target


def stand_in_dbt(tmp_path: Path, script: str) -> str:
    """An executable standing in for dbt: a shell script."""
    path = tmp_path / "dbt"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


def test_an_unchanged_project_is_not_parsed_again():
    """This worker's target directory was parsed when the session started (tests/conftest.py), with this
    environment: a second parse finds its stamp current and leaves the manifest as it was."""
    target = dbt_target_dir()
    manifest = target / "manifest.json"
    before = manifest.stat().st_mtime_ns
    assert (target / PARSE_STAMP).read_text().splitlines()[0] == parse_fingerprint()
    assert parse() is False
    assert manifest.stat().st_mtime_ns == before


def test_a_manifest_written_since_the_parse_is_not_vouched_for(tmp_path):
    """A manifest rewritten after the stamped parse (a `dbt parse` by hand, with other vars) is parsed again."""
    import os

    from pipelines.dbt_invocation import _is_current

    target = parsed_target(tmp_path)
    assert _is_current(target, parse_fingerprint())
    os.utime(target / "manifest.json")
    assert not _is_current(target, parse_fingerprint())


def test_the_fingerprint_changes_with_what_a_parse_reads_and_only_with_that(tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    base = parse_fingerprint(project)
    assert parse_fingerprint(project) == base

    model = project / "models" / "marts" / "signal_dashboard.sql"
    text = model.read_text()
    model.write_text(text + "\n-- edited\n")
    assert parse_fingerprint(project) != base, "an edited model"
    model.write_text(text)
    assert parse_fingerprint(project) == base, "the edit undone"

    (project / "models" / "staging" / "new_model.sql").write_text("select 1 as x\n")
    assert parse_fingerprint(project) != base, "a new model"
    (project / "models" / "staging" / "new_model.sql").unlink()

    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("a log line\n")
    assert parse_fingerprint(project) == base, "dbt's own output is not an input"

    # the profile's warehouse path (an env_var() of profiles.yml): it names the database in the manifest
    monkeypatch.setenv("BTC_SIGNALS_DUCKDB_PATH", str(tmp_path / "another.duckdb"))
    assert parse_fingerprint(project) != base, "another warehouse"
    monkeypatch.undo()
    assert parse_fingerprint(project) == base

    # the --vars: live mode's dashboard ends today, replay's on the bundled dataset's last day
    live = dataclasses.replace(load_settings(), mode="live")
    assert parse_fingerprint(project, live) != base, "other --vars"


def test_a_stale_stamp_parses_and_a_failed_parse_says_why_and_leaves_no_stamp(tmp_path, monkeypatch):
    """A stamp of other inputs makes dbt run; a parse that fails is retried next time, not vouched for, and
    says in one line what dbt said. (dbt stands in here for a dbt that fails: a shell script printing an error.)"""
    import pytest

    from pipelines import dbt_invocation

    target = parsed_target(tmp_path, stamp="a digest of other inputs")
    failing = stand_in_dbt(tmp_path, "echo 'Parsing Error in model broken (models/broken.sql)'\nexit 2")
    monkeypatch.setattr(dbt_invocation, "dbt_executable", lambda: failing)
    with pytest.raises(dbt_invocation.DbtParseError) as failed:
        dbt_invocation.parse(target)
    assert str(failed.value) == ("dbt parse of dbt_project failed (exit 2): "
                                 "Parsing Error in model broken (models/broken.sql)")
    assert not (target / PARSE_STAMP).exists()


def test_two_processes_parsing_at_once_run_dbt_once(tmp_path, monkeypatch):
    """Under `dagster dev` the code server and every run it launches parse at import: with the project just
    edited, the second waits for the first's parse and uses it instead of writing the same files at once.
    (A stand-in dbt that takes a second and counts its calls; two threads stand for the two processes, as
    the lock is a file lock.)"""
    from concurrent.futures import ThreadPoolExecutor

    from pipelines import dbt_invocation

    target = parsed_target(tmp_path, stamp="the digest before the edit")
    calls = tmp_path / "calls"
    slow = stand_in_dbt(tmp_path, f"sleep 1\necho parse >> {calls}")
    monkeypatch.setattr(dbt_invocation, "dbt_executable", lambda: slow)
    with ThreadPoolExecutor(2) as pool:
        ran = sorted(pool.map(lambda _: dbt_invocation.parse(target), range(2)))
    assert ran == [False, True]
    assert calls.read_text().splitlines() == ["parse"]
    assert (target / PARSE_STAMP).read_text().splitlines()[0] == parse_fingerprint()
