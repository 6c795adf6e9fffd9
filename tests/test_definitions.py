"""The code location loads, and its jobs, checks and resources are what users rely on (loaded as `make dev`
loads it, parsing dbt at load, in tests/browser/test_ui.py)."""

from dagster import AssetKey

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


def test_loading_the_code_location_imports_no_check_or_chart_library():
    """GX (≈ 4-6 s), pandas (≈ 0.75 s) and matplotlib are imported where a check runs or a chart is drawn: a
    process that loads the location (the code server, a dbt-only run) never pays them."""
    import subprocess
    import sys

    probe = ("import sys, pipelines.definitions; "
             "print(sorted(m for m in ('great_expectations', 'pandas', 'matplotlib', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
