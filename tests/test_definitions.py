"""The code location loads, and its jobs, checks and resources are what users rely on."""

from dagster import AssetKey

from pipelines.cli import DAGSTER_YAML
from pipelines.dbt_invocation import PARSE_STAMP
from pipelines.definitions import defs


def test_definitions_load_with_jobs_and_in_process_executor():
    assert defs.resolve_job_def("raw_sources_job").executor_def.name == "in_process"
    assert defs.resolve_job_def("transform_job") is not None


def test_raw_assets_are_partitioned_single_run_backfills():
    graph = defs.resolve_asset_graph()
    for key in (AssetKey(["raw", "etf_flows"]), AssetKey(["raw", "btc_price_daily"])):
        node = graph.get(key)
        assert node.partitions_def is not None
        assert node.backfill_policy is not None and node.backfill_policy.max_partitions_per_run is None


def test_gx_checks_are_blocking_and_dbt_tests_are_asset_checks():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name): graph.get_check_spec(k) for k in graph.asset_check_keys}
    assert checks[("raw/etf_flows", "raw_etf_flows_gx")].blocking
    assert checks[("raw/btc_price_daily", "raw_btc_price_daily_gx")].blocking
    dashboard_checks = {name for asset, name in checks if asset == "marts/signal_dashboard"}
    assert dashboard_checks == {"model_checks_signal_dashboard"}  # its rules: dbt_project/models/marts/_marts.yml
    spec = checks[("marts/signal_dashboard", "model_checks_signal_dashboard")]
    assert spec.blocking and "one row per (as_of_date, indicator)" in spec.description


def test_dbt_models_depend_on_the_raw_assets():
    graph = defs.resolve_asset_graph()
    assert AssetKey(["raw", "etf_flows"]) in graph.get(AssetKey(["staging", "stg_farside__etf_flows"])).parent_keys


def test_code_location_loads_as_make_dev_loads_it(tmp_path):
    """`dagster dev` from a shell with no virtualenv activated: no dbt on PATH, DAGSTER_IS_DEV_CLI set
    (so the dbt manifest is parsed at load: here into a target directory holding this session's parse state
    but no stamp, as after an edit, so dbt runs with partial parsing). The location must load with every
    definition, and the parse must be stamped for the next load to skip."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from pipelines.settings import dbt_target_dir

    root = Path(__file__).resolve().parent.parent
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)  # as make setup writes it
    target = tmp_path / "target"
    target.mkdir()
    for name in ("manifest.json", "partial_parse.msgpack"):  # parsed for this session's warehouse
        shutil.copy(dbt_target_dir() / name, target / name)
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "DAGSTER_IS_DEV_CLI": "1", "DAGSTER_HOME": str(home),
           "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_TARGET_PATH": str(target),
           "BTC_SIGNALS_DUCKDB_PATH": os.environ["BTC_SIGNALS_DUCKDB_PATH"]}
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "Validation successful for code location btc_signals" in output
    assert (target / PARSE_STAMP).exists(), output[-3000:]


def test_raw_assets_carry_a_freshness_policy_in_live_mode_only(monkeypatch):
    """Live: Dagster's FreshnessPolicy (the current API, evaluated by the daemon) warns after a missed daily
    load and fails beyond the declaration's allowed lag. Replay: none (the bundled data gains no day)."""
    from datetime import timedelta

    from pipelines.definitions import defs
    from pipelines.ingest.factory import freshness_policy
    from pipelines.landing.tables import TABLES

    graph = defs.resolve_asset_graph()
    raw = [k for k in graph.get_all_asset_keys() if k.path[0] == "raw"]
    assert len(raw) == len(TABLES) and all(graph.get(k).freshness_policy is None for k in raw)
    monkeypatch.setenv("BTC_SIGNALS_MODE", "live")
    for table in TABLES:
        policy = freshness_policy(table)
        assert policy.fail_window.to_timedelta() == timedelta(hours=24 * table.publication.max_lag_days + 1), table.name
        if table.publication.max_lag_days > 1:
            assert policy.warn_window.to_timedelta() == timedelta(hours=25), table.name
