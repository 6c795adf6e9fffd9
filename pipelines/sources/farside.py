"""Farside Investors' public bitcoin ETF flow table (HTML, keyless): the fallback for CoinGlass.

Page: https://farside.co.uk/bitcoin-etf-flow-all-data/ — one ``<table class="etf">`` whose head has a
row of issuer names, a row of tickers (``IBIT FBTC … GBTC BTC Total``) and a row of fees; each body
row is ``11 Jan 2024 | 111.7 | … | (95.1) | … | 655.3`` in US$ millions. Quirks handled:

* negatives are parenthesised: ``(95.1)`` is −95.1; thousands are comma-separated;
* ``-`` (or an empty cell) means no data: the fund had not launched or had not reported; kept as null;
* the foot has summary rows (``Total``, ``Average``, ``Maximum``, ``Minimum``) that are not days;
* US market holidays appear as rows with no data;
* issuers are added over time: columns are mapped by ticker, never by position.

A changed layout (no ticker row ending in ``Total``, a row whose cell count differs from the
header's, an unparseable number) raises :class:`SourceParseError` naming the field and value.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from html.parser import HTMLParser
from typing import Any

import polars as pl

from pipelines.landing.tables import ETF_FLOWS
from pipelines.sources.http import HttpClient, SourceHTTPError, SourceParseError, declare_rate_limit

SOURCE = "farside"
HOST = "farside.co.uk"
FLOW_TABLE_PATH = "/bitcoin-etf-flow-all-data/"
FLOW_TABLE_URL = f"https://{HOST}{FLOW_TABLE_PATH}"
TOTAL_ISSUER = "TOTAL"  # the all-funds total, as CoinGlass's parser names it too
SUMMARY_ROWS = {"total", "average", "maximum", "minimum"}
_TICKER = re.compile(r"^[A-Z]{2,6}$")
_NUMBER = re.compile(r"^\(?-?[0-9][0-9,]*(\.[0-9]+)?\)?$")
USD_PER_MILLION = 1_000_000.0
# A public web page: be polite.
declare_rate_limit(HOST, 5.0)


class _TableCollector(HTMLParser):
    """Collects every table as a list of rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.closed: list[bool] = []
        self._depth = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
            self.tables.append([])
            self.closed.append(False)
        elif tag == "tr" and self._depth:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.tables[-1].append(self._row)
            self._row = None
        elif tag == "table" and self._depth:
            self._depth -= 1
            self.closed[len(self.tables) - 1] = True

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def fetch_flow_table(http: HttpClient) -> str:
    response = http.get(SOURCE, FLOW_TABLE_URL, endpoint=FLOW_TABLE_PATH)
    if response.status_code >= 400:
        raise SourceHTTPError(SOURCE, FLOW_TABLE_PATH, f"HTTP {response.status_code}", status=response.status_code)
    if not response.content.strip():
        raise SourceParseError(SOURCE, FLOW_TABLE_PATH, f"empty response body (HTTP {response.status_code})")
    return response.text


def parse_cell(text: str, *, ticker: str, day: date) -> float | None:
    """US$ millions as written by Farside → float millions (None for no data)."""
    cell = text.strip().replace("\u2212", "-")
    if cell in ("", "-", "–", "—"):
        return None
    if not _NUMBER.match(cell):
        raise SourceParseError(SOURCE, FLOW_TABLE_PATH, f"unparseable flow on {day}", field=ticker, value=text)
    negative = cell.startswith("(") and cell.endswith(")")
    number = float(cell.strip("()").replace(",", ""))
    return -number if negative else number


def _parse_day(text: str) -> date | None:
    for fmt in ("%d %b %Y", "%d %B %Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _find_header(tables: list[list[list[str]]], closed: list[bool]) -> tuple[list[list[str]], list[str]]:
    for rows, is_closed in zip(tables, closed, strict=True):
        for row in rows[:6]:
            if row and row[-1].strip().lower() == "total" and sum(bool(_TICKER.match(c)) for c in row[1:-1]) >= 2:
                if not is_closed:
                    raise SourceParseError(
                        SOURCE, FLOW_TABLE_PATH, "flow table is truncated (no closing </table>)",
                        field="table", value=rows[-1] if rows else None,
                    )
                return rows, row
    seen = [r for t in tables for r in t[:3]]
    raise SourceParseError(
        SOURCE,
        FLOW_TABLE_PATH,
        "flow table header not found: expected a row of tickers ending in 'Total'",
        field="header",
        value=seen[:3],
    )


def parse_flow_table(html: str) -> pl.DataFrame:
    """One row per (day, issuer) in USD, plus Farside's own ``Total`` column as issuer ``TOTAL``."""
    collector = _TableCollector()
    collector.feed(html)
    collector.close()
    rows, header = _find_header(collector.tables, collector.closed)
    tickers = [c.strip().upper() for c in header[1:-1]]
    bad = [t for t in tickers if not _TICKER.match(t)]
    if bad:
        raise SourceParseError(SOURCE, FLOW_TABLE_PATH, "unexpected column in ticker row", field="header", value=bad)
    if len(set(tickers)) != len(tickers):
        raise SourceParseError(SOURCE, FLOW_TABLE_PATH, "duplicate ticker column", field="header", value=tickers)
    columns = [*tickers, TOTAL_ISSUER]
    out: list[dict[str, Any]] = []
    seen_days: set[date] = set()
    for row in rows:
        label = row[0].strip() if row else ""
        day = _parse_day(label)
        if day is None:
            if label.lower() in SUMMARY_ROWS or row is header or label.lower() in ("", "fee", "date"):
                continue
            # any other non-date row inside the table body is a layout change we don't understand
            if any(_NUMBER.match(c.strip()) for c in row[1:]):
                raise SourceParseError(SOURCE, FLOW_TABLE_PATH, "row label is not a date", field="date", value=label)
            continue
        if len(row) != len(header):
            raise SourceParseError(
                SOURCE,
                FLOW_TABLE_PATH,
                f"row for {day} has {len(row)} cells, header has {len(header)}",
                field="row",
                value=row,
            )
        if day in seen_days:
            raise SourceParseError(SOURCE, FLOW_TABLE_PATH, "day listed twice", field="date", value=label)
        seen_days.add(day)
        payload = json.dumps(dict(zip(["Date", *tickers, "Total"], row, strict=True)), separators=(",", ":"))
        for issuer, cell in zip(columns, row[1:], strict=True):
            millions = parse_cell(cell, ticker=issuer, day=day)
            out.append(
                {
                    "flow_date": day,
                    "issuer": issuer,
                    "net_flow_usd": None if millions is None else round(millions * USD_PER_MILLION, 2),
                    "payload": payload,
                }
            )
    if not out:
        raise SourceParseError(SOURCE, FLOW_TABLE_PATH, "flow table has no dated rows", field="rows", value=len(rows))
    return pl.DataFrame(out, schema=ETF_FLOWS.schema, orient="row").sort("flow_date", "issuer")
