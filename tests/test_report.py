"""The daily report: one self-contained HTML file per day, written by `btc-signals report` and by the
reports/daily_report asset."""

import re
from datetime import date
from html.parser import HTMLParser

import duckdb
import pytest
from test_charts import tiny_warehouse

from pipelines import cli, report


class Page(HTMLParser):
    """The parts of the report the tests read: table rows, list items, every URL-bearing attribute."""

    def __init__(self, text: str):
        super().__init__()
        self.rows: list[list[str]] = []
        self.items: list[str] = []
        self.urls: list[str] = []
        self.headers: list[str] = []
        self._cell: list[str] | None = None
        self._tag: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "tr":
            self.rows.append([])
        if tag == "br" and self._cell is not None:
            self._cell.append(" ")
        if tag in ("td", "th", "li"):
            self._cell, self._tag = [], tag

    def handle_endtag(self, tag):
        if tag in ("td", "th", "li") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if tag == "li":
                self.items.append(text)
            elif tag == "th":
                self.headers.append(text)
            else:
                self.rows[-1].append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture()
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    tiny_warehouse(path)
    return path


def test_report_holds_the_days_table_regime_and_chart_and_nothing_external(db, tmp_path):
    day, path = report.write_report(db, tmp_path / "reports", date(2026, 2, 5))
    assert day == date(2026, 2, 5) and path == tmp_path / "reports" / "btc_signals_report_2026-02-05.html"
    text = path.read_text()
    page = Page(text)
    assert page.headers == ["indicator", "status", "reading", "rule", "source", "freshness"]  # no is_derived column yet
    by_indicator = {r[0].split()[0]: r for r in page.rows if r}
    assert set(by_indicator) == {"etf_net_flow", "liquidations", "price_vs_key_levels"}
    etf = by_indicator["etf_net_flow"]
    assert etf[1:] == ["bear_continuation", "etf_net_flow reading on 2026-02-05", "etf_net_flow rule on 2026-02-05",
                       "farside", "fresh (data of 2026-02-05)"]
    assert by_indicator["liquidations"][5] == "no data"
    # the regime and its conditions, one per item
    assert "BTC market regime — 2026-02-05" in text
    assert page.items[:2] == ["1 macro risk appetite: fails (bear_continuation)",
                              "2 ETF outflows slowing or reversing: fails (bear_continuation)"]
    # self-contained: the only URL is the inline chart
    assert len(page.urls) == 1 and page.urls[0].startswith("data:image/png;base64,")
    assert not re.search(r"https?://", text)


def test_report_shows_the_derived_flag_when_the_dashboard_has_it(tmp_path):
    path = tmp_path / "w.duckdb"
    tiny_warehouse(path, with_derived=True)
    with duckdb.connect(str(path), read_only=True) as con:
        _, text = report.build_report(con, date(2026, 2, 5))
    page = Page(text)
    assert page.headers[-1] == "observed / derived"
    rows = {r[0].split()[0]: r for r in page.rows if r}
    assert rows["liquidations"][-1] == "derived" and rows["etf_net_flow"][-1] == "observed"


def test_report_defaults_to_the_latest_day_and_refuses_a_day_outside_the_dashboard(db, tmp_path):
    day, _ = report.write_report(db, tmp_path)
    assert day == date(2026, 2, 6)
    with pytest.raises(report.ReportError, match=r"no dashboard rows for 2025-01-01: the dashboard covers 2026-02-02 \.\. 2026-02-06"):
        report.write_report(db, tmp_path, date(2025, 1, 1))


def test_cli_report_writes_the_file_or_says_why_not(db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BTC_SIGNALS_DUCKDB_PATH", str(db))
    out = tmp_path / "r.html"
    assert cli.main(["report", "--date", "2026-02-04", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert "BTC market regime — 2026-02-04" in out.read_text()
    monkeypatch.setenv("BTC_SIGNALS_DUCKDB_PATH", str(tmp_path / "none.duckdb"))
    assert cli.main(["report"]) == 1
    assert "no warehouse at" in capsys.readouterr().err


def test_markdown_table_of_the_latest_readings(db):
    with duckdb.connect(str(db), read_only=True) as con:
        table = report.markdown_table(report.read_day(con, date(2026, 2, 5)))
    lines = table.splitlines()
    assert lines[0] == "| indicator | status | reading | rule | source | freshness |"
    assert "| liquidations | no_data | no data | liquidations rule on 2026-02-05 | n/a | no data |" in lines
    assert lines[-1].startswith("| regime | bear_continuation |")


def test_the_report_asset_writes_the_latest_report_beside_the_warehouse(replay_warehouse):
    """`make run`'s dbt run (transform_job) materialised reports/daily_report after the dashboard."""
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.get() as instance:
        record = instance.fetch_materializations(AssetKey(["reports", "daily_report"]), limit=1).records[0]
    meta = record.asset_materialization.metadata
    path = meta["path"].value
    assert meta["as_of_date"].value == "2026-02-28"
    assert path == str(replay_warehouse.parent / "reports" / "btc_signals_report_2026-02-28.html")
    assert meta["open"].value.startswith("file://") and "BTC market regime — 2026-02-28" in open(path).read()
