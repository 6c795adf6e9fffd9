"""The dbt resource skips dagster-dbt's two per-invocation probes (pipelines/resources.py::WarehouseDbtResource):
the `dbt --version` subprocess and the in-process adapter. It must give the same answer as the probe and still
run dbt."""

from __future__ import annotations

import subprocess

from dagster_dbt import DbtCliResource
from packaging.version import Version

from pipelines.dbt_invocation import dbt_vars_args
from pipelines.project import dbt_project
from pipelines.resources import WarehouseDbtResource, build_resources


def test_the_overridden_probes_are_dagster_dbts_own():
    """If dagster-dbt renames them, the overrides would silently stop overriding: fail here instead."""
    for name in ("_cli_version", "_initialize_dbt_core_adapter"):
        assert name in vars(DbtCliResource), f"dagster-dbt no longer has {name}: revisit WarehouseDbtResource"
        assert name in vars(WarehouseDbtResource)


def test_the_version_is_what_dbt_itself_reports():
    dbt = build_resources()["dbt"]
    printed = subprocess.run([dbt.dbt_executable, "--version"], capture_output=True, text=True, timeout=120).stdout
    assert f"installed: {dbt._cli_version}" in printed, printed
    assert dbt._cli_version.major == 1 and isinstance(dbt._cli_version, Version)


def test_dbt_runs_without_the_probes(monkeypatch):
    def never(*_a, **_k):
        raise AssertionError("dagster-dbt probed dbt")

    monkeypatch.setattr("dagster_dbt.core.resource.check_output", never)
    monkeypatch.setattr(DbtCliResource, "_initialize_dbt_core_adapter", never)
    dbt = build_resources()["dbt"]
    # the builds' --vars: dbt keeps the worker's parse instead of parsing every node again
    invocation = dbt.cli(["list", "--resource-type", "seed", "--output", "name", *dbt_vars_args()],
                         manifest=dbt_project.manifest_path, raise_on_error=False)
    invocation.wait()
    assert invocation.is_successful(), invocation.get_error()
    assert invocation.adapter is None
    assert "signal_rules" in invocation.target_path.joinpath("dbt.log").read_text()  # dbt listed the seeds


def test_a_dbt_build_closes_the_warehouse_a_raw_step_of_its_run_kept_open(tmp_path, monkeypatch):
    """In a run of raw assets and dbt models (one process, one set of resources), the raw steps keep the
    warehouse open; dbt is another process and must find it closed."""
    import sys

    from dagster import build_init_resource_context

    from pipelines.resources import WarehouseResource

    db = tmp_path / "w.duckdb"
    probe = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"

    def another_process_opens_it() -> bool:
        return subprocess.run([sys.executable, "-c", probe, str(db)], capture_output=True, timeout=60).returncode == 0

    warehouse = WarehouseResource(database=str(db))
    context = build_init_resource_context()
    warehouse.setup_for_execution(context)
    try:
        with warehouse.get_connection() as con:
            con.execute("create table t as select 1 as v")
        assert not another_process_opens_it()  # kept open between steps

        seen = []
        monkeypatch.setattr(DbtCliResource, "cli", lambda self, args, **kwargs: seen.append(another_process_opens_it()))
        build_resources()["dbt"].model_copy(update={"warehouse": str(db)}).cli(["build"])
        assert seen == [True]
        with warehouse.get_connection() as con:  # a later step opens it again
            assert con.execute("select v from t").fetchall() == [(1,)]
    finally:
        warehouse.teardown_after_execution(context)
    assert another_process_opens_it()
