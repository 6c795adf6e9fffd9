"""OKX as a keyless venue of the derivatives assets: the planner skips it in replay (and says so) and plans it
live; a live run over a loopback server answering in OKX's real shape lands OKX funding, open interest and
liquidations (only the days the liquidation orders fully cover)."""

import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from dagster import DagsterInstance, materialize
from test_okx import FakeOkx, funding_row, ms, order

from pipelines.ingest import derivatives as d
from pipelines.landing.tables import FUTURES_FUNDING, FUTURES_LIQUIDATIONS, FUTURES_OPEN_INTEREST
from pipelines.partitions import days_tags
from pipelines.resources import SourcesResource, WarehouseResource
from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import okx
from pipelines.sources.http import HOST_MIN_INTERVAL_S

D4, D5, D6 = date(2026, 2, 4), date(2026, 2, 5), date(2026, 2, 6)
ASSETS = [d.raw_futures_open_interest, d.raw_futures_funding, d.raw_futures_liquidations]


# ------------------------------------------------------------------ the planner
def test_replay_skips_okx_with_a_note_and_live_plans_it():
    replay = SourcesResource(mode="replay", replay_dir=str(REPLAY_DATA_DIR))
    live = SourcesResource(mode="live")
    for table in (FUTURES_OPEN_INTEREST, FUTURES_FUNDING):
        planned, notes = d.plan_sources("auto", False, table, replay.unavailable)
        assert planned == ["binance"]  # replay bundles no Bybit or OKX history
        assert len(notes) == 2 and notes[1].startswith("okx skipped: replay holds no OKX history")
        assert d.plan_sources("auto", True, table, live.unavailable) == (["coinglass", "binance", "bybit", "okx"], [])
    planned, notes = d.plan_sources("auto", False, FUTURES_LIQUIDATIONS, replay.unavailable)
    assert planned == [] and "keyless liquidation history starts when a user starts collecting live" in notes[0]
    assert d.plan_sources("auto", False, FUTURES_LIQUIDATIONS, live.unavailable) == (["okx"], [])
    assert d.plan_sources("auto", True, FUTURES_LIQUIDATIONS, replay.unavailable)[0] == ["coinglass"]


# ------------------------------------------------------------------ a live run over a loopback server
class Loopback:
    """A real HTTP server on 127.0.0.1 answering as www.okx.com does (the FakeOkx rows, newest first)."""

    def __init__(self, fake: FakeOkx) -> None:
        def handle(h: BaseHTTPRequestHandler) -> None:
            response = fake(httpx.Request("GET", f"https://{okx.HOST}{h.path}"))
            h.send_response(response.status_code)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(response.content)))
            h.end_headers()
            h.wfile.write(response.content)

        handler = type("Handler", (BaseHTTPRequestHandler,), {"do_GET": handle, "log_message": lambda *a: None})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "Loopback":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


CHECKS = {d.raw_futures_open_interest: d.raw_futures_open_interest_gx, d.raw_futures_funding: d.raw_futures_funding_gx,
          d.raw_futures_liquidations: d.raw_futures_liquidations_gx}


def run_live(db, server: Loopback, start: str, end: str, source: str = "okx", assets=tuple(ASSETS)):
    keys = [a.key.to_user_string().replace("/", "__") for a in assets]
    return materialize(
        [*assets, *(CHECKS[a] for a in assets)],
        resources={"duckdb": WarehouseResource(database=str(db)),
                   "sources": SourcesResource(mode="live", redirects={okx.HOST: server.url})},
        run_config={"ops": {k: {"config": {"source": source}} for k in keys}},
        tags=days_tags(start, end),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def query(db, sql: str):
    with WarehouseResource(database=str(db)).get_connection() as con:
        return con.execute(sql).fetchall()


def notes_of(result, asset) -> list[str]:
    mats = result.asset_materializations_for_node(asset.op.name)  # one per partition, the same metadata
    return mats[0].metadata["fallback_reasons"].value


@pytest.fixture
def fast_okx(monkeypatch):
    monkeypatch.setitem(HOST_MIN_INTERVAL_S, okx.HOST, 0.0)
    monkeypatch.delenv("COINGLASS_API_KEY", raising=False)


FUNDING = [funding_row(ms(day, h), rate) for day, rates in ((D5, ("0.0001", "-0.00005", "0.00002")),)
           for h, rate in zip((0, 8, 16), rates, strict=True)]
OI = [[str(ms(D5)), "3115384.5", "31153.845", "2185049120.5"]]


def test_live_run_lands_okx_funding_oi_and_the_fully_covered_day_of_liquidations(tmp_path, fast_okx):
    orders = [order(ms(D6, 0, 1), "short", "buy", "50", "71000"),      # 6 Feb: outside the window
              order(ms(D5, 23, 30), "long", "sell", "200", "62500"),   # long: 2 BTC x 62,500 = 125,000 USD
              order(ms(D5, 6), "short", "buy", "10", "66000"),         # short: 0.1 BTC x 66,000 = 6,600 USD
              order(ms(D4, 23, 50), "long", "sell", "1", "73000")]     # before 5 Feb: proves 5 Feb is covered
    db = tmp_path / "w.duckdb"
    with Loopback(FakeOkx(funding=FUNDING, oi=OI, liquidations=orders)) as server:
        result = run_live(db, server, "2026-02-05", "2026-02-05")
    assert result.success
    assert query(db, "select source, venue, symbol, oi_close_usd, oi_close_btc, is_derived "
                     "from raw.futures_open_interest") == [("okx", "okx", "BTC-USDT-SWAP", 2185049120.5, 31153.845, False)]
    funding = query(db, "select source, venue, hour(funding_time), funding_rate_pct from raw.futures_funding order by 3")
    assert [(s, v, h, round(p, 6)) for s, v, h, p in funding] == [
        ("okx", "okx", 0, 0.01), ("okx", "okx", 8, -0.005), ("okx", "okx", 16, 0.002)]
    assert query(db, "select liquidation_date, source, venue, long_liquidation_usd, short_liquidation_usd "
                     "from raw.futures_liquidations") == [(D5, "okx", "okx", 125_000.0, 6_600.0)]
    assert all(c.passed for c in result.get_asset_check_evaluations())
    # every OKX body is archived, from the real endpoints
    endpoints = {e for (e,) in query(db, "select distinct endpoint from raw.landing_payloads where source = 'okx'")}
    assert endpoints == {okx.FUNDING_HISTORY, okx.OPEN_INTEREST_HISTORY, okx.LIQUIDATION_ORDERS}


def test_live_liquidations_land_nothing_when_the_orders_do_not_reach_the_day_start(tmp_path, fast_okx):
    # OKX keeps ~24 h: the oldest order is after 5 Feb 00:00, so 5 Feb is not proven complete
    orders = [order(ms(D5, 23, 30), "long", "sell", "200", "62500"), order(ms(D5, 0, 10), "short", "buy", "10", "66000")]
    db = tmp_path / "w.duckdb"
    with Loopback(FakeOkx(liquidations=orders)) as server:
        result = run_live(db, server, "2026-02-05", "2026-02-05", source="auto", assets=(d.raw_futures_liquidations,))
        assert result.success
        assert query(db, "select count(*) from raw.futures_liquidations") == [(0,)]
        (note,) = [n for n in notes_of(result, d.raw_futures_liquidations) if n.startswith("okx liquidations")]
        assert "1 day(s) of 2026-02-05..2026-02-06 not fully covered (2026-02-05..2026-02-05" in note
        assert "the oldest order fetched is at 2026-02-05 00:10:00 UTC" in note and "nothing landed from OKX" in note
        # a wider window (a backfill) of which only the last day is covered lands nothing from OKX either, and says
        # which days OKX no longer holds (no partial window is landed)
        orders_wide = [order(ms(D5, 23, 30), "long", "sell", "200", "62500"),
                       order(ms(D4, 23, 0), "short", "buy", "10", "66000")]
    with Loopback(FakeOkx(liquidations=orders_wide)) as server:
        wide = run_live(db, server, "2026-02-03", "2026-02-05", source="auto", assets=(d.raw_futures_liquidations,))
    assert wide.success
    (note,) = [n for n in notes_of(wide, d.raw_futures_liquidations) if n.startswith("okx liquidations")]
    assert "2 day(s) of 2026-02-03..2026-02-06 not fully covered (2026-02-03..2026-02-04;" in note
    assert query(db, "select count(*) from raw.futures_liquidations") == [(0,)]
