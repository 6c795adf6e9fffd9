"""The raw ETF asset end to end over replay: fallback, malformed payloads, last good data kept, and its GX check."""

import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from pipelines.ingest.etf_flows import raw_etf_flows, raw_etf_flows_gx
from pipelines.partitions import days_tags
from pipelines.resources import SourcesResource, WarehouseResource
from pipelines.settings import REPLAY_DATA_DIR

DAY = "2026-02-05"


@pytest.fixture
def replay_copy(tmp_path: Path) -> Path:
    target = tmp_path / "replay"
    shutil.copytree(REPLAY_DATA_DIR, target)
    return target


def run(db: Path, replay_dir: Path, source: str = "auto"):
    return materialize(
        [raw_etf_flows, raw_etf_flows_gx],
        tags=days_tags(DAY),
        resources={"duckdb": WarehouseResource(database=str(db)), "sources": SourcesResource(mode="replay", replay_dir=str(replay_dir))},
        run_config={"ops": {"raw__etf_flows": {"config": {"source": source}}}},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def connect(db: Path):
    """Same connection settings as the pipeline's (DuckDB refuses mixed configurations in one process)."""
    return WarehouseResource(database=str(db)).get_connection()


def rows(db: Path):
    with connect(db) as con:
        return con.execute("select flow_date, issuer, net_flow_usd, source from raw.etf_flows order by all").fetchall()


def failure_message(result) -> str:
    """Step failure messages including their causes (Dagster wraps the user exception)."""
    out = []
    for e in result.all_events:
        if e.is_step_failure and e.event_specific_data.error:
            err = e.event_specific_data.error
            while err is not None:
                out.append(err.message)
                err = err.cause
    return "\n".join(out)


def test_keyless_load_uses_farside_and_writes_one_partition(tmp_path, replay_copy, monkeypatch):
    monkeypatch.delenv("COINGLASS_API_KEY", raising=False)
    db = tmp_path / "w.duckdb"
    result = run(db, replay_copy)
    assert result.success
    got = rows(db)
    assert {r[3] for r in got} == {"farside"}
    assert {str(r[0]) for r in got} == {DAY}
    total = [r[2] for r in got if r[1] == "TOTAL"]
    assert total == [pytest.approx(-434_100_000.0)]
    mat = result.asset_materializations_for_node("raw__etf_flows")[0]
    assert mat.metadata["source"].value == "farside"
    assert [c.passed for c in result.get_asset_check_evaluations()] == [True]


def test_with_a_key_coinglass_is_primary(tmp_path, replay_copy, monkeypatch):
    monkeypatch.setenv("COINGLASS_API_KEY", "replay-key-0123456789")
    db = tmp_path / "w.duckdb"
    assert run(db, replay_copy).success
    assert {r[3] for r in rows(db)} == {"coinglass"}
    with connect(db) as con:
        bodies = con.execute("select string_agg(body || request_params, '') from raw.landing_payloads").fetchone()[0]
    assert "replay-key-0123456789" not in bodies  # the key is never stored


def test_coinglass_failure_falls_back_to_farside(tmp_path, replay_copy, monkeypatch):
    monkeypatch.setenv("COINGLASS_API_KEY", "replay-key-0123456789")
    (replay_copy / "coinglass" / "etf_bitcoin_flow_history.json").write_text('{"code":"50001","msg":"rate limit","data":null}')
    db = tmp_path / "w.duckdb"
    result = run(db, replay_copy)
    assert result.success
    assert {r[3] for r in rows(db)} == {"farside"}
    reasons = result.asset_materializations_for_node("raw__etf_flows")[0].metadata["fallback_reasons"].value
    assert "API error code 50001" in reasons[0]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda html: html[: len(html) // 3], "flow table is truncated"),  # cut mid-table
        # a well-formed answer that lacks the day already loaded (not yet published, partial table)
        (lambda html: "\n".join(line for line in html.splitlines() if "05 Feb 2026" not in line),
         "the response lacks 1 day(s) already loaded"),
        (lambda html: html.replace("<th>Total</th>", "<th>Sum</th>"), "flow table header not found"),
        (lambda html: html.replace("(434.1)", "(434.1)x"), "unparseable flow"),
        (lambda html: "", "empty response body"),
    ],
)
def test_malformed_farside_fails_clearly_and_keeps_the_last_good_data(tmp_path, replay_copy, breakage, expected):
    db = tmp_path / "w.duckdb"
    assert run(db, replay_copy).success
    good = rows(db)
    page = replay_copy / "farside" / "bitcoin-etf-flow-all-data.html"
    page.write_text(breakage(page.read_text()))
    result = run(db, replay_copy)
    assert not result.success
    message = failure_message(result)
    assert "[farside] /bitcoin-etf-flow-all-data/" in message and expected in message
    assert rows(db) == good  # nothing lost, nothing half-written
    if page.read_text():
        with connect(db) as con:
            archived = con.execute("select count(*) from raw.landing_payloads where source = 'farside'").fetchone()[0]
        assert archived == 2  # the bad payload is kept for inspection beside the good one


def test_rerunning_a_partition_is_idempotent(tmp_path, replay_copy):
    db = tmp_path / "w.duckdb"
    for _ in range(3):
        assert run(db, replay_copy).success
    with connect(db) as con:
        assert con.execute("select count(*) from raw.etf_flows").fetchone()[0] == 12  # 11 funds + TOTAL
        assert con.execute("select count(*) from raw.landing_payloads").fetchone()[0] == 1


def test_gx_check_fails_on_bad_rows_and_names_them(tmp_path, replay_copy):
    db = tmp_path / "w.duckdb"
    assert run(db, replay_copy).success
    with connect(db) as con:
        con.execute("insert into raw.etf_flows select * replace ('IBIT' as issuer, 9e12 as net_flow_usd) from raw.etf_flows where issuer = 'TOTAL'")
    result = raw_etf_flows_gx(WarehouseResource(database=str(db)))
    assert not result.passed
    assert "expect_compound_columns_to_be_unique" in result.description
    assert "expect_column_values_to_be_between(column=net_flow_usd" in result.description
    assert "9000000000000.0" in result.description


def test_a_run_opens_the_warehouse_once_and_closes_it_when_it_ends(tmp_path, replay_copy, monkeypatch):
    """The asset and its check share one open database (a cursor each); at the end of the run the file is
    closed, so another process can write it."""
    import subprocess
    import sys

    from pipelines import resources

    opened = []
    real_open = resources.open_warehouse
    monkeypatch.setattr(resources, "open_warehouse", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    db = tmp_path / "w.duckdb"
    assert run(db, replay_copy).success
    assert opened == [str(db)]
    assert not resources._OPEN_WAREHOUSES  # noqa: SLF001
    writer = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(db)],
                            capture_output=True, text=True, timeout=60)
    assert writer.returncode == 0, writer.stderr
    assert rows(db)
