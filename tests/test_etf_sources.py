"""ETF flow parsers (CoinGlass v4 JSON, Farside HTML) on payloads in the real shapes, and their replay servers."""

import json
from datetime import date

import httpx
import pytest

from pipelines.settings import REPLAY_DATA_DIR
from pipelines.sources import coinglass, farside
from pipelines.sources.http import HttpClient, SourceError, SourceHTTPError, SourceParseError
from pipelines.replay.transport import ReplayTransport

# ---- Farside ------------------------------------------------------------------------------------

HEAD = """<table class="etf"><thead>
<tr><th></th><th>Blackrock</th><th>Fidelity</th><th>Grayscale</th><th>Grayscale</th><th></th></tr>
<tr><th></th><th>IBIT</th><th>FBTC</th><th>GBTC</th><th>BTC</th><th>Total</th></tr>
<tr><th>Fee</th><th>0.25%</th><th>0.25%</th><th>1.50%</th><th>0.15%</th><th></th></tr>
</thead><tbody>"""


def row(*cells):
    return "<tr>" + "".join(f'<td><span class="tabletext">{c}</span></td>' for c in cells) + "</tr>"


FOOT = row("Total", "1,386.0", "208.3", "(95.1)", "0.0", "1,499.2") + row("Average", "1.0", "1.0", "1.0", "1.0", "1.0")
PAGE = (
    HEAD
    + row("11 Jan 2024", "111.7", "227.0", "(95.1)", "-", "243.6")
    + row("15 Jan 2024", "-", "-", "-", "-", "-")  # MLK day: no data
    + row("31 Jul 2024", "1,274.3", "(18.7)", "0.0", "18.0", "1,273.6")  # BTC (Mini Trust) launched
    + FOOT
    + "</tbody></table>"
)


def test_farside_quirks():
    df = farside.parse_flow_table(PAGE)
    got = {(r["flow_date"], r["issuer"]): r["net_flow_usd"] for r in df.iter_rows(named=True)}
    assert got[(date(2024, 1, 11), "GBTC")] == -95_100_000.0  # parenthesised negative
    assert got[(date(2024, 1, 11), "BTC")] is None  # '-' = not launched yet
    assert got[(date(2024, 1, 11), "TOTAL")] == 243_600_000.0
    assert got[(date(2024, 7, 31), "IBIT")] == 1_274_300_000.0  # thousands separator
    assert got[(date(2024, 7, 31), "FBTC")] == -18_700_000.0
    assert got[(date(2024, 7, 31), "GBTC")] == 0.0  # a real zero stays zero
    assert all(got[(date(2024, 1, 15), t)] is None for t in ("IBIT", "FBTC", "GBTC", "BTC", "TOTAL"))
    # the summary rows (Total, Average) are not days
    assert sorted({d for d, _ in got}) == [date(2024, 1, 11), date(2024, 1, 15), date(2024, 7, 31)]
    assert json.loads(df.filter(df["issuer"] == "GBTC")["payload"][0])["GBTC"] == "(95.1)"


def test_farside_columns_are_mapped_by_ticker_not_position():
    reordered = PAGE.replace("<th>IBIT</th><th>FBTC</th>", "<th>FBTC</th><th>IBIT</th>")
    df = farside.parse_flow_table(reordered)
    first = df.filter(df["flow_date"] == date(2024, 1, 11))
    assert first.filter(first["issuer"] == "FBTC")["net_flow_usd"][0] == 111_700_000.0


def test_farside_changed_header_is_a_clear_error():
    changed = PAGE.replace("<th>Total</th>", "<th>Net</th>")
    with pytest.raises(SourceParseError) as exc:
        farside.parse_flow_table(changed)
    msg = str(exc.value)
    assert msg.startswith("[farside] /bitcoin-etf-flow-all-data/: flow table header not found")
    assert "field 'header'" in msg


def test_farside_row_with_a_missing_cell_is_a_clear_error():
    broken = PAGE.replace(row("11 Jan 2024", "111.7", "227.0", "(95.1)", "-", "243.6"), row("11 Jan 2024", "111.7", "227.0", "243.6"))
    with pytest.raises(SourceParseError, match=r"row for 2024-01-11 has 4 cells, header has 6"):
        farside.parse_flow_table(broken)


def test_farside_unparseable_value_names_the_ticker_and_value():
    broken = PAGE.replace("(18.7)", "n/a*")
    with pytest.raises(SourceParseError) as exc:
        farside.parse_flow_table(broken)
    assert exc.value.field == "FBTC" and exc.value.value == "n/a*"
    assert "unparseable flow on 2024-07-31" in str(exc.value)


def test_farside_page_without_the_table():
    with pytest.raises(SourceParseError, match="header not found"):
        farside.parse_flow_table("<html><body><p>Just a moment...</p></body></html>")


# ---- CoinGlass ----------------------------------------------------------------------------------

RECORD = {
    "timestamp": 1738713600000,  # 2025-02-05 00:00 UTC
    "flow_usd": 66_100_000,
    "price_usd": 96_615.4,
    "etf_flows": [{"etf_ticker": "IBIT", "flow_usd": 59_000_000}, {"etf_ticker": "GBTC", "flow_usd": None}],
}


def test_coinglass_flow_history_parse():
    df = coinglass.parse_etf_flow_history([RECORD])
    got = {r["issuer"]: r["net_flow_usd"] for r in df.iter_rows(named=True)}
    assert got == {"TOTAL": 66_100_000.0, "IBIT": 59_000_000.0, "GBTC": None}
    assert set(df["flow_date"]) == {date(2025, 2, 5)}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("timestamp"), "timestamp"),
        (lambda r: r.pop("flow_usd"), "flow_usd"),
        (lambda r: r.update(flow_usd="lots"), "flow_usd"),
        (lambda r: r.update(timestamp="2025-02-05"), "timestamp"),
        (lambda r: r.update(etf_flows=None), "etf_flows"),
        (lambda r: r["etf_flows"][0].pop("etf_ticker"), "etf_ticker"),
        (lambda r: r["etf_flows"][0].update(flow_usd={"v": 1}), "flow_usd"),
    ],
)
def test_coinglass_malformed_records_name_the_field(mutate, field):
    record = json.loads(json.dumps(RECORD))
    mutate(record)
    with pytest.raises(SourceParseError) as exc:
        coinglass.parse_etf_flow_history([record])
    assert exc.value.field == field
    assert str(exc.value).startswith("[coinglass] /api/etf/bitcoin/flow-history")


class Fixed(httpx.BaseTransport):
    def __init__(self, response):
        self.response = response
        self.requests = []

    def handle_request(self, request):
        self.requests.append(request)
        return self.response


def cg_client(response, key="cg-test-key-0123456789"):
    transport = Fixed(response)
    return coinglass.CoinGlassClient(HttpClient(transport=transport, secrets=[key]), key), transport


def test_coinglass_sends_the_key_header_and_unwraps_the_envelope():
    client, transport = cg_client(httpx.Response(200, json={"code": "0", "msg": "success", "data": [RECORD]}))
    assert client.etf_flow_history() == [RECORD]
    req = transport.requests[0]
    assert req.url == "https://open-api-v4.coinglass.com/api/etf/bitcoin/flow-history"
    assert req.headers["CG-API-KEY"] == "cg-test-key-0123456789"


def test_coinglass_nonzero_code_with_http_200_is_an_error():
    client, _ = cg_client(httpx.Response(200, json={"code": "40001", "msg": "Upgrade plan", "data": None}))
    with pytest.raises(SourceError) as exc:
        client.etf_flow_history()
    assert "API error code 40001: Upgrade plan" in str(exc.value)


def test_coinglass_401_names_the_plan_problem_without_leaking_the_key():
    client, _ = cg_client(httpx.Response(401, json={"code": "401", "msg": "Unauthorized"}))
    with pytest.raises(SourceHTTPError) as exc:
        client.etf_flow_history()
    assert "API key rejected or the plan does not include this endpoint" in str(exc.value)
    assert "cg-test-key" not in str(exc.value)


def test_coinglass_truncated_json_and_missing_data():
    client, _ = cg_client(httpx.Response(200, content=b'{"code":"0","msg":"success","data":[{"timestamp":17'))
    with pytest.raises(SourceParseError, match="not valid JSON"):
        client.etf_flow_history()
    client, _ = cg_client(httpx.Response(200, json={"code": "0", "msg": "success"}))
    with pytest.raises(SourceParseError, match="envelope has no 'data'"):
        client.etf_flow_history()


def test_coinglass_without_key_fails_before_any_request():
    transport = Fixed(httpx.Response(200))
    with pytest.raises(SourceError, match="no API key"):
        coinglass.CoinGlassClient(HttpClient(transport=transport), None).etf_flow_history()
    assert transport.requests == []


# ---- replay -------------------------------------------------------------------------------------


def test_replay_serves_both_sources_through_the_real_clients():
    http = HttpClient(transport=ReplayTransport(REPLAY_DATA_DIR))
    fs = farside.parse_flow_table(farside.fetch_flow_table(http))
    cg = coinglass.parse_etf_flow_history(coinglass.CoinGlassClient(http, "any").etf_flow_history())
    for df in (fs, cg):
        day = df.filter((df["flow_date"] == date(2026, 2, 4)) & (df["issuer"] == "TOTAL"))
        assert day["net_flow_usd"][0] == pytest.approx(-544_900_000.0)
    assert fs["flow_date"].min() == date(2024, 1, 11)
    assert fs["flow_date"].max() == date(2026, 2, 27)


def test_replay_coinglass_demands_a_key_like_the_real_api():
    transport = ReplayTransport(REPLAY_DATA_DIR)
    r = HttpClient(transport=transport).get("coinglass", coinglass.BASE_URL + coinglass.ETF_FLOW_HISTORY)
    assert r.status_code == 401
