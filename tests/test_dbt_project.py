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
