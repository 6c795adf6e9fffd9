"""The raw derivatives assets over replay: source planning, venue landing, whole-or-nothing loads,
the blocking GX suites (the cross-source comparison is a warn-severity dbt test, dbt_project/tests/cross_source/)."""

import json
import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from pipelines.ingest import derivatives as d
from pipelines.landing.tables import FUTURES_FUNDING, FUTURES_LIQUIDATIONS, FUTURES_OPEN_INTEREST
from pipelines.partitions import days_tags
from pipelines.resources import SourcesResource, WarehouseResource
from pipelines.settings import REPLAY_DATA_DIR

START, END = "2026-01-20", "2026-02-10"  # a 22-day window (one request window per source)
ASSETS = [d.raw_futures_open_interest, d.raw_futures_funding, d.raw_futures_liquidations]
CHECKS = [d.raw_futures_open_interest_gx, d.raw_futures_funding_gx, d.raw_futures_liquidations_gx]


@pytest.fixture
def replay_copy(tmp_path: Path) -> Path:
    target = tmp_path / "replay"
    shutil.copytree(REPLAY_DATA_DIR, target)
    return target


def run(db: Path, replay_dir: Path, assets=None, source: str = "auto", start: str = START, end: str = END):
    assets = assets or ASSETS
    keys = {a.key.to_user_string().replace("/", "__") for a in assets}
    return materialize(
        [*assets, *CHECKS] if assets == ASSETS else [*assets, *[c for c in CHECKS if _checks_asset(c, assets)]],
        resources={"duckdb": WarehouseResource(database=str(db)),
                   "sources": SourcesResource(mode="replay", replay_dir=str(replay_dir))},
        run_config={"ops": {k: {"config": {"source": source}} for k in keys}},
        tags=days_tags(start, end),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _checks_asset(check, assets) -> bool:
    targets = {k.asset_key for k in check.check_keys}
    return targets <= {a.key for a in assets}


def query(db: Path, sql: str):
    with WarehouseResource(database=str(db)).get_connection() as con:
        return con.execute(sql).fetchall()


def checks(result) -> dict[str, object]:
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


def failure_message(result) -> str:
    out = []
    for e in result.all_events:
        if e.is_step_failure and e.event_specific_data.error:
            err = e.event_specific_data.error
            while err is not None:
                out.append(err.message)
                err = err.cause
    return "\n".join(out)


def test_plan_sources():
    assert d.plan_sources("auto", False, FUTURES_OPEN_INTEREST) == (["binance", "bybit", "okx"], [])
    assert d.plan_sources("auto", True, FUTURES_FUNDING) == (["coinglass", "binance", "bybit", "okx"], [])
    assert d.plan_sources("exchanges", True, FUTURES_FUNDING) == (["binance", "bybit", "okx"], [])
    assert d.plan_sources("bybit", False, FUTURES_FUNDING) == (["bybit"], [])
    assert d.plan_sources("coinglass", True, FUTURES_OPEN_INTEREST) == (["coinglass"], [])
    assert d.plan_sources("auto", False, FUTURES_LIQUIDATIONS) == (["okx"], [])
    assert d.plan_sources("auto", True, FUTURES_LIQUIDATIONS) == (["coinglass", "okx"], [])
    assert d.plan_sources("exchanges", False, FUTURES_LIQUIDATIONS) == (["okx"], [])
    with pytest.raises(ValueError, match="no keyless liquidation history"):
        d.plan_sources("binance", False, FUTURES_LIQUIDATIONS)
    with pytest.raises(ValueError, match="must be one of"):
        d.plan_sources("kraken", False, FUTURES_OPEN_INTEREST)
    # a venue the mode cannot serve is skipped with the reason
    gone = lambda source, endpoint: "not here" if source == "okx" else None  # noqa: E731
    assert d.plan_sources("auto", False, FUTURES_OPEN_INTEREST, gone) == (["binance", "bybit"], ["okx skipped: not here"])
    assert d.plan_sources("auto", False, FUTURES_LIQUIDATIONS, gone) == ([], ["okx skipped: not here"])


def test_keyless_replay_run_lands_binance_alone_and_skips_bybit_okx_and_liquidations(tmp_path, replay_copy, monkeypatch):
    monkeypatch.delenv("COINGLASS_API_KEY", raising=False)
    db = tmp_path / "w.duckdb"
    result = run(db, replay_copy)
    assert result.success, failure_message(result)
    oi = query(db, "select source, venue, count(*), min(oi_date), max(oi_date), bool_or(is_derived) "
                   "from raw.futures_open_interest group by all order by 1")
    assert [(s, v, n, str(a), str(b), x) for s, v, n, a, b, x in oi] == [
        ("binance", "binance", 22, "2026-01-20", "2026-02-10", False)]  # observed Binance OI only
    funding = query(db, "select source, count(*), bool_or(is_derived) from raw.futures_funding group by all order by 1")
    assert funding == [("binance", 66, False)]  # three observed 8h fundings a day, nothing derived
    assert query(db, "select count(*) from raw.futures_liquidations") == [(0,)]
    evaluations = checks(result)
    assert all(c.passed for c in evaluations.values())
    assert "no CoinGlass key, no live OKX collection yet" in evaluations["raw_futures_liquidations_gx"].description
    # replay skips Bybit and OKX (no history of either is bundled) and the run's notes say so
    for asset in (d.raw_futures_open_interest, d.raw_futures_funding, d.raw_futures_liquidations):
        for mat in result.asset_materializations_for_node(asset.op.name):  # one per partition of the range
            notes = mat.metadata["fallback_reasons"].value
            assert any(n.startswith("okx skipped: replay holds no OKX") for n in notes)
            assert (asset is d.raw_futures_liquidations) or any(
                n.startswith("bybit skipped: replay holds no Bybit history") for n in notes)
    assert query(db, "select count(*) from raw.landing_payloads where source in ('okx', 'bybit')") == [(0,)]
    # every body is archived with its request, keyless
    params = query(db, "select request_params from raw.landing_payloads where source = 'binance' "
                       "and endpoint = '/futures/data/openInterestHist'")
    assert json.loads(params[0][0])["period"] == "1d"
    # re-running the window replaces it: idempotent, nothing refused as partial
    again = run(db, replay_copy, assets=[d.raw_futures_open_interest, d.raw_futures_funding])
    assert again.success, failure_message(again)
    assert query(db, "select count(*) from raw.futures_funding") == [(66,)]
    assert query(db, "select count(*) from raw.futures_open_interest") == [(22,)]


def test_with_a_key_coinglass_and_exchanges_land(tmp_path, replay_copy, monkeypatch):
    monkeypatch.setenv("COINGLASS_API_KEY", "replay-key-derivatives-42")
    db = tmp_path / "w.duckdb"
    result = run(db, replay_copy)
    assert result.success, failure_message(result)
    sources = query(db, "select distinct source from raw.futures_open_interest order by 1")
    assert sources == [("binance",), ("coinglass",)]  # Bybit and OKX: no replay history
    feb5 = query(db, "select long_liquidation_usd, venue from raw.futures_liquidations where liquidation_date = '2026-02-05'")
    assert feb5[0][1] == "binance" and feb5[0][0] > 50e6
    evaluations = checks(result)
    assert all(c.passed for n, c in evaluations.items() if n.endswith("_gx"))
    assert query(db, "select count(*) from raw.landing_payloads where body like '%replay-key-derivatives-42%' "
                     "or request_params like '%replay-key-derivatives-42%'") == [(0,)]


def test_malformed_venue_payload_fails_whole_and_keeps_the_landing(tmp_path, replay_copy, monkeypatch):
    monkeypatch.delenv("COINGLASS_API_KEY", raising=False)
    db = tmp_path / "w.duckdb"
    assert run(db, replay_copy, assets=[d.raw_futures_open_interest]).success
    before = query(db, "select * exclude (ingested_at, run_id) from raw.futures_open_interest order by all")
    path = replay_copy / "binance_futures" / "openInterestHist_BTCUSDT_1d.json"
    rows = json.loads(path.read_text())
    for r in rows:
        if r["timestamp"] == 1770336000000:  # the snapshot closing 2026-02-05
            r["sumOpenInterest"] = "n/a"
    path.write_text(json.dumps(rows))
    result = run(db, replay_copy, assets=[d.raw_futures_open_interest])
    assert not result.success
    msg = failure_message(result)
    assert "[binance] /futures/data/openInterestHist" in msg and "'sumOpenInterest'" in msg and "'n/a'" in msg
    after = query(db, "select * exclude (ingested_at, run_id) from raw.futures_open_interest order by all")
    assert after == before  # none of the window's good days was landed without it
    assert query(db, "select count(*) from raw.landing_payloads where body like '%\"n/a\"%'") == [(1,)]


def test_partial_answer_does_not_replace_loaded_days(tmp_path, replay_copy, monkeypatch):
    monkeypatch.delenv("COINGLASS_API_KEY", raising=False)
    db = tmp_path / "w.duckdb"
    assert run(db, replay_copy, assets=[d.raw_futures_funding]).success
    path = replay_copy / "binance_futures" / "fundingRate_BTCUSDT.json"
    rows = [r for r in json.loads(path.read_text()) if not str(r["fundingTime"]).startswith("17702")]
    path.write_text(json.dumps(rows))  # drops the fundings of a few days in the window
    result = run(db, replay_copy, assets=[d.raw_futures_funding])
    assert not result.success and "already loaded" in failure_message(result)
    assert query(db, "select count(*) from raw.futures_funding") == [(66,)]  # the window's Binance fundings kept


def test_funding_gx_blocks_out_of_range_and_gaps(tmp_path, replay_copy, monkeypatch):
    # with a key, CoinGlass's bars cover the day Binance lacks, so the load lands and the check must see the gap
    # per source and venue (Binance alone would be refused whole by the landing, before any check)
    monkeypatch.setenv("COINGLASS_API_KEY", "replay-key-derivatives-42")
    path = replay_copy / "binance_futures" / "fundingRate_BTCUSDT.json"
    rows = json.loads(path.read_text())
    for r in rows:
        if r["fundingTime"] // 1000 == 1770249600:  # 2026-02-05 00:00 UTC
            r["fundingRate"] = "0.05000000"  # 5 % per 8h: impossible
    rows = [r for r in rows if not 1769904000000 <= r["fundingTime"] < 1769990400000]  # drop 2026-02-01
    path.write_text(json.dumps(rows))
    db = tmp_path / "w.duckdb"
    result = run(db, replay_copy, assets=[d.raw_futures_open_interest, d.raw_futures_funding])
    gx = checks(result)["raw_futures_funding_gx"]
    assert not gx.passed
    assert "funding_rate_pct" in gx.description and "missing_days" in gx.description


def test_derivatives_assets_in_the_code_location():
    from dagster import AssetKey

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for table in (FUTURES_OPEN_INTEREST.name, FUTURES_FUNDING.name, FUTURES_LIQUIDATIONS.name):
        node = graph.get(AssetKey(["raw", table]))
        assert node.partitions_def is not None and node.backfill_policy.max_partitions_per_run is None
        assert node.group_name == "derivatives"
    specs = {(k.asset_key.to_user_string(), k.name): graph.get_check_spec(k) for k in graph.asset_check_keys}
    assert specs[("raw/futures_funding", "raw_futures_funding_gx")].blocking
    assert specs[("raw/futures_open_interest", "raw_futures_open_interest_gx")].blocking
    assert specs[("raw/futures_liquidations", "raw_futures_liquidations_gx")].blocking
    assert not any(name.endswith("_cross_source") for _, name in specs)  # compared in dbt, on the dashboard's formula
    stg = graph.get(AssetKey(["staging", "stg_bybit__futures_open_interest"]))
    assert AssetKey(["raw", "futures_open_interest"]) in stg.parent_keys
    assert defs.get_schedule_def("derivatives_daily") is not None
