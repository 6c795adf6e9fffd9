"""The dbt project's YAML has no duplicate keys (dbt only warns, and the later block silently wins,
dropping the earlier tests)."""

from pathlib import Path

import yaml

DBT = Path(__file__).resolve().parent.parent / "dbt_project"


class StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader, node, deep=False):
    keys = [k.value for k, _ in node.value]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise AssertionError(f"duplicate keys {duplicates} at {node.start_mark}")
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def test_no_duplicate_keys_in_dbt_yaml():
    files = [p for p in DBT.rglob("*.yml") if "target" not in p.parts and "logs" not in p.parts]
    assert len(files) >= 6
    for path in files:
        yaml.load(path.read_text(), Loader=StrictLoader)


def test_the_strict_loader_catches_a_duplicate():
    try:
        yaml.load("models:\n  - name: m\n    data_tests: []\n    data_tests: []\n", Loader=StrictLoader)
    except AssertionError as exc:
        assert "data_tests" in str(exc)
    else:
        raise AssertionError("a duplicate key went unnoticed")


def _manifest() -> dict:
    import json

    return json.loads((DBT / "target" / "manifest.json").read_text())  # written by `dbt parse` in conftest


def test_every_dbt_test_has_a_description_a_user_can_read():
    tests = [n for n in _manifest()["nodes"].values() if n["resource_type"] in ("test", "unit_test")]
    assert len(tests) >= 50  # 53 model_checks (one per model and seed) and 3 singular tests
    missing = sorted(n["name"] for n in tests if not (n.get("description") or "").strip())
    assert missing == []


def test_every_dashboard_column_is_typed_and_described():
    manifest = _manifest()
    (node,) = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == "signal_dashboard"]
    sql = (DBT / "models" / "marts" / "signal_dashboard.sql").read_text()
    final = sql[sql.index("final as ("):]
    select_list = final[final.index("select") + len("select"):final.index("from unioned")]
    selected = [line.split()[-1].rstrip(",") for line in select_list.splitlines() if line.strip()]
    assert set(selected) == set(node["columns"]), "the YAML documents exactly the columns the model selects"
    for name, column in node["columns"].items():
        assert column.get("data_type"), name
        assert len(column.get("description") or "") > 20, name


def test_staging_is_one_folder_per_source_module():
    sources = {p.stem for p in (DBT.parent / "pipelines" / "sources").glob("*.py")} - {"__init__", "http", "replay"}
    folders = {p.name for p in (DBT / "models" / "staging").iterdir() if p.is_dir()}
    assert folders <= sources and folders
    for folder in folders:
        assert (DBT / "models" / "staging" / folder / f"_{folder}__models.yml").exists(), folder
    assert not list((DBT / "models" / "staging").glob("stg_*.sql"))


def test_no_citation_of_files_the_project_does_not_contain():
    texts = [p for p in DBT.rglob("*") if p.suffix in (".sql", ".yml", ".py", ".csv") and "target" not in p.parts]
    assert [p for p in texts if "DESIGN.md" in p.read_text()] == []
