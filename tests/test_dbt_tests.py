"""Every model's data rules are one `model_checks` test (dbt_project/tests/generic/model_checks.sql): its
required columns, its grain and its row rules (ranges, accepted values, expressions), instead of one dbt
test per rule. Every dbt test node costs ≈ 50 ms of dbt's overhead and a Dagster asset check whatever its SQL
(docs/operations.md, "dbt: one test node per model"). The rules stay declared and named one by one: a failure
lists each broken rule with its failing rows, in dbt's stored failures and on the Dagster asset check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb

from pipelines.dbt_invocation import dbt_executable, dbt_vars_args
from pipelines.settings import DBT_PROJECT_DIR, dbt_target_dir

GENERIC = "model_checks"


def _manifest() -> dict:
    return json.loads((dbt_target_dir() / "manifest.json").read_text())  # written by `dbt parse` in conftest


def _tests(manifest: dict, name: str | None = None) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "test" and n.get("test_metadata")
            and (name is None or n["test_metadata"]["name"] == name)]


def _model_name(test: dict) -> str:
    return test["attached_node"].split(".")[-1]


def test_each_model_has_one_model_checks_test_and_no_test_per_rule():
    manifest = _manifest()
    others = sorted({t["test_metadata"]["name"] for t in _tests(manifest)} - {GENERIC})
    assert others == [], f"a generic test per rule ({others}): add it to its model's model_checks arguments"
    tests = _tests(manifest, GENERIC)
    attached = [t["attached_node"] for t in tests]
    assert len(tests) >= 50 and len(set(attached)) == len(attached), "one model_checks test per model"
    rules = 0
    for test in tests:
        name, kwargs = _model_name(test), test["test_metadata"]["kwargs"]
        assert test["name"] == f"model_checks_{name}"
        assert test["description"].startswith(f"{name}: ") and test["config"]["severity"].lower() == "error"
        assert kwargs.get("not_null") or kwargs.get("unique") or kwargs.get("rules"), test["name"]
        for rule in kwargs.get("rules", []):
            assert set(rule) == {"name", "check"} and rule["name"] and rule["check"], (test["name"], rule)
        for key in kwargs.get("unique", []):  # a one-column key is required too (else its nulls would be one value)
            assert len(key) > 1 or key[0] in kwargs.get("not_null", []), (test["name"], key)
        names = [r["name"] for r in kwargs.get("rules", [])]
        assert len(set(names)) == len(names), f"{test['name']}: two rules with one name"
        rules += len(kwargs.get("not_null", [])) + len(kwargs.get("unique", [])) + len(names)
    assert rules >= 279  # what the per-rule tests covered: 136 required columns, 53 keys, 90 row rules


def test_every_column_a_check_names_exists_in_its_built_model(replay_warehouse: Path):
    manifest = _manifest()
    with duckdb.connect(str(replay_warehouse), read_only=True) as con:
        built = {}
        for schema, table, column in con.execute(
                "select table_schema, table_name, column_name from information_schema.columns").fetchall():
            built.setdefault((schema, table), set()).add(column)
    for test in _tests(manifest, GENERIC):
        node = manifest["nodes"][test["attached_node"]]
        relation = (node["schema"], node["alias"])
        assert relation in built, f"{test['name']}: {relation} is not in the warehouse"
        kwargs = test["test_metadata"]["kwargs"]
        named = {*kwargs.get("not_null", []), *(c for key in kwargs.get("unique", []) for c in key)}
        missing = named - built[relation]
        assert not missing, f"{test['name']}: no column {sorted(missing)} in {'.'.join(relation)}"


def test_model_checks_is_a_blocking_asset_check_on_its_model():
    from pipelines.assets.dbt import btc_signals_dbt

    checks = {spec.name: spec for spec in btc_signals_dbt.check_specs}
    tests = _tests(_manifest(), GENERIC)
    for test in tests:
        spec = checks[test["name"]]
        assert spec.asset_key.path[-1] == _model_name(test), test["name"]
        assert spec.blocking, test["name"]
    assert ("marts", "signal_dashboard") in {tuple(checks[t["name"]].asset_key.path) for t in tests}


def test_a_failure_returns_each_broken_rule_and_its_failing_rows(scratch_warehouse):
    """The seeds' own rows in a scratch warehouse; in source_freshness nulls, one key twice and a row with a
    null key twice: its test fails with one row per broken rule (two null keys are a duplicate too);
    signal_rules passes."""
    warehouse = scratch_warehouse.path
    seeds = DBT_PROJECT_DIR / "seeds"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema seeds")
        for seed in ("signal_rules", "source_freshness"):
            con.execute(f"create table seeds.{seed} as select * from read_csv(?, header = true)",
                        [str(seeds / f"{seed}.csv")])
        con.execute("update seeds.source_freshness set source_key = null where source_key = 'etf_flows'")
        con.execute("update seeds.source_freshness set max_lag_days = null where source_key in ('btc_price', 'mining')")
        con.execute("insert into seeds.source_freshness select * from seeds.source_freshness where source_key = 'deribit_options'")
        con.execute("insert into seeds.source_freshness select * from seeds.source_freshness where source_key is null")
    names = [t["name"] for t in _tests(_manifest(), GENERIC) if _model_name(t) in ("signal_rules", "source_freshness")]
    assert sorted(names) == ["model_checks_signal_rules", "model_checks_source_freshness"]
    target = scratch_warehouse.target
    done = subprocess.run(
        [dbt_executable(), "test", "--select", *names, "--store-failures", *dbt_vars_args(),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(target)],
        cwd=DBT_PROJECT_DIR, env={**os.environ, "BTC_SIGNALS_DUCKDB_PATH": str(warehouse)},
        capture_output=True, text=True,
    )
    assert done.returncode == 1, done.stdout[-3000:]  # dbt: a test failed
    results = {r["unique_id"].split(".")[2]: r for r in json.loads((target / "run_results.json").read_text())["results"]}
    assert (results["model_checks_signal_rules"]["status"], results["model_checks_signal_rules"]["failures"]) == ("pass", 0)
    assert (results["model_checks_source_freshness"]["status"], results["model_checks_source_freshness"]["failures"]) == ("fail", 3)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute('select rule, failing_rows from dbt_test__audit."model_checks_source_freshness" order by 1').fetchall()
    assert rows == [("not null: max_lag_days", 2), ("not null: source_key", 2), ("one row per source_key", 2)]


def test_a_broken_rule_fails_its_asset_check_naming_the_rule_and_nothing_downstream_is_built(
        replay_warehouse: Path, scratch_warehouse, monkeypatch):
    """Through Dagster, on a copy of the replay warehouse whose DVOL closes two days at 1000 %: the staging
    model's check is recorded as failed with the broken rule and its rows, dbt builds nothing downstream, the
    step fails with dbt's own lines, and readers keep the last good copy (none is published)."""
    from dagster import AssetKey, DagsterInstance, materialize

    from pipelines.assets.dbt import btc_signals_dbt
    from pipelines.progress import failure_lines
    from pipelines.resources import build_resources
    from pipelines.settings import load_settings

    db = scratch_warehouse.path
    shutil.copyfile(replay_warehouse, db)
    with duckdb.connect(str(db)) as con:
        con.execute("update raw.deribit_dvol set close = 1000 where dvol_date in "
                    "(select dvol_date from raw.deribit_dvol order by dvol_date desc limit 2)")
    for key, value in scratch_warehouse.env.items():
        monkeypatch.setenv(key, value)
    dvol, downstream = AssetKey(["staging", "stg_deribit__dvol"]), AssetKey(["intermediate", "int_signal__risk_reversal_25d"])
    result = materialize([btc_signals_dbt], selection=[dvol, downstream], resources=build_resources(),
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    check, = [c for c in result.get_asset_check_evaluations() if c.check_name == "model_checks_stg_deribit__dvol"]
    assert not check.passed and check.asset_key == dvol
    assert check.description == "broken: dvol_close_pct is between 5 and 300 (2 rows)", check.description
    assert "| dvol_close_pct is between 5 and 300 | 2 |" in check.metadata["broken_rules"].value
    materialized = {m.asset_key for m in result.asset_materializations_for_node("btc_signals_dbt")}
    assert dvol in materialized and downstream not in materialized  # dbt skipped what depends on the failed test
    lines = failure_lines(result.all_events, result.get_asset_check_evaluations())
    assert lines[0] == ("check staging/stg_deribit__dvol:model_checks_stg_deribit__dvol failed: "
                        "broken: dvol_close_pct is between 5 and 300 (2 rows)"), lines
    assert any(line.startswith("btc_signals_dbt: dbt: ") and "FAIL 1 model_checks_stg_deribit__dvol" in line
               for line in lines), lines
    assert not any("\x1b[" in line for line in lines), lines  # dbt's colour codes are not passed on
    assert not load_settings().reader_path.exists()
