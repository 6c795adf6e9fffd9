"""dbt_project/macros/materializations/replace.sql: the SQL models are built in place with one `create or replace`
statement. What dbt's own table and view materializations guarantee still holds: the new relation replaces the
old one, nothing is left behind, a failing model keeps the relation it had, and a model may change kind."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import duckdb
import pytest
from dbt.adapters.factory import reset_adapters
from dbt.cli.main import dbtRunner

from pipelines.settings import dbt_target_dir

ROOT = Path(__file__).resolve().parent.parent
MACRO = ROOT / "dbt_project" / "macros" / "materializations" / "replace.sql"
REPLACING = {"replace_table", "replace_view"}


def test_every_sql_model_is_replaced_in_place_and_asks_for_nothing_the_materialization_leaves_out():
    manifest = json.loads((dbt_target_dir() / "manifest.json").read_text())  # written by `dbt parse` in conftest
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 40
    for node in models:
        config = node["config"]
        allowed = {"table"} if node["language"] == "python" else REPLACING  # dbt-duckdb's table runs Python
        assert config["materialized"] in allowed, node["name"]
        if config["materialized"] in REPLACING:
            assert not config["pre-hook"] and not config["post-hook"], node["name"]
            assert not config["grants"] and not config["persist_docs"], node["name"]
            assert not config["contract"]["enforced"], node["name"]


@pytest.fixture
def project(tmp_path: Path):
    (tmp_path / "macros").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "macros" / "replace.sql").write_text(MACRO.read_text())
    (tmp_path / "dbt_project.yml").write_text(textwrap.dedent("""
        name: replace_test
        version: "1.0"
        profile: replace_test
        model-paths: [models]
        macro-paths: [macros]
    """))
    (tmp_path / "profiles.yml").write_text(textwrap.dedent(f"""
        replace_test:
          target: dev
          outputs:
            dev: {{type: duckdb, path: "{tmp_path / 'w.duckdb'}", threads: 1}}
    """))
    (tmp_path / "models" / "downstream.sql").write_text(
        "{{ config(materialized='replace_view') }} select x * 10 as y from {{ ref('base') }}")
    yield tmp_path
    reset_adapters()  # dbt ran in this process: close its connection to the scratch database


def dbt(project: Path, *args: str) -> bool:
    result = dbtRunner().invoke([*args, "--project-dir", str(project), "--profiles-dir", str(project),
                                 "--target-path", str(project / "target"), "--log-path", str(project / "logs"),
                                 "--quiet"])
    return result.success


def model(project: Path, sql: str) -> None:
    (project / "models" / "base.sql").write_text(sql)


def read(project: Path) -> dict:
    # dbt-duckdb keeps its database open in this process (dbt runs in-process here): the same configuration
    with duckdb.connect(str(project / "w.duckdb")) as con:
        kinds = dict(con.execute("select table_name, table_type from information_schema.tables").fetchall())
        base = sorted(r[0] for r in con.execute("select x from main.base").fetchall())
        downstream = sorted(r[0] for r in con.execute("select y from main.downstream").fetchall())
    return {"kinds": kinds, "base": base, "downstream": downstream}


def test_a_model_is_replaced_in_place_keeps_its_relation_when_it_fails_and_may_change_kind(project):
    model(project, "{{ config(materialized='replace_table') }} select 1 as x")
    assert dbt(project, "run")
    assert read(project) == {"kinds": {"base": "BASE TABLE", "downstream": "VIEW"}, "base": [1], "downstream": [10]}

    model(project, "{{ config(materialized='replace_table') }} select 1 as x union all select 2")
    assert dbt(project, "run")  # replaced, and nothing else left in the schema (no __dbt_tmp / __dbt_backup)
    assert read(project) == {"kinds": {"base": "BASE TABLE", "downstream": "VIEW"}, "base": [1, 2],
                             "downstream": [10, 20]}

    model(project, "{{ config(materialized='replace_table') }} select x from no_such_table")
    assert not dbt(project, "run", "--select", "base")  # rolled back: the old table and its dependants as they were
    assert read(project)["base"] == [1, 2] and read(project)["downstream"] == [10, 20]

    model(project, "{{ config(materialized='replace_view') }} select 3 as x")
    assert dbt(project, "run")
    assert read(project) == {"kinds": {"base": "VIEW", "downstream": "VIEW"}, "base": [3], "downstream": [30]}

    model(project, "{{ config(materialized='replace_table') }} select 4 as x")
    assert dbt(project, "run")
    assert read(project) == {"kinds": {"base": "BASE TABLE", "downstream": "VIEW"}, "base": [4], "downstream": [40]}
