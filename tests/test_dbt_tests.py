"""Required columns are tested by one `not_null_columns` test per model (dbt_project/tests/generic/), not one
`not_null` test per column: every dbt test node costs ≈ 50 ms of dbt overhead and a Dagster asset check
(docs/operations.md, Performance). The same columns stay covered, the test fails on a null naming the
column and its null rows, and it is a blocking asset check on its model's asset."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb

from pipelines.project import dbt_executable, dbt_vars_args
from pipelines.settings import DBT_PROJECT_DIR


def _manifest() -> dict:
    target = DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")
    return json.loads((target / "manifest.json").read_text())  # written by `dbt parse` in conftest


def _tests(manifest: dict, name: str) -> list[dict]:
    return [n for n in manifest["nodes"].values()
            if n["resource_type"] == "test" and (n.get("test_metadata") or {}).get("name") == name]


def _model_name(test: dict) -> str:
    return test["attached_node"].split(".")[-1]


def test_required_columns_are_one_test_per_model_not_one_per_column():
    manifest = _manifest()
    assert _tests(manifest, "not_null") == [], "a column-level not_null test: add the column to its model's not_null_columns"
    tests = _tests(manifest, "not_null_columns")
    attached = [t["attached_node"] for t in tests]
    assert len(tests) >= 40 and len(set(attached)) == len(attached), "one not_null_columns test per model"
    for test in tests:
        node = manifest["nodes"][test["attached_node"]]
        columns = test["test_metadata"]["kwargs"]["columns"]
        assert columns and len(set(columns)) == len(columns), test["name"]
        verb = "is" if len(columns) == 1 else "are"
        assert test["description"] == f"{', '.join(columns)} {verb} filled in on every row of {node['name']} (no nulls)."
        assert test["config"]["severity"].lower() == "error", test["name"]


def test_every_required_column_exists_in_its_built_model(replay_warehouse: Path):
    manifest = _manifest()
    with duckdb.connect(str(replay_warehouse), read_only=True) as con:
        built = {}
        for schema, table, column in con.execute(
                "select table_schema, table_name, column_name from information_schema.columns").fetchall():
            built.setdefault((schema, table), set()).add(column)
    for test in _tests(manifest, "not_null_columns"):
        node = manifest["nodes"][test["attached_node"]]
        relation = (node["schema"], node["alias"])
        assert relation in built, f"{test['name']}: {relation} is not in the warehouse"
        missing = set(test["test_metadata"]["kwargs"]["columns"]) - built[relation]
        assert not missing, f"{test['name']}: no column {sorted(missing)} in {'.'.join(relation)}"


def test_not_null_columns_is_a_blocking_asset_check_on_its_model():
    from pipelines.assets.dbt import btc_signals_dbt

    checks = {spec.name: spec for spec in btc_signals_dbt.check_specs}
    tests = _tests(_manifest(), "not_null_columns")
    for test in tests:
        spec = checks[test["name"]]
        assert spec.asset_key.path[-1] == _model_name(test), test["name"]
        assert spec.blocking, test["name"]
    assert ("marts", "signal_dashboard") in {tuple(checks[t["name"]].asset_key.path) for t in tests}


def test_a_null_fails_the_test_naming_the_column_and_its_null_rows(tmp_path: Path):
    """The seeds' own rows in a scratch warehouse, three nulls put into source_freshness: its test fails
    with one row per failing column; signal_rules, untouched, passes."""
    warehouse = tmp_path / "nulls.duckdb"
    seeds = DBT_PROJECT_DIR / "seeds"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema seeds")
        for seed in ("signal_rules", "source_freshness"):
            con.execute(f"create table seeds.{seed} as select * from read_csv(?, header = true)",
                        [str(seeds / f"{seed}.csv")])
        con.execute("update seeds.source_freshness set source_key = null where source_key = 'etf_flows'")
        con.execute("update seeds.source_freshness set max_lag_days = null where source_key in ('btc_price', 'mining')")
    names = [t["name"] for t in _tests(_manifest(), "not_null_columns")
             if _model_name(t) in ("signal_rules", "source_freshness")]
    assert len(names) == 2
    target = tmp_path / "target"
    done = subprocess.run(
        [dbt_executable(), "test", "--select", *names, "--store-failures", *dbt_vars_args(),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(target)],
        cwd=DBT_PROJECT_DIR, env={**os.environ, "BTC_SIGNALS_DUCKDB_PATH": str(warehouse)},
        capture_output=True, text=True,
    )
    assert done.returncode == 1, done.stdout[-3000:]  # dbt: a test failed
    results = {r["unique_id"].split(".")[2]: r for r in json.loads((target / "run_results.json").read_text())["results"]}
    freshness, = [n for n in names if "source_freshness" in n]
    rules, = [n for n in names if "signal_rules" in n]
    assert (results[rules]["status"], results[rules]["failures"]) == ("pass", 0)
    assert (results[freshness]["status"], results[freshness]["failures"]) == ("fail", 2)  # failing columns
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(f'select column_name, null_rows from dbt_test__audit."{freshness}" order by 1').fetchall()
    assert rows == [("max_lag_days", 2), ("source_key", 1)]

